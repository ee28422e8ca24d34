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
Statements started together on it (the ORM gathers prefetches) take turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import TransactionContext


# asyncpg prepares a statement once per connection and keeps it, but only when its
# text is at most this long (15,360 characters by default): a search's statement
# with several filters and its check of the hits is longer, and would be parsed
# and planned again on every run, never settling on a generic plan.
MAX_CACHEABLE_STATEMENT = 64 * 1024


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo (see the module docstring)."""


class _Holding:
    """The connection a block holds (`PooledClient.held`); None once the block ends, so
    that a task started in the block and still running after it takes its own. One
    statement at a time runs on it (`turn`)."""

    __slots__ = ("client", "connection", "turn")

    def __init__(self, client: PooledClient, connection: Any) -> None:
        self.client = client
        self.connection: Any = connection
        self.turn = asyncio.Lock()


_HELD: ContextVar[_Holding | None] = ContextVar("forum_held_connection", default=None)


class _Held:
    """`acquire_connection` inside `held`: the block's connection, in its turn (the
    block gives it back to the pool); a pooled one if the block has ended meanwhile."""

    __slots__ = ("holding", "pooled", "taken")

    def __init__(self, holding: _Holding, pooled: Callable[[], Any]) -> None:
        self.holding = holding
        self.pooled = pooled
        self.taken: Any = None

    async def __aenter__(self) -> Any:
        await self.holding.turn.acquire()
        if self.holding.connection is not None:
            return self.holding.connection
        self.holding.turn.release()
        self.taken = self.pooled()
        return await self.taken.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        if self.taken is not None:
            await self.taken.__aexit__(*exc_info)
        else:
            self.holding.turn.release()


class PooledClient(AsyncpgDBClient):
    """The PostgreSQL client used as the application's engine (``forum.postgres_engine``)."""

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        kwargs.setdefault("reset", keep_session)
        kwargs.setdefault("max_cacheable_statement_size", MAX_CACHEABLE_STATEMENT)
        return await super().create_pool(**kwargs)

    def _held_here(self) -> _Holding | None:
        """The connection this client holds in the current context, if any."""
        holding = _HELD.get()
        if holding is not None and holding.client is self and holding.connection is not None:
            return holding
        return None

    def acquire_connection(self) -> Any:
        holding = self._held_here()
        pooled = super().acquire_connection
        return _Held(holding, pooled) if holding is not None else pooled()

    def _in_transaction(self) -> TransactionContext:
        # A transaction would wait for a second pooled connection while the block
        # holds one: enough such blocks at once would empty the pool for good.
        if self._held_here() is not None:
            raise RuntimeError("no transaction inside PooledClient.held(): it reads only")
        return super()._in_transaction()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Run the block's statements on one pooled connection, outside any transaction
        (for reads: a transaction in the block is refused with RuntimeError).

        Statements started together take turns on it. A task started in the block
        that runs a statement after the block ends takes a connection of its own.
        """
        if self._held_here() is not None:  # already held by an enclosing block
            yield
            return
        async with super().acquire_connection() as connection:
            holding = _Holding(self, connection)
            token = _HELD.set(holding)
            try:
                yield
            finally:
                _HELD.reset(token)
                # A statement still running in a task started in the block ends
                # before the connection goes back to the pool.
                async with holding.turn:
                    holding.connection = None


client_class = PooledClient
