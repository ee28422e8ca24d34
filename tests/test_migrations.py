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


def test_posts_written_before_link_counts_get_theirs_counted(tmp_path):
    path = tmp_path / "deployed.sqlite3"
    migrate_to(path, "forum.0006_identity")
    when = "'2025-01-01 00:00:00+00:00'"
    linked = '<p><a href="https://a.example/">a</a> and <a href="//b.example/">b</a></p>'
    mention = '<p><a href="/u/ann" class="mention">@ann</a></p>'
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO users (username, username_key, display_name, email, password_hash, role,"
            " bio, is_active, thread_count, reply_count, created_at, is_organisation_admin,"
            f" region, held_reason) VALUES ('Ann', 'ann', 'Ann', 'ann@example.org', '', 'member',"
            f" '', 1, 1, 2, {when}, 0, '', '')"
        )
        db.execute(
            "INSERT INTO topics (slug, name, description, position, thread_count, post_count)"
            " VALUES ('tupe', 'TUPE', '', 1, 1, 3)"
        )
        db.execute(
            "INSERT INTO threads (kind, title, slug, tags, reply_count, last_post_number,"
            " last_activity_at, is_locked, is_pinned, created_at, author_id, topic_id) VALUES"
            f" ('question', 'A question', 'a-question', '[]', 2, 3, {when}, 0, 0, {when}, 1, 1)"
        )
        for number, html in enumerate((linked, mention, "<p>plain</p>"), start=1):
            db.execute(
                "INSERT INTO posts (number, body_source, body_html, helpful_count, edit_count,"
                f" created_at, author_id, thread_id) VALUES (?, 'x', ?, 0, 0, {when}, 1, 1)",
                (number, html),
            )

    migrate_to(path)

    with sqlite3.connect(path) as db:
        counts = db.execute("SELECT link_count FROM posts ORDER BY number").fetchall()
    assert counts == [(2,), (0,), (0,)]
