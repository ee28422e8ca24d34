"""Upgrading a database that already holds content: every migration must apply to full tables."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

MIGRATE = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from forum.db import tortoise_config

async def main(url, target):
    await migrate(config=tortoise_config(url), target=target or None, progress=lambda *a: None)
    await Tortoise.close_connections()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def migrate_to(path: Path, target: str = "") -> None:
    """Migrate the SQLite database at `path` in a process of its own (Tortoise is global)."""
    subprocess.run(
        [sys.executable, "-c", MIGRATE, f"sqlite://{path}", target], check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_a_database_with_members_and_organisations_upgrades_to_the_latest_schema(tmp_path):
    path = tmp_path / "deployed.sqlite3"
    migrate_to(path, "forum.0003_playbooks")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO organisations (slug, name, sector, stage, parent_body, legal_form, website,"
            " description, created_at) VALUES ('tidal', 'Tidal Care', 'care', '', '', '', '', '',"
            " '2025-01-01 00:00:00+00:00')"
        )
        db.execute(
            "INSERT INTO users (username, username_key, display_name, email, password_hash, role,"
            " bio, organisation_id, is_active, thread_count, reply_count, created_at) VALUES"
            " ('Ann', 'ann', 'Ann', 'ann@example.org', '', 'member', '', 1, 1, 0, 0,"
            " '2025-01-01 00:00:00+00:00')"
        )

    migrate_to(path)

    with sqlite3.connect(path) as db:
        user = db.execute("SELECT region, is_organisation_admin, held_reason FROM users").fetchone()
        organisation = db.execute("SELECT ownership_model, staff_size FROM organisations").fetchone()
    assert user == ("", 0, "") and organisation == ("", "")
