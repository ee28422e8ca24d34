"""The SearchBackend protocol and the types every backend shares."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

Sort = Literal["relevance", "newest"]
# The attributes a query may filter on and ask facet counts for.
FACETS = ("kind", "topic", "tags", "stage", "sector", "solved")
MAX_QUERY_LENGTH = 200
PAGE_SIZE = 20


class SearchError(Exception):
    """A search backend failed."""


class BackendUnavailable(SearchError):
    """The engine could not be reached (connection refused, timeout)."""


class DocumentRejected(SearchError):
    """The engine refused one document: the indexer sets it aside with `reason`."""

    def __init__(self, doc_id: str, reason: str) -> None:
        super().__init__(f"{doc_id}: {reason}")
        self.doc_id = doc_id
        self.reason = reason


@dataclass(frozen=True)
class SearchDoc:
    """One searchable thing: a thread, a reply, a playbook, a mentor profile.

    `id` is "<kind>-<number>" ("thread-12", "post-345"). `acl` lists who may see it:
    "public", "space:3", "user:42"; a searcher sees a document when the two share a
    principal. `body` is plain text (no markup). `url` is where a hit links to.
    """

    id: str
    kind: str
    title: str
    body: str
    url: str
    acl: tuple[str, ...] = ("public",)
    tags: tuple[str, ...] = ()
    topic: str = ""
    stage: str = ""
    sector: str = ""
    solved: bool = False
    author: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True)
class SearchQuery:
    """What to search: words, who is asking, filters, facets, order and page.

    `principals` are the searcher's ACL principals (always including "public").
    `filters` maps a facet name to the accepted values (OR within a facet, AND
    across facets); "solved" takes "true"/"false".
    """

    text: str
    principals: tuple[str, ...] = ("public",)
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    facets: tuple[str, ...] = ()
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = PAGE_SIZE


@dataclass(frozen=True)
class SearchHit:
    """One result. `title` and `snippet` are HTML-escaped text with <mark> highlights."""

    id: str
    kind: str
    url: str
    title: str
    snippet: str
    topic: str = ""
    author: str = ""
    solved: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class Alongside:
    """A query of the application's own, answered in the statement of a search by an
    engine that searches in the application's PostgreSQL database (`answers_alongside`):
    what the application checks about a page of hits then costs no round trip of its own.

    `sql` selects rows of five columns (bigint, bigint, bigint, text, text). In it,
    ``{ids}`` stands for the ids of the page's documents (a text[]), and $1, $2...
    for `values` (the engine numbers them after its own: no other ``$`` may appear).

    An engine that takes one says so with a true `answers_alongside`, and so must a
    wrapper around it (`search_index.cache.CachingBackend`).
    """

    sql: str
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    total_is_exact: bool = True
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    did_you_mean: str | None = None
    page: int = 1
    per_page: int = PAGE_SIZE
    # The rows of an `Alongside` query about exactly these hits; None when it was not
    # answered (not asked, another engine, a remembered answer, a page past the newest
    # matches, or a "did you mean" looked up after the statement).
    alongside: tuple[tuple[Any, ...], ...] | None = None


@runtime_checkable
class SearchBackend(Protocol):
    """What every search engine adapter provides. All methods are async."""

    async def ensure_index(self) -> None:
        """Create the index and apply its settings; safe to call at every start."""

    async def upsert(self, docs: list[SearchDoc]) -> None:
        """Add or replace documents by id. Raises DocumentRejected for a bad one."""

    async def delete(self, ids: list[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    async def search(self, query: SearchQuery) -> SearchPage:
        """Run a query; never returns a document the principals may not see."""

    async def ids(self) -> dict[str, int]:
        """Every indexed id with its version, for verify and reindex."""

    async def reset(self) -> None:
        """Remove every document (keeping the settings)."""


def content_version(doc: SearchDoc) -> int:
    """A checksum of everything a document says, for `verify` to spot stale entries."""
    fields = (
        doc.kind, doc.title, doc.body, doc.url, doc.acl, doc.tags, doc.topic, doc.stage,
        doc.sector, doc.solved, doc.author, doc.created_at, doc.updated_at,
    )
    return zlib.crc32(repr(fields).encode("utf-8"))
