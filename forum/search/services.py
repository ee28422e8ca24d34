"""Searching on behalf of a member, and learning from what people look for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.timezone import now

from forum.accounts.models import User
from forum.mentoring.documents import space_principal
from forum.mentoring.queries import space_ids_of
from forum.search.models import SearchLog
from forum.threads.models import Post
from search_index.backend import (
    FACETS,
    MAX_QUERY_LENGTH,
    SearchBackend,
    SearchHit,
    SearchPage,
    SearchQuery,
)

KINDS = {
    "question": "Questions", "discussion": "Discussions", "reply": "Replies",
    "playbook": "Playbooks", "message": "Mentorship messages",
}
SOLVED = {"true": "Solved", "false": "Not solved yet"}


def principals(viewer: User | None, space_ids: Iterable[int] = ()) -> tuple[str, ...]:
    """What the viewer may see: public content, plus their own private things and the
    mentorship spaces they take part in."""
    if viewer is None:
        return ("public",)
    return ("public", f"user:{viewer.id}", *(space_principal(i) for i in sorted(space_ids)))


async def viewer_principals(viewer: User | None) -> tuple[str, ...]:
    """`principals` with the viewer's spaces read from the database (one query when signed in)."""
    if viewer is None:
        return principals(None)
    return principals(viewer, await space_ids_of(viewer.id))


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
            text=request.text, principals=await viewer_principals(viewer), filters=request.filters,
            facets=FACETS, sort=request.sort,  # type: ignore[arg-type]
            page=request.page, per_page=per_page,
        )
    )


# Words a new question's title shares with any other ("How do we...?"): left out
# when looking for similar questions, so that the words that matter decide.
_COMMON_WORDS = frozenset("""
    about any anyone are been can could did does doing for from get got had has have
    how into its not our ours should than that the their them there these they this
    was were what when where which who why will with would you your
""".split())
MAX_SIMILAR_WORDS = 6


async def similar_questions(backend: SearchBackend, title: str, viewer: User | None) -> SearchPage:
    """Threads that may already answer a question being typed."""
    return await related_by_search(backend, title, ("question", "discussion"), viewer)


async def related_by_search(
    backend: SearchBackend, text: str, kinds: tuple[str, ...], viewer: User | None,
    per_page: int = 5,
) -> SearchPage:
    """Documents of `kinds` on the subject of `text` (a title), best first."""
    words = re.findall(r"\w{3,}", text.lower())
    if len(words) < 2:
        return SearchPage(hits=[], total=0)
    significant = list(dict.fromkeys(w for w in words if w not in _COMMON_WORDS))[:MAX_SIMILAR_WORDS]
    # Every backend matches all the words, but a related title is rarely worded the
    # same: drop words from the end until something matches (Meilisearch's
    # "last" matching strategy), down to two words.
    page = SearchPage(hits=[], total=0)
    allowed = await viewer_principals(viewer)
    for end in range(len(significant), min(2, len(significant)) - 1, -1):
        page = await backend.search(
            SearchQuery(
                text=" ".join(significant[:end]), principals=allowed,
                filters={"kind": kinds}, per_page=per_page,
            )
        )
        if page.hits:
            break
    return page


async def log_search(text: str, results: int) -> None:
    """Remember the query and its result count: no member, address or session."""
    # People sometimes type an address into a search box: never keep one.
    text = _EMAIL.sub("[email]", text).lower()
    if text:
        await SearchLog.create(query=text, results=results)


_EMAIL = re.compile(r"\S+@\S+")


async def search_gaps(days: int = 90, limit: int = 50) -> list[tuple[str, int]]:
    """The most frequent queries that found nothing: the gaps in the network's know-how."""
    rows = await SearchLog.filter(results=0, created_at__gte=now() - timedelta(days=days)).annotate(
        times=Count("id")
    ).group_by("query").order_by("-times", "query").limit(limit).values_list("query", "times")
    return [(query, times) for query, times in rows]


def _number(doc_id: str, kind: str) -> int | None:
    prefix, _, number = doc_id.partition("-")
    return int(number) if prefix == kind and number.isdigit() else None


async def visible_hits(hits: list[SearchHit]) -> tuple[list[SearchHit], dict[str, tuple[str, str]]]:
    """The hits still visible in the database, and for replies their thread (title and address).

    The index catches up with a deletion a moment later (or, with the engine down,
    much later): until then a deleted thread or reply must not show. One query.
    """
    thread_ids = {n for hit in hits if (n := _number(hit.id, "thread")) is not None}
    post_ids = {n for hit in hits if (n := _number(hit.id, "post")) is not None}
    if not (thread_ids or post_ids):
        return hits, {}
    # Only the non-empty parts: an empty IN becomes "1=0 OR ...", which SQLite
    # answers by scanning every post.
    parts = ([Q(id__in=post_ids)] if post_ids else []) + (
        [Q(thread_id__in=thread_ids, number=1)] if thread_ids else []
    )
    rows = await Post.filter(
        Q(*parts, join_type="OR"), deleted_at=None, thread__deleted_at=None,
    ).values_list("id", "number", "thread_id", "thread__title", "thread__slug")
    live_threads = {thread_id for _, number, thread_id, _, _ in rows if number == 1}
    replies = {
        post_id: (title, f"/t/{thread_id}/{slug}")
        for post_id, number, thread_id, title, slug in rows if number > 1
    }

    def still_there(hit: SearchHit) -> bool:
        if (number := _number(hit.id, "thread")) is not None:
            return number in live_threads
        if (number := _number(hit.id, "post")) is not None:
            return number in replies
        return True  # other kinds answer for themselves

    kept = [hit for hit in hits if still_there(hit)]
    threads = {hit.id: replies[n] for hit in kept if (n := _number(hit.id, "post")) in replies}
    return kept, threads
