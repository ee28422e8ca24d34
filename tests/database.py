"""The test database: migrated once per run, emptied before every test."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from forum.db import tortoise_config


def test_database_url(tmp_dir: Path) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI), or a fresh SQLite file."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{tmp_dir / 'test.sqlite3'}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


async def _reset_postgres_schema(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def _migrate(url: str) -> None:
    if is_postgres(url):
        await _reset_postgres_schema(url)
    await migrate(config=tortoise_config(url), progress=lambda *a: None)
    await Tortoise.close_connections()


def prepare_database(url: str) -> list[str]:
    """Migrate from scratch (the real migrations) and return the table names."""
    asyncio.run(_migrate(url))
    if is_postgres(url):
        async def tables() -> list[str]:
            connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
            try:
                rows = await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            finally:
                await connection.close()
            return [r["tablename"] for r in rows]

        names = asyncio.run(tables())
    else:
        with sqlite3.connect(url.removeprefix("sqlite://")) as connection:
            names = [
                r[0] for r in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
        connection.close()
    return [n for n in names if n != "tortoise_migrations"]


async def empty_database(url: str, tables: list[str]) -> None:
    """Delete every row (migration history kept) and restart id sequences."""
    if is_postgres(url):
        connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await connection.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()
        return
    connection = sqlite3.connect(url.removeprefix("sqlite://"))
    try:
        connection.execute("PRAGMA foreign_keys=OFF")
        for table in tables:
            connection.execute(f'DELETE FROM "{table}"')
        has_sequences = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'"
        ).fetchone()
        if has_sequences:
            connection.execute("DELETE FROM sqlite_sequence")
        connection.commit()
    finally:
        connection.close()
