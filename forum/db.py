"""Database configuration: one Tortoise config built from a database URL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.transactions import in_transaction

from forum.caching import stamps

MODEL_MODULES = [
    "forum.accounts.models",
    "forum.people.models",
    "forum.threads.models",
    "forum.playbooks.models",
    "forum.mentoring.models",
    "forum.notifications.models",
    "forum.search.models",
    "forum.caching.models",
    "search_index.outbox",
]


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for `database_url` (``sqlite://path`` or ``postgres://...``)."""
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite":
        path = database_url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection: Any = {
            "engine": "forum.sqlite_engine",
            "credentials": {"file_path": path, "journal_mode": "WAL", "foreign_keys": "ON"},
        }
    elif scheme in {"postgres", "postgresql"}:
        connection = database_url.replace("postgresql://", "postgres://", 1)
    else:
        raise ValueError(f"Unsupported DATABASE_URL scheme {scheme!r}: use sqlite:// or postgres://")
    return {
        "connections": {"default": connection},
        "apps": {
            "forum": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "forum.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite://")


async def read_rows(sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a read written with ``?`` placeholders, on the default connection.

    For the few reads every request makes, where building the query through the
    ORM costs more than running it.
    """
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        numbers = iter(range(1, sql.count("?") + 1))
        sql = "".join(f"${next(numbers)}" if ch == "?" else ch for ch in sql)
    _, rows = await connection.execute_query(sql, values)
    return [tuple(row) for row in rows]


@asynccontextmanager
async def write_transaction(*, content: bool = True) -> AsyncIterator[Any]:
    """A transaction for writes: on SQLite it holds the write lock from its start.

    Unless `content` is False (a search log, a session, a notification read), the
    change may show on pages: the "content" stamp moves when the transaction
    commits, and every cached page built before is stale from then on. Moving it
    last keeps PostgreSQL's row lock on the stamp as short as possible.
    """
    async with in_transaction("default") as connection:
        yield connection
        if content:
            await stamps.advance(stamps.CONTENT, connection)


# For the `tortoise` migration CLI (`[tool.tortoise]` in pyproject.toml).
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://data/forum.sqlite3"))
