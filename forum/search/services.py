"""Searching on behalf of a member, and learning from what people look for."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tortoise import connections
from tortoise.functions import Count
from tortoise.timezone import now

from forum.accounts.models import User
from forum.caching import stamps
from forum.db import one_connection
from forum.mentoring.documents import space_principal
from forum.mentoring.queries import space_ids_of
from forum.search.models import SearchLog
from search_index.backend import (
    FACETS,
    Alongside,
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
    backend: SearchBackend, request: SearchRequest, viewer: User | None, *, per_page: int = 20,
    alongside: Alongside | None = None,
) -> SearchPage:
    """`request` on behalf of `viewer`; with `alongside`, asked of an engine that answers it."""
    query = SearchQuery(
        text=request.text, principals=await viewer_principals(viewer), filters=request.filters,
        facets=FACETS, sort=request.sort,  # type: ignore[arg-type]
        page=request.page, per_page=per_page,
    )
    if alongside is None:
        return await backend.search(query)
    return await backend.search(query, alongside=alongside)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Found:
    """What a results page shows: the search's answer, its hits still visible, and
    the topics' names (for labels)."""

    results: SearchPage
    visible: Visible
    topics: Mapping[str, str]


async def search_page(
    backend: SearchBackend, request: SearchRequest, viewer: User | None,
    topic_names: Callable[[], Awaitable[Mapping[str, str]]], *, per_page: int,
) -> Found:
    """A results page's search, its hits checked against the database and the topics'
    names. On PostgreSQL, one statement as a rule: the engine checks the hits in its
    search's statement (`Alongside`), or that one statement checks a remembered
    answer's; words this process has not met lately are looked up first, and a
    signed-in member's spaces read. On SQLite, the check follows the search. On one
    connection (`forum.db.one_connection`) when the engine searches in the database.

    The answer cache and the topics' names are kept under stamps: rather than read
    them first, the page assumes the values this process read last and confirms
    them in its last statement (`stamps.assume`). Should they have moved, the work
    is done again under the values just read. Raises SearchError.
    """
    # A remote engine (Meilisearch) would keep the held connection from the pool
    # for the length of its call, for one statement's saving.
    held = one_connection() if getattr(backend, "in_database", False) else nullcontext()
    async with held:
        async with stamps.assume(stamps.SEARCH_INDEX, stamps.CONTENT) as assumed:
            found = await _found(backend, request, viewer, topic_names, per_page, assumed.names)
        if assumed.holds(found.visible.stamps):
            return found
        async with assumed.again(found.visible.stamps):
            return await _found(backend, request, viewer, topic_names, per_page, ())


async def _found(
    backend: SearchBackend, request: SearchRequest, viewer: User | None,
    topic_names: Callable[[], Awaitable[Mapping[str, str]]], per_page: int,
    stamp_names: tuple[str, ...],
) -> Found:
    # The topics first: the stamps are confirmed in the last statement.
    topics = await topic_names()
    alongside = None
    if getattr(backend, "answers_alongside", False):
        alongside = Alongside(_ALONGSIDE_LIVE_POSTS, (list(stamp_names),))
    results = await run_search(backend, request, viewer, per_page=per_page, alongside=alongside)
    if results.alongside is not None:
        visible = _visible(results.hits, results.alongside, stamp_names)
    else:
        visible = await visible_hits(results.hits, stamp_names)
    return Found(results, visible, topics)


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


async def search_gaps(days: int = 90, limit: int = 50) -> list[tuple[str, int]]:
    """The most frequent queries that found nothing: the gaps in the network's know-how.

    Searches are logged in batches (`forum.search.log`): write this process's first.
    """
    rows = await SearchLog.filter(results=0, created_at__gte=now() - timedelta(days=days)).annotate(
        times=Count("id")
    ).group_by("query").order_by("-times", "query").limit(limit).values_list("query", "times")
    return [(query, times) for query, times in rows]


# Every search page asks which of its hits are still there: one statement of fixed
# text per database (the ids travel as one array), written out rather than built
# by the ORM, which cost about 1 ms of Python per page. Each half starts from its
# ids, never from every live post or thread (SQLite keeps the order of a CROSS JOIN).
# The same statement may read version stamps, as rows (version, NULL, NULL, name,
# NULL): the search page confirms in it the stamps it assumed (`stamps.assume`).
_LIVE_POSTS = """
    SELECT p.id, p.number, p.thread_id, t.title, t.slug
    FROM {posts} JOIN threads t ON t.id = p.thread_id
    WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL"""
# PostgreSQL: one look-up per id (LATERAL ... LIMIT 1 is never turned into a join
# the planner could start from the threads, as stale statistics once made it do).
# The arrays are read in sub-selects: a plan made knowing an array's length looks
# cheaper than the prepared statement's general one, so PostgreSQL would plan the
# statement again for every search (twice what running it costs).
_POSTGRES_LIVE = f"""
    SELECT found.* FROM unnest(POSTS) AS wanted(id), LATERAL (
        {_LIVE_POSTS.format(posts="posts p")} AND p.id = wanted.id LIMIT 1
    ) found
    UNION ALL
    SELECT found.* FROM unnest(THREADS) AS wanted(id), LATERAL (
        {_LIVE_POSTS.format(posts="posts p")} AND p.thread_id = wanted.id AND p.number = 1 LIMIT 1
    ) found
    UNION ALL
    SELECT s.version, NULL, NULL, s.name, NULL
    FROM unnest(NAMES) AS wanted(name) JOIN version_stamps s ON s.name = wanted.name"""
_POSTGRES_LIVE_POSTS = (
    _POSTGRES_LIVE.replace("POSTS", "(SELECT $1::bigint[])")
    .replace("THREADS", "(SELECT $2::bigint[])").replace("NAMES", "(SELECT $3::text[])")
)


def _numbers_of(prefix: str) -> str:
    """The numbers of the document ids "{prefix}-N" of a search's page, as a bigint[]."""
    return (f"(SELECT array_agg(substr(i, {len(prefix) + 2})::bigint) FROM unnest({{ids}}) i "
            f"WHERE i ~ '^{prefix}-[0-9]{{1,18}}$')")


# The same, in the statement of a search on PostgreSQL (`Alongside`): its page's
# document ids are {ids}, the stamps' names $1.
_ALONGSIDE_LIVE_POSTS = (
    _POSTGRES_LIVE.replace("POSTS", _numbers_of("post"))
    .replace("THREADS", _numbers_of("thread")).replace("NAMES", "(SELECT $1::text[])")
)
_SQLITE_LIVE_POSTS = (
    _LIVE_POSTS.format(posts="json_each(?) w CROSS JOIN posts p ON p.id = w.value")
    + "\nUNION ALL" + _LIVE_POSTS.format(
        posts="json_each(?) w CROSS JOIN posts p ON p.thread_id = w.value AND p.number = 1"
    )
    + """
    UNION ALL
    SELECT version, NULL, NULL, name, NULL FROM version_stamps
    WHERE name IN (SELECT value FROM json_each(?))"""
)


async def _live_posts(
    post_ids: list[int], thread_ids: list[int], stamp_names: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """(id, number, thread id, thread title, thread slug) of the live posts among
    `post_ids` and the live opening posts of `thread_ids`; (version, None, None,
    name, None) of the stamps `stamp_names`."""
    connection = connections.get("default")
    names = list(stamp_names)
    if connection.capabilities.dialect == "postgres":
        _, rows = await connection.execute_query(
            _POSTGRES_LIVE_POSTS, [post_ids, thread_ids, names]
        )
    else:
        _, rows = await connection.execute_query(
            _SQLITE_LIVE_POSTS, [json.dumps(post_ids), json.dumps(thread_ids), json.dumps(names)]
        )
    return [tuple(row) for row in rows]


def _reference(doc_id: str) -> tuple[str, int | None]:
    """("thread", 12) for "thread-12": the kind of row a document id names, and its id."""
    prefix, _, number = doc_id.partition("-")
    return prefix, int(number) if number.isdigit() else None


@dataclass(frozen=True)
class Visible:
    """The hits still visible in the database, and what else was read with them."""

    hits: list[SearchHit]
    threads: dict[str, tuple[str, str]]  # each reply's thread: (title, address), by hit id
    stamps: dict[str, int] = field(default_factory=dict)  # the stamps asked for


async def visible_hits(hits: list[SearchHit], stamp_names: tuple[str, ...] = ()) -> Visible:
    """The hits still visible in the database, and for replies their thread (title and
    address); with `stamp_names`, those stamps' current values, read in the same statement.

    The index catches up with a deletion a moment later (or, with the engine down,
    much later): until then a deleted thread or reply must not show. One query
    (none when there is nothing to check or read).
    """
    references = [_reference(hit.id) for hit in hits]
    thread_ids = {n for prefix, n in references if prefix == "thread" and n is not None}
    post_ids = {n for prefix, n in references if prefix == "post" and n is not None}
    if not (thread_ids or post_ids or stamp_names):
        return Visible(hits, {})
    rows = await _live_posts(sorted(post_ids), sorted(thread_ids), stamp_names)
    return _visible(hits, rows, stamp_names)


def _visible(
    hits: list[SearchHit], rows: Sequence[tuple[Any, ...]], stamp_names: tuple[str, ...]
) -> Visible:
    """`visible_hits` from the rows of its statement (`_live_posts`, or alongside a search)."""
    references = [_reference(hit.id) for hit in hits]
    read = stamps.read_rows(stamp_names, [(name, version) for version, number, _, name, _ in rows
                                           if number is None])
    posts = [row for row in rows if row[1] is not None]
    live_threads = {thread_id for _, number, thread_id, _, _ in posts if number == 1}
    replies = {
        post_id: (title, f"/t/{thread_id}/{slug}")
        for post_id, number, thread_id, title, slug in posts if number > 1
    }
    kept: list[SearchHit] = []
    threads: dict[str, tuple[str, str]] = {}
    for hit, (prefix, number) in zip(hits, references):
        if number is not None and prefix == "thread" and number not in live_threads:
            continue
        if number is not None and prefix == "post":
            if number not in replies:
                continue
            threads[hit.id] = replies[number]
        kept.append(hit)  # other kinds answer for themselves
    return Visible(kept, threads, read)
