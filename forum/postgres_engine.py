"""Tortoise's asyncpg client, without a second round trip after every statement,
and with a way to run a block's statements on one connection.

Tortoise takes a pooled connection for each statement run outside a transaction
(and one per transaction) and gives it back straight after. On every return,
asyncpg's pool resets the connection's session with one more round trip to the
server (``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``):
on PostgreSQL a page of four queries made eight round trips, and the reset
query was a good part of the server's work for pages served from memory.

The application keeps no session state on a connection: settings are changed
with ``SET LOCAL`` (they end with the transaction), advisory locks are taken with
``pg_advisory_xact_lock``, and there are no LISTENs, cursors held past their
transaction or temporary tables. So the reset is skipped; what asyncpg still does
on every return is kept: a transaction left open (an error part-way) is rolled
back and listeners are removed.

Taking and returning a pooled connection still costs about as much Python as a
small statement's own round trip. A page that runs its statements one after the
other (the search page: the search, then its hits checked) can hold one
connection for all of them (`PooledClient.held`), outside any transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo (see the module docstring)."""


class _Holding:
    """The connection a block holds (`PooledClient.held`); None once the block ends, so
    that a task started in the block and still running after it takes its own."""

    __slots__ = ("client", "connection")

    def __init__(self, client: PooledClient, connection: Any) -> None:
        self.client = client
        self.connection: Any = connection


_holding: ContextVar[_Holding | None] = ContextVar("forum_held_connection", default=None)


class _Held:
    """`acquire_connection` inside `held`: the block's connection, given back by the block."""

    __slots__ = ("connection",)

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def __aenter__(self) -> Any:
        return self.connection

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class PooledClient(AsyncpgDBClient):
    """The PostgreSQL client used as the application's engine (``forum.postgres_engine``)."""

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        kwargs.setdefault("reset", keep_session)
        return await super().create_pool(**kwargs)

    def acquire_connection(self) -> Any:
        holding = _holding.get()
        if holding is not None and holding.client is self and holding.connection is not None:
            return _Held(holding.connection)
        return super().acquire_connection()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Run the block's statements outside a transaction on one pooled connection.

        The block must run them one at a time (no `asyncio.gather`): a connection
        runs one statement at once. Transactions take a connection of their own.
        """
        if _holding.get() is not None:  # already held by an enclosing block
            yield
            return
        async with super().acquire_connection() as connection:
            holding = _Holding(self, connection)
            token = _holding.set(holding)
            try:
                yield
            finally:
                holding.connection = None
                _holding.reset(token)


client_class = PooledClient
