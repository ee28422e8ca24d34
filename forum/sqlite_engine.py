"""Tortoise's SQLite client, with write transactions that take the lock up front.

SQLite in WAL mode lets a deferred transaction (plain ``BEGIN``) read first and
ask for the write lock later. When another process committed in between, the
upgrade fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT): the busy
timeout cannot help, because waiting would never make the stale snapshot valid.
Under two worker processes that lost over half of all read-modify-write
transactions. ``BEGIN IMMEDIATE`` takes the write lock before the first read, so
a contended transaction waits (up to ``busy_timeout``) instead of failing.
Readers outside transactions are unaffected: WAL never blocks them.

Every statement is a trip to the connection's thread and back through the event
loop, which meanwhile runs the process's other requests: a transaction of ten
statements holds the write lock, which every process shares, for ten turns of
the loop. `run_batch` (used by `forum.db.write_statements`) runs a whole
transaction in one trip instead, so the lock is held only while SQLite works.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that begins with ``BEGIN IMMEDIATE``."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransactionWrapper(self))

    async def begin(self) -> None:
        # The connection is in autocommit mode (isolation_level=None) and every
        # transaction ends in COMMIT or ROLLBACK: no implicit transaction to end
        # first, so no extra trip to the connection's thread for it.
        try:
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

    async def run_batch(self, statements: Sequence[Any], nothing_changed: type[Exception]) -> list:
        """Run `statements` (`forum.db.Statement`s) as one transaction in one trip to the
        connection's thread; the rows each returned. A required statement that changes
        no row rolls everything back and raises `nothing_changed(statement)`."""
        async with self.acquire_connection() as connection:
            for statement in statements:
                params = "(from earlier rows)" if callable(statement.params) else statement.params
                self.log.debug("%s: %s", statement.sql, params)
            try:
                # aiosqlite's own way of running a call on its thread (each of its
                # public methods is one such call), here for the whole transaction.
                return await connection._execute(
                    _run_batch, connection._conn, statements, nothing_changed
                )
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(exc) from exc
            except sqlite3.OperationalError as exc:
                raise OperationalError(exc) from exc


def _run_batch(conn: sqlite3.Connection, statements: Sequence[Any],
               nothing_changed: type[Exception]) -> list:
    """On the connection's thread: BEGIN IMMEDIATE, the statements, COMMIT."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        results: list = []
        for statement in statements:
            cursor = conn.execute(statement.sql, list(statement.values(results)))
            rows = [tuple(row) for row in cursor.fetchall()]
            if statement.required and not rows and cursor.rowcount < 1:
                raise nothing_changed(statement)
            results.append(rows)
        conn.execute("COMMIT")
        return results
    except BaseException:
        if conn.in_transaction:  # SQLite rolls some failures back itself
            conn.execute("ROLLBACK")
        raise


client_class = ImmediateSqliteClient
