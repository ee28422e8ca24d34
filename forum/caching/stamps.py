"""Reading and moving version stamps.

A stamp lives in the application database, so that every web worker, the
`worker` process and the command line agree on it. Caches key their entries by
the stamps they read *before* building them: an entry built while a change was
being made is filed under the old value and is never served once the stamp moves.
A request may also assume the values its process read last and confirm them in
its last statement, saving a round trip (`assume`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

CONTENT = "content"  # anything a page may show: posts, threads, playbooks, people, topics
SEARCH_INDEX = "search-index"  # the documents of the search index


def _sql(connection: BaseDBAsyncClient, sql: str) -> str:
    if connection.capabilities.dialect == "postgres":
        count = iter(range(1, sql.count("?") + 1))
        return "".join(f"${next(count)}" if ch == "?" else ch for ch in sql)
    return sql


# The stamps a block of work (a request) takes as current: see `assume`.
_taken_values: ContextVar[Mapping[str, int] | None] = ContextVar("stamps_taken", default=None)
# The value of each stamp this process read last: what `assume` starts from.
_last_read: dict[str, int] = {}


async def read(name: str, connection: BaseDBAsyncClient | None = None) -> int:
    """The current value of stamp `name` (0 before it first moves), or its value when
    the enclosing `assume` block took it."""
    taken = _taken_values.get()
    if taken is not None and name in taken and connection is None:
        return taken[name]
    connection = connection or connections.get("default")
    _, rows = await connection.execute_query(
        _sql(connection, "SELECT version FROM version_stamps WHERE name = ?"), [name]
    )
    _last_read[name] = value = int(rows[0][0]) if rows else 0
    return value


async def read_many(names: tuple[str, ...]) -> dict[str, int]:
    """The current values of the stamps `names`, in one statement."""
    connection = connections.get("default")
    marks = ", ".join("?" * len(names))
    _, rows = await connection.execute_query(
        _sql(connection, f"SELECT name, version FROM version_stamps WHERE name IN ({marks})"),
        list(names),
    )
    return read_rows(names, rows)


def read_rows(names: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """The values of the stamps `names` from (name, version) rows of ``version_stamps``
    (read as part of a statement that is about something else: see `Assumed`)."""
    found = {str(row[0]): int(row[1]) for row in rows}
    values = {name: found.get(name, 0) for name in names}
    _last_read.update(values)
    return values


@asynccontextmanager
async def _taken(values: Mapping[str, int]) -> AsyncIterator[None]:
    token = _taken_values.set(values)
    try:
        yield
    finally:
        _taken_values.reset(token)


@dataclass(frozen=True)
class Assumed:
    """Stamp values a block of work took as current without reading them (`assume`)."""

    values: Mapping[str, int]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def holds(self, current: Mapping[str, int]) -> bool:
        """Whether the values read after the work (`current`) are still those assumed."""
        return all(current.get(name) == value for name, value in self.values.items())

    def again(self, current: Mapping[str, int]) -> AbstractAsyncContextManager[None]:
        """A block answering `read` with `current`: for doing the work again when the
        assumption did not hold (the values were read before that work)."""
        return _taken(current)


@asynccontextmanager
async def assume(*names: str) -> AsyncIterator[Assumed]:
    """Within the block, `read` answers the stamps `names` with the values this process
    read last (read now when it has not read them yet): no round trip before the work.

    The block must then read the stamps (in the same statement as the rest of its
    work, with `read_rows`) and serve what it built only if they still hold
    (`Assumed.holds`), or else do its work again within `Assumed.again`. Stamps
    only move forward: a value read again after the work shows that nothing changed
    since it was last read. A cache may file what it built under an assumed value:
    whoever it serves has read or confirmed that value, and gets something at least
    as new as the value.
    """
    known = {name: _last_read[name] for name in names if name in _last_read}
    values = known if len(known) == len(names) else await read_many(names)
    async with _taken(values):
        yield Assumed(values)


# Moves the stamp named by its one parameter (also run by forum.db.write_statements).
ADVANCE_SQL = (
    "INSERT INTO version_stamps (name, version) VALUES (?, 1) ON CONFLICT (name) "
    "DO UPDATE SET version = version_stamps.version + 1"
)


async def advance(name: str, connection: BaseDBAsyncClient | None = None) -> None:
    """Move stamp `name` on; inside a transaction, it moves when that commits
    (`moved` should then be called again after the commit)."""
    connection = connection or connections.get("default")
    await connection.execute_query(_sql(connection, ADVANCE_SQL), [name])
    moved(name)


def moved(name: str) -> None:
    """This process has moved stamp `name`: forget the value it read last, so that
    the next `assume` reads it rather than assume a value known to be stale."""
    _last_read.pop(name, None)


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
