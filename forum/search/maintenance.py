"""Rebuilding the index from the database, and finding and repairing drift."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from forum.search.loader import all_searchable_ids, load_documents
from search_index.backend import SearchBackend, SearchDoc

Progress = Callable[[str], object]


class Rebuild(Protocol):
    """The optional capability of a backend that rebuilds without downtime
    (Meilisearch: a new index filled, then swapped in)."""

    def __call__(
        self, batches: AsyncIterator[list[SearchDoc]], progress: Progress
    ) -> Awaitable[int]: ...


async def searchable_documents() -> AsyncIterator[list[SearchDoc]]:
    """Every document the database says should be searchable, in batches."""
    async for ids in all_searchable_ids():
        yield [doc for doc in (await load_documents(ids)).values() if doc is not None]


async def reindex(backend: SearchBackend, progress: Progress = print) -> int:
    """Rebuild the index from the database; it keeps answering throughout.

    A backend with `rebuild()` builds a new index and swaps it in; afterwards a
    repairing `verify` catches up with changes the outbox delivered to the old
    index while the new one was being filled (they would be lost in the swap).
    Any other backend gets every document again, then loses what no longer exists:
    nothing is emptied first.
    """
    rebuild = cast("Rebuild | None", getattr(backend, "rebuild", None))
    if rebuild is not None:
        count = await rebuild(searchable_documents(), progress)
        progress("  checking for changes made during the rebuild...")
        drift = await verify(backend, repair=True, progress=_quiet)
        if not drift.clean:
            progress(
                "  caught up with changes made during the rebuild: "
                f"{len(drift.missing) + len(drift.stale) + len(drift.extra):,} documents"
            )
        return count
    await backend.ensure_index()
    seen: set[str] = set()
    # Each batch is written while the next is read and built: on PostgreSQL the
    # engine works on another connection (and core), an eighth off a rebuild.
    # SQLite's one connection takes the two in turn.
    writing: asyncio.Future[None] | None = None
    try:
        async for docs in searchable_documents():
            if writing is not None:
                await writing
                progress(f"  indexed {len(seen):,} documents")
            writing = asyncio.ensure_future(backend.upsert(docs))
            seen.update(doc.id for doc in docs)
        if writing is not None:
            await writing
            progress(f"  indexed {len(seen):,} documents")
    except BaseException:
        if writing is not None and not writing.done():
            writing.cancel()
            await asyncio.wait([writing])
        raise
    extra = [doc_id for doc_id in await backend.ids() if doc_id not in seen]
    if extra:
        await backend.delete(extra)
        progress(f"  removed {len(extra):,} documents that no longer exist")
    optimize = cast("Callable[[], Awaitable[None]] | None", getattr(backend, "optimize", None))
    if optimize is not None:
        # A bulk rebuild leaves an embedded index in pieces (SQLite's segments, each
        # looked up for every query word; PostgreSQL's unvacuumed rows and stale
        # statistics): tidied, a search never asked before costs a third less.
        progress("  tidying the index after the rebuild...")
        await optimize()
    return len(seen)


def _quiet(message: str) -> None:
    pass


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def __str__(self) -> str:
        if self.clean:
            return f"Index matches the database ({self.checked:,} documents)."
        return (
            f"Checked {self.checked:,} documents: {len(self.missing):,} missing, "
            f"{len(self.stale):,} out of date, {len(self.extra):,} that should not be there."
        )


async def verify(backend: SearchBackend, *, repair: bool, progress: Progress = print) -> Drift:
    """Compare the index with the database; with `repair`, make them match."""
    indexed = await backend.ids()
    drift = Drift()
    seen: set[str] = set()
    async for ids in all_searchable_ids():
        docs = await load_documents(ids)
        fix: list[SearchDoc] = []
        for doc in docs.values():
            if doc is None:
                continue
            seen.add(doc.id)
            if doc.id not in indexed:
                drift.missing.append(doc.id)
                fix.append(doc)
            elif indexed[doc.id] != doc.version:
                drift.stale.append(doc.id)
                fix.append(doc)
        drift.checked += len(ids)
        if repair and fix:
            await backend.upsert(fix)
        progress(f"  checked {drift.checked:,} documents")
    drift.extra = [doc_id for doc_id in indexed if doc_id not in seen]
    if repair and drift.extra:
        await backend.delete(drift.extra)
    return drift
