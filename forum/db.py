"""Database configuration: one Tortoise config built from a database URL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
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
        # Tortoise's asyncpg client, whose pool skips a reset round trip per statement.
        connection = expand_db_url(database_url.replace("postgresql://", "postgres://", 1))
        connection["engine"] = "forum.postgres_engine"
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
async def one_connection() -> AsyncIterator[None]:
    """Run the block's reads on one connection: on PostgreSQL, one taken from the pool
    for them all instead of one for each (`forum.postgres_engine.PooledClient.held`;
    a transaction in the block is refused). SQLite has a single connection anyway;
    inside a transaction, the block runs in it."""
    held = getattr(connections.get("default"), "held", None)
    if held is None:
        yield
        return
    async with held():
        yield


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
    if content:
        stamps.moved(stamps.CONTENT)  # committed now


Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a `write_statements` batch, written with ``?`` placeholders.

    `params` may be a function of the rows returned so far (one list per earlier
    statement), e.g. to use the id an ``INSERT ... RETURNING id`` produced.
    A `required` statement that changes no row cancels the batch (`NothingChanged`).
    """

    sql: str
    params: Sequence[Any] | Callable[[list[Rows]], Sequence[Any]] = ()
    required: bool = False

    def values(self, results: list[Rows]) -> Sequence[Any]:
        return self.params(results) if callable(self.params) else self.params


class NothingChanged(Exception):
    """A required statement of a batch changed no row: nothing was written."""

    def __init__(self, statement: Statement) -> None:
        super().__init__(statement.sql)
        self.statement = statement


async def write_statements(statements: Sequence[Statement], *, content: bool = True) -> list[Rows]:
    """Run `statements` as one write transaction, as briefly as the database allows.

    The rows each statement returned (``RETURNING``), in order. Unless `content`
    is False the "content" stamp moves on commit, as with `write_transaction`.

    On SQLite every process shares one write lock: `write_transaction` holds it
    across a turn of the event loop per statement, while the process also works
    on its other requests. Here the whole transaction (BEGIN IMMEDIATE, the
    statements, the stamp, COMMIT) runs in one call on the connection's thread
    (`forum.sqlite_engine`), so the lock is held only while SQLite works. On
    PostgreSQL, which locks rows, the statements simply run in turn.
    """
    given = len(statements)
    if content:
        statements = [*statements, Statement(stamps.ADVANCE_SQL, (stamps.CONTENT,))]
    client = connections.get("default")
    run_batch = getattr(client, "run_batch", None)
    if run_batch is not None:  # SQLite, outside any other transaction
        rows = await run_batch(statements, NothingChanged)
    else:
        async with in_transaction("default") as connection:
            rows = await _run_in_turn(connection, statements)
    if content:
        stamps.moved(stamps.CONTENT)
    return rows[:given]


async def _run_in_turn(connection: BaseDBAsyncClient, statements: Sequence[Statement]) -> list[Rows]:
    postgres = connection.capabilities.dialect == "postgres"
    results: list[Rows] = []
    for statement in statements:
        sql = _numbered(statement.sql) if postgres else statement.sql
        values = list(statement.values(results))
        if " RETURNING " in sql.upper():
            # execute_query gives a write's row count, not its rows (asyncpg).
            rows = [tuple(row.values()) for row in await connection.execute_query_dict(sql, values)]
            changed = len(rows)
        else:
            changed, found = await connection.execute_query(sql, values)
            rows = [tuple(row) for row in found]
        if statement.required and not changed:
            raise NothingChanged(statement)
        results.append(rows)
    return results


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2...``."""
    count = iter(range(1, sql.count("?") + 1))
    return "".join(f"${next(count)}" if ch == "?" else ch for ch in sql)


# For the `tortoise` migration CLI (`[tool.tortoise]` in pyproject.toml).
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://data/forum.sqlite3"))
