"""Tortoise's asyncpg client, without a second round trip after every statement.

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
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo (see the module docstring)."""


class PooledClient(AsyncpgDBClient):
    """The PostgreSQL client used as the application's engine (``forum.postgres_engine``)."""

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        kwargs.setdefault("reset", keep_session)
        return await super().create_pool(**kwargs)


client_class = PooledClient
