"""The test database: migrated once per run, emptied before every test."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from forum.db import tortoise_config


def test_database_url(tmp_dir: Path) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI), or a fresh SQLite file."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{tmp_dir / 'test.sqlite3'}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def _dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def create_run_database(url: str) -> tuple[str, str | None]:
    """A database of this test run's own beside `url`'s, so parallel runs never collide.

    Returns the URL to use and the name to drop afterwards (None when the server
    does not let us create databases: then `url` itself is used).
    """
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'test'}_run_{os.getpid()}_{secrets.token_hex(3)}"

    async def create() -> bool:
        connection = await asyncpg.connect(_dsn(url))
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.PostgresError:
            return False
        finally:
            await connection.close()
        return True

    if not asyncio.run(create()):
        return url, None
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_run_database(url: str, name: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(_dsn(url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


async def _reset_postgres_schema(url: str) -> None:
    connection = await asyncpg.connect(_dsn(url))
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
            connection = await asyncpg.connect(_dsn(url))
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
        connection = await asyncpg.connect(_dsn(url))
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
