"""Drains the outbox into a search backend without ever losing an update.

For each batch: read due outbox rows, ask the application's loader for the
current state of those documents (None means "gone or not searchable"), send
upserts and deletes, and delete exactly the rows that were read, only after the
engine confirmed. An unreachable engine leaves the rows for a later retry with
exponential back-off; a document the engine rejects is set aside (dead-lettered)
with the reason, and the rest of the batch goes through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.timezone import now

from search_index.backend import DocumentRejected, SearchBackend, SearchDoc, SearchError
from search_index.outbox import OutboxEntry, enqueue

log = logging.getLogger("search_index.indexer")

Loader = Callable[[Sequence[str]], Awaitable[dict[str, SearchDoc | None]]]
BASE_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=10)


@dataclass
class DrainResult:
    indexed: int = 0
    deleted: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def touched(self) -> int:
        return self.indexed + self.deleted + self.failed + self.dead


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s ... capped at 10 minutes."""
    # Bounded exponent: after a long outage 2 ** attempts overflows timedelta.
    exponent = min(max(attempts - 1, 0), 20)
    return min(BASE_DELAY * 2**exponent, MAX_DELAY)


class Indexer:
    """Moves outbox rows into `backend`, using `loader` to read current state."""

    def __init__(self, backend: SearchBackend, loader: Loader, batch_size: int = 500) -> None:
        self.backend = backend
        self.loader = loader
        self.batch_size = batch_size

    async def drain_once(self) -> DrainResult:
        """Process one batch of due rows."""
        current = now()
        rows = await OutboxEntry.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=current), dead=False
        ).order_by("id").limit(self.batch_size)
        result = DrainResult()
        if not rows:
            return result
        by_doc: dict[str, list[OutboxEntry]] = {}
        for row in rows:
            by_doc.setdefault(row.doc_id, []).append(row)
        docs = await self.loader(list(by_doc))
        to_delete = [doc_id for doc_id in by_doc if docs.get(doc_id) is None]
        to_upsert = [doc for doc_id in by_doc if (doc := docs.get(doc_id)) is not None]
        done: list[str] = []
        try:
            if to_delete:
                await self.backend.delete(to_delete)
                done += to_delete
                result.deleted = len(to_delete)
            result.indexed, result.dead = await self._upsert(to_upsert, by_doc, done)
        except SearchError as exc:
            # Engine down or failing: everything not yet confirmed waits and retries.
            pending = [row for doc_id, group in by_doc.items() if doc_id not in done for row in group]
            await self._retry_later(pending, str(exc))
            result.failed = len({row.doc_id for row in pending})
            log.warning("search engine failed, %d documents will be retried: %s", result.failed, exc)
        if done:
            await self._recheck({doc_id: docs.get(doc_id) for doc_id in done})
        await self._forget([row.id for doc_id in done for row in by_doc[doc_id]])
        return result

    async def _recheck(self, sent: dict[str, SearchDoc | None]) -> None:
        """Queue again any document that changed while it was being sent.

        Another indexer (a second web process, `forum worker`) may have sent a newer
        state and deleted that change's row before this batch's older state reached
        the engine, overwriting it: without a new row that update would be lost.
        """
        current = await self.loader(list(sent))
        changed = [doc_id for doc_id, doc in sent.items() if current.get(doc_id) != doc]
        if changed:
            await enqueue(changed)

    async def _upsert(
        self, docs: list[SearchDoc], by_doc: dict[str, list[OutboxEntry]], done: list[str]
    ) -> tuple[int, int]:
        """Send `docs`; a rejected one is dead-lettered and the rest sent again."""
        dead = 0
        while docs:
            try:
                await self.backend.upsert(docs)
            except DocumentRejected as exc:
                await OutboxEntry.filter(id__in=[r.id for r in by_doc.get(exc.doc_id, [])]).update(
                    dead=True, last_error=exc.reason[:2000]
                )
                log.error("search engine rejected %s: %s", exc.doc_id, exc.reason)
                docs = [d for d in docs if d.id != exc.doc_id]
                dead += 1
                continue
            done.extend(d.id for d in docs)
            return len(docs), dead
        return 0, dead

    async def _retry_later(self, rows: list[OutboxEntry], error: str) -> None:
        current = now()
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = current + backoff(row.attempts)
            row.last_error = error[:2000]
        if rows:
            await OutboxEntry.bulk_update(rows, fields=["attempts", "next_attempt_at", "last_error"])

    async def _forget(self, row_ids: list[int]) -> None:
        # Only the rows this batch read: a newer change to the same document keeps its row.
        for start in range(0, len(row_ids), 500):
            await OutboxEntry.filter(id__in=row_ids[start : start + 500]).delete()

    async def drain(self) -> DrainResult:
        """Process due rows until none are left (or only failing ones remain)."""
        total = DrainResult()
        while True:
            result = await self.drain_once()
            total.indexed += result.indexed
            total.deleted += result.deleted
            total.failed += result.failed
            total.dead += result.dead
            if result.touched == 0 or result.failed:
                return total

    async def run_forever(self, wake: asyncio.Event, idle_seconds: float = 5.0) -> None:
        """Drain whenever woken (a change committed) or every `idle_seconds` (retries)."""
        while True:
            try:
                await asyncio.wait_for(wake.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass
            wake.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the loop die: the rows stay for the next try
                log.exception("indexing failed; will retry")

    async def pending(self) -> tuple[int, int]:
        """(rows waiting, rows dead-lettered)."""
        waiting = await OutboxEntry.filter(dead=False).count()
        dead = await OutboxEntry.filter(dead=True).count()
        return waiting, dead
