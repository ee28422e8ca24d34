"""Choosing and starting the search engine for a deployment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from tortoise import connections

from forum.caching import stamps
from forum.caching.stamps import Stamp
from forum.db import is_sqlite
from forum.search.loader import load_documents
from forum.settings import Settings
from search_index.backend import SearchBackend, SearchError
from search_index.cache import CachingBackend
from search_index.indexer import Indexer

log = logging.getLogger("forum.search")


def build_backend(settings: Settings) -> SearchBackend:
    """The engine for `settings`, answering repeated queries from memory until the index changes."""
    return CachingBackend(
        _engine(settings), Stamp(stamps.SEARCH_INDEX), size=settings.search_cache_size
    )


def _engine(settings: Settings) -> SearchBackend:
    """Meilisearch when configured, else FTS5 on SQLite or tsvector on PostgreSQL."""
    if settings.meili_url:
        from search_index.meili import MeiliBackend

        return MeiliBackend(
            settings.meili_url, settings.meili_api_key or None, settings.meili_index
        )
    if is_sqlite(settings.database_url):
        from search_index.sqlite_fts import SqliteFTSBackend

        return SqliteFTSBackend(connections.get("default"))
    from search_index.postgres_fts import PostgresFTSBackend

    return PostgresFTSBackend(connections.get("default"))


def build_indexer(backend: SearchBackend) -> Indexer:
    return Indexer(backend, load_documents)


async def prepare(backend: SearchBackend) -> bool:
    """Create the index if needed; False (and a warning) when the engine is unreachable."""
    try:
        await backend.ensure_index()
    except SearchError as exc:
        log.warning("search engine not ready, searches will fail until it is: %s", exc)
        return False
    return True


@contextlib.asynccontextmanager
async def embedded_indexing(indexer: Indexer, wake: asyncio.Event) -> AsyncIterator[None]:
    """Drain the outbox in this process for as long as the block runs."""
    task = asyncio.create_task(indexer.run_forever(wake), name="search-indexer")
    wake.set()  # catch up with whatever waited while the app was down
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class WakeIndexerMiddleware:
    """After every write request, nudge the in-process indexer: new posts are
    searchable within moments instead of at the next periodic sweep."""

    def __init__(self, app, *, wake: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.wake = wake

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            self.wake.set()
