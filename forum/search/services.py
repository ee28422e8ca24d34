"""Searching on behalf of a member, and learning from what people look for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from tortoise.functions import Count
from tortoise.timezone import now

from forum.accounts.models import User
from forum.search.models import SearchLog
from forum.threads.models import Thread
from search_index.backend import (
    FACETS,
    MAX_QUERY_LENGTH,
    SearchBackend,
    SearchHit,
    SearchPage,
    SearchQuery,
)

KINDS = {"question": "Questions", "discussion": "Discussions", "reply": "Replies"}
SOLVED = {"true": "Solved", "false": "Not solved yet"}


def principals(viewer: User | None) -> tuple[str, ...]:
    """What the viewer may see: public content, plus their own private things."""
    return ("public",) if viewer is None else ("public", f"user:{viewer.id}")


def normalise(text: str) -> str:
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


@dataclass(frozen=True)
class SearchRequest:
    text: str
    filters: dict[str, tuple[str, ...]]
    sort: str
    page: int


def search_request(params: dict[str, list[str]], page: int) -> SearchRequest:
    """A search from query-string values; unknown filters and sorts are ignored."""
    filters = {}
    for name in FACETS:
        values = tuple(dict.fromkeys(v for v in params.get(name, []) if v))[:10]
        if values:
            filters[name] = values
    sort = params.get("sort", ["relevance"])[0]
    return SearchRequest(
        text=normalise((params.get("q") or [""])[0]), filters=filters,
        sort=sort if sort in ("relevance", "newest") else "relevance", page=page,
    )


async def run_search(
    backend: SearchBackend, request: SearchRequest, viewer: User | None, *, per_page: int = 20
) -> SearchPage:
    return await backend.search(
        SearchQuery(
            text=request.text, principals=principals(viewer), filters=request.filters,
            facets=FACETS, sort=request.sort,  # type: ignore[arg-type]
            page=request.page, per_page=per_page,
        )
    )


async def similar_questions(backend: SearchBackend, title: str, viewer: User | None) -> SearchPage:
    """Threads that may already answer a question being typed."""
    words = re.findall(r"\w{3,}", title)
    if len(words) < 2:
        return SearchPage(hits=[], total=0)
    return await backend.search(
        SearchQuery(
            text=normalise(title), principals=principals(viewer),
            filters={"kind": ("question", "discussion")}, per_page=5,
        )
    )


async def log_search(text: str, results: int) -> None:
    """Remember the query and its result count: no member, address or session."""
    if text:
        await SearchLog.create(query=text.lower(), results=results)


async def search_gaps(days: int = 90, limit: int = 50) -> list[tuple[str, int]]:
    """The most frequent queries that found nothing: the gaps in the network's know-how."""
    rows = await SearchLog.filter(results=0, created_at__gte=now() - timedelta(days=days)).annotate(
        times=Count("id")
    ).group_by("query").order_by("-times", "query").limit(limit).values_list("query", "times")
    return [(query, times) for query, times in rows]


_THREAD_URL = re.compile(r"^/t/(\d+)/")


async def thread_titles(hits: list[SearchHit]) -> dict[str, tuple[str, str]]:
    """For reply hits: the thread each belongs to (title and address), in one query."""
    wanted = {hit.id: int(m.group(1)) for hit in hits if hit.kind == "reply" and (m := _THREAD_URL.match(hit.url))}
    if not wanted:
        return {}
    rows = await Thread.filter(id__in=set(wanted.values()), deleted_at=None).values_list("id", "title", "slug")
    found = {thread_id: (title, f"/t/{thread_id}/{slug}") for thread_id, title, slug in rows}
    return {hit_id: found[thread_id] for hit_id, thread_id in wanted.items() if thread_id in found}
