"""Remembered answers: a backend wrapper that serves a repeated query from memory
until the index changes.

Popular searches repeat ("TUPE", "pension", "business case"), and an answer can
only change when the index does. The wrapper keys each answer by the query and
by the index's generation: a counter, shared by every process, that moves after
every upsert, delete or reset through any wrapper (the indexer, `reindex`,
`verify --repair`). The generation is read *before* the engine is asked, so an
answer computed while the index was changing is filed under the old generation
and never served once the counter moves. Entries also expire after `ttl`
seconds, a bound on staleness should a process die between writing the index
and moving the counter.

The wrapper is per process (a small LRU); nothing is shared but the counter.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Any, Protocol

from search_index.backend import Alongside, SearchDoc, SearchPage, SearchQuery

DEFAULT_SIZE = 512
DEFAULT_TTL = 300.0


class Generation(Protocol):
    """A counter shared by every process that writes or reads the index."""

    async def current(self) -> int: ...

    async def advance(self) -> None: ...


def query_key(query: SearchQuery) -> Hashable:
    """`query` as a dictionary key (its filters are a dict of tuples)."""
    filters = tuple(sorted((name, tuple(values)) for name, values in query.filters.items()))
    return (
        query.text, tuple(query.principals), filters, tuple(query.facets), query.sort,
        query.page, query.per_page,
    )


class CachingBackend:
    """A `SearchBackend` that remembers answers; every other call goes to `backend`."""

    def __init__(
        self, backend: Any, generation: Generation, *, size: int = DEFAULT_SIZE,
        ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self._generation = generation
        self._size = size
        self._ttl = ttl
        self._clock = clock
        self._answers: OrderedDict[Hashable, tuple[int, float, SearchPage]] = OrderedDict()
        self._seen: int | None = None  # the generation of this process's last search
        self.hits = 0
        self.misses = 0

    async def search(self, query: SearchQuery, alongside: Alongside | None = None) -> SearchPage:
        """The remembered answer to `query`, else the engine's (asked `alongside` too,
        when given: a remembered answer comes without its rows)."""
        if self._size <= 0:
            return await self._ask(query, alongside)
        generation = await self._generation.current()
        if generation != self._seen:
            # The index changed (perhaps in another process): so did what the
            # engine itself remembers of it, such as its vocabulary.
            self._seen = generation
            index_changed = getattr(self.backend, "index_changed", None)
            if index_changed is not None:
                index_changed()
        key = query_key(query)
        found = self._answers.get(key)
        now = self._clock()
        if found is not None and found[0] == generation and now - found[1] < self._ttl:
            self._answers.move_to_end(key)
            self.hits += 1
            return found[2]
        self.misses += 1
        page = await self._ask(query, alongside)
        # The rows alongside were true of this moment only.
        kept = page if page.alongside is None else replace(page, alongside=None)
        self._answers[key] = (generation, now, kept)
        self._answers.move_to_end(key)
        while len(self._answers) > self._size:
            self._answers.popitem(last=False)
        return page

    @property
    def answers_alongside(self) -> bool:
        """Whether the engine answers an `Alongside` query (this wrapper passes it on)."""
        return bool(getattr(self.backend, "answers_alongside", False))

    async def _ask(self, query: SearchQuery, alongside: Alongside | None) -> SearchPage:
        if alongside is None:
            return await self.backend.search(query)
        return await self.backend.search(query, alongside=alongside)

    async def ensure_index(self) -> None:
        await self.backend.ensure_index()
        await self._generation.advance()  # settings (synonyms, ranking) may have changed

    async def upsert(self, docs: list[SearchDoc]) -> None:
        try:
            await self.backend.upsert(docs)
        finally:  # a batch that failed part-way may still have changed the index
            await self._generation.advance()

    async def delete(self, ids: list[str]) -> None:
        try:
            await self.backend.delete(ids)
        finally:
            await self._generation.advance()

    async def reset(self) -> None:
        try:
            await self.backend.reset()
        finally:
            await self._generation.advance()

    async def ids(self) -> dict[str, int]:
        return await self.backend.ids()

    def __getattr__(self, name: str) -> Any:
        # Engine-specific extras (Meilisearch's rebuild-and-swap): the index changes
        # wholesale, so the generation moves once they finish.
        attribute = getattr(self.backend, name)
        if name != "rebuild" or not callable(attribute):
            return attribute

        async def rebuild(*args: Any, **kwargs: Any) -> Any:
            try:
                return await attribute(*args, **kwargs)
            finally:
                await self._generation.advance()

        return rebuild
