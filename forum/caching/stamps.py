"""Reading and moving version stamps.

A stamp lives in the application database, so that every web worker, the
`worker` process and the command line agree on it. Caches key their entries by
the stamps they read *before* building them: an entry built while a change was
being made is filed under the old value and is never served once the stamp moves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

CONTENT = "content"  # anything a page may show: posts, threads, playbooks, people, topics
SEARCH_INDEX = "search-index"  # the documents of the search index


def _sql(connection: BaseDBAsyncClient, sql: str) -> str:
    if connection.capabilities.dialect == "postgres":
        count = iter(range(1, sql.count("?") + 1))
        return "".join(f"${next(count)}" if ch == "?" else ch for ch in sql)
    return sql


# The stamps a block of work (a request) has read at its start: see `snapshot`.
_snapshot: ContextVar[dict[str, int] | None] = ContextVar("stamps_snapshot", default=None)


async def read(name: str, connection: BaseDBAsyncClient | None = None) -> int:
    """The current value of stamp `name` (0 before it first moves), or its value when
    the enclosing `snapshot` was taken."""
    taken = _snapshot.get()
    if taken is not None and name in taken and connection is None:
        return taken[name]
    connection = connection or connections.get("default")
    _, rows = await connection.execute_query(
        _sql(connection, "SELECT version FROM version_stamps WHERE name = ?"), [name]
    )
    return int(rows[0][0]) if rows else 0


async def read_many(names: tuple[str, ...]) -> dict[str, int]:
    """The current values of the stamps `names`, in one statement."""
    connection = connections.get("default")
    marks = ", ".join("?" * len(names))
    _, rows = await connection.execute_query(
        _sql(connection, f"SELECT name, version FROM version_stamps WHERE name IN ({marks})"),
        list(names),
    )
    found = {row[0]: int(row[1]) for row in rows}
    return {name: found.get(name, 0) for name in names}


@asynccontextmanager
async def snapshot(*names: str) -> AsyncIterator[None]:
    """Read the stamps `names` at once; within the block, `read` answers them from
    that reading. For a request that consults several caches: one round trip, and
    each cache still files what it builds under a value read before building it."""
    token = _snapshot.set(await read_many(names))
    try:
        yield
    finally:
        _snapshot.reset(token)


# Moves the stamp named by its one parameter (also run by forum.db.write_statements).
ADVANCE_SQL = (
    "INSERT INTO version_stamps (name, version) VALUES (?, 1) ON CONFLICT (name) "
    "DO UPDATE SET version = version_stamps.version + 1"
)


async def advance(name: str, connection: BaseDBAsyncClient | None = None) -> None:
    """Move stamp `name` on; inside a transaction, it moves when that commits."""
    connection = connection or connections.get("default")
    await connection.execute_query(_sql(connection, ADVANCE_SQL), [name])


class Stamp:
    """One stamp as an object, for code that must not know about the database
    (the search index's cache)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def current(self) -> int:
        return await read(self.name)

    async def advance(self) -> None:
        await advance(self.name)

    def __repr__(self) -> str:
        return f"Stamp({self.name!r})"
