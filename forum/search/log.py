"""The search log, written in batches: what people look for and how many results it found.

Writing each search as it happens cost a write transaction and a commit (on
PostgreSQL, a wait for the disk) in every search request. Each web process
instead keeps the searches of the last moment in memory and writes them with one
statement at most `FLUSH_SECONDS` after the first of them, as soon as
`FLUSH_ENTRIES` are waiting, and when the process stops. Each entry keeps the
time of its search.

So the moderators' "search gaps" report (`services.search_gaps`) may miss the
searches of the last second made in *other* processes; the process serving the
report writes its own first. The log is statistics: if the database refuses a
batch, the batch is dropped with a warning and searching goes on.
"""

from __future__ import annotations

import asyncio
import logging
import re

from tortoise.timezone import now

from forum.search.models import SearchLog

FLUSH_SECONDS = 1.0
FLUSH_ENTRIES = 100
_EMAIL = re.compile(r"\S+@\S+")

log = logging.getLogger("forum.search")


def logged_text(text: str) -> str:
    """What is kept of a query: lower-case, and never an address someone typed into it."""
    return _EMAIL.sub("[email]", text).lower()


class SearchLogWriter:
    """One web process's searches waiting to be written (see the module docstring)."""

    def __init__(self, *, seconds: float | None = None, entries: int | None = None) -> None:
        self.seconds = FLUSH_SECONDS if seconds is None else seconds
        self.entries = FLUSH_ENTRIES if entries is None else entries
        self._pending: list[SearchLog] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    def add(self, text: str, results: int) -> None:
        """Remember a search (the normalised query and its result count: nothing personal)."""
        text = logged_text(text)
        if not text:
            return
        self._pending.append(SearchLog(query=text, results=results, created_at=now()))
        if len(self._pending) >= self.entries:
            self._write_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.seconds, self._write_soon)

    def _write_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.flush())
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def flush(self) -> None:
        """Write every waiting search now (one statement)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await SearchLog.bulk_create(batch)
        except Exception:  # noqa: BLE001 - statistics never break searching
            log.warning("search log: %d searches could not be written", len(batch), exc_info=True)

    async def close(self) -> None:
        """Write what is waiting, and wait for writes under way (the process is stopping)."""
        await self.flush()
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)
