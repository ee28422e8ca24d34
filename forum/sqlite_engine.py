"""Tortoise's SQLite client, with write transactions that take the lock up front.

SQLite in WAL mode lets a deferred transaction (plain ``BEGIN``) read first and
ask for the write lock later. When another process committed in between, the
upgrade fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT): the busy
timeout cannot help, because waiting would never make the stale snapshot valid.
Under two worker processes that lost over half of all read-modify-write
transactions. ``BEGIN IMMEDIATE`` takes the write lock before the first read, so
a contended transaction waits (up to ``busy_timeout``) instead of failing.
Readers outside transactions are unaffected: WAL never blocks them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that begins with ``BEGIN IMMEDIATE``."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransactionWrapper(self))

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    """The SQLite client used as the application's engine (``forum.sqlite_engine``)."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", 10_000)
        kwargs.setdefault("synchronous", "NORMAL")
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
