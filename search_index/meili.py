"""The Meilisearch backend: the official client, which is synchronous, run in worker threads.

Every blocking call goes through `anyio.to_thread.run_sync`. Each operation
builds its own `Index` handle: the client's `HttpRequests` rewrites a shared
headers dict on every request (Content-Type set or popped), so two threads must
never share one.

Meilisearch answers writes with a task and `wait_for_task` returns failed tasks
without raising: every task is checked, and only `succeeded` counts. One bad
document id fails a whole batch, so ids are checked before anything is sent.

`rebuild()` (an optional capability beyond `SearchBackend`) fills a fresh index
beside the live one and swaps the two, so searches keep answering from the old
index until the new one is complete.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import meilisearch
import pydantic
import requests
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)
from meilisearch.index import Index
from meilisearch.models.task import Task, TaskInfo

from search_index import synonyms
from search_index.backend import (
    FACETS,
    MAX_QUERY_LENGTH,
    BackendUnavailable,
    DocumentRejected,
    SearchDoc,
    SearchError,
    SearchHit,
    SearchPage,
    SearchQuery,
)
from search_index.documents import check_id, id_problem
from search_index.highlight import ELLIPSIS, SNIPPET_WORDS

T = TypeVar("T")

PRIMARY_KEY = "id"
SEARCHABLE_ATTRIBUTES = ("title", "tags", "body")  # in ranking order
FILTERABLE_ATTRIBUTES = ("acl", *FACETS)
SORTABLE_ATTRIBUTES = ("created_at",)
# The documented default order, with `sort` first: "newest" is then a true date
# order among the matches, and relevance is untouched when no sort is asked for.
RANKING_RULES = (
    "sort", "words", "typo", "proximity", "attributeRank", "wordPosition", "exactness",
)
# Everything but `acl`: who may see a document is never sent back.
DISPLAYED_ATTRIBUTES = (
    "id", "kind", "title", "body", "url", "tags", "topic", "stage", "sector",
    "solved", "author", "created_at", "updated_at", "version",
)
RETRIEVED_ATTRIBUTES = ("id", "kind", "url", "title", "topic", "author", "solved", "created_at")
MATCHING_STRATEGY = "all"  # every word must match, like the embedded backends

_INDEX_UID = re.compile(r"[A-Za-z0-9_-]{1,400}")
# A rebuild's temporary index: "<uid>__rebuild_<UTC timestamp to the microsecond>".
REBUILD_SEPARATOR = "__rebuild_"
# Task error codes that blame one document rather than the request.
DOCUMENT_ERROR_CODES = frozenset({
    "invalid_document_id", "missing_document_id", "invalid_document_fields",
    "invalid_document_geo_field", "invalid_document_geojson_field",
    "invalid_vectors_type", "invalid_vector_dimensions", "max_fields_limit_exceeded",
})
# A proxy in front of Meilisearch answering for a server that is down or restarting.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class MeiliBackend:
    """`SearchBackend` over one Meilisearch index.

    Pagination uses `page`/`hitsPerPage`, so totals are exhaustive counts up to
    the index's `pagination.maxTotalHits` (`max_total_hits`); a total that
    reaches it is reported as not exact. `client` replaces the client built from
    `url` and `api_key`.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        index_uid: str = "mutuals",
        *,
        client: meilisearch.Client | None = None,
        batch_size: int = 1000,
        request_timeout: int = 10,
        task_timeout: float = 120.0,
        max_total_hits: int = 1000,
    ) -> None:
        if not _INDEX_UID.fullmatch(index_uid):
            raise ValueError(f"Invalid Meilisearch index uid: {index_uid!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url
        self.index_uid = index_uid
        self._client = client or meilisearch.Client(url, api_key, timeout=request_timeout)
        self._batch_size = batch_size
        self._task_timeout_ms = int(task_timeout * 1000)
        self._max_total_hits = max_total_hits
        # Unguessable, and untouched by HTML escaping: stored text cannot forge a <mark>.
        token = secrets.token_hex(8)
        self._pre_tag = f"\ue000{token}\ue001"
        self._post_tag = f"\ue002{token}\ue003"

    # -- index and settings -------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The index settings `ensure_index()` applies (PATCH /indexes/{uid}/settings)."""
        return {
            "searchableAttributes": list(SEARCHABLE_ATTRIBUTES),
            "filterableAttributes": list(FILTERABLE_ATTRIBUTES),
            "sortableAttributes": list(SORTABLE_ATTRIBUTES),
            "displayedAttributes": list(DISPLAYED_ATTRIBUTES),
            "rankingRules": list(RANKING_RULES),
            "typoTolerance": {
                "enabled": True,
                "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
            },
            "synonyms": synonyms.meilisearch_synonyms(),  # the shared glossary, both ways
            "pagination": {"maxTotalHits": self._max_total_hits},
            "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "count"}},
        }

    async def ensure_index(self) -> None:
        """Create the index (primary key `id`) if missing, then apply `settings()`."""
        await self._run(self._ensure_index)

    def _ensure_index(self) -> None:
        try:
            existing = self._client.get_index(self.index_uid)
        except MeilisearchApiError as err:
            if err.code != "index_not_found":
                raise
            # Another process may have created it first: that is success too.
            self._create_index(self.index_uid, exist_ok=True)
        else:
            if existing.primary_key is None:
                _check(self._wait(existing, existing.update(primary_key=PRIMARY_KEY)))
            elif existing.primary_key != PRIMARY_KEY:
                raise SearchError(
                    f"Index {self.index_uid!r} has primary key {existing.primary_key!r}, "
                    f"not {PRIMARY_KEY!r}: reindex into a new index."
                )
        self._apply_settings(self.index_uid)

    def _create_index(self, uid: str, *, exist_ok: bool = False) -> None:
        info = self._client.create_index(uid, {"primaryKey": PRIMARY_KEY})
        task = self._wait(self._index(uid), info)
        if not (exist_ok and (task.error or {}).get("code") == "index_already_exists"):
            _check(task)

    def _apply_settings(self, uid: str) -> None:
        index = self._index(uid)
        _check(self._wait(index, index.update_settings(self.settings())))

    # -- writes ---------------------------------------------------------------

    async def upsert(self, docs: list[SearchDoc]) -> None:
        """Add or replace documents in batches; nothing is sent if any id is invalid."""
        for doc in docs:
            check_id(doc.id)
        payload = [to_document(doc) for doc in docs]
        for batch in _chunks(payload, self._batch_size):
            await self._run(self._add_batch, batch)

    def _add_batch(self, batch: list[dict[str, Any]], uid: str | None = None) -> None:
        index = self._index(uid)
        task = self._wait(index, index.add_documents(batch))
        _check(task, [doc[PRIMARY_KEY] for doc in batch])

    async def delete(self, ids: list[str]) -> None:
        """Delete by id; ids Meilisearch could never have accepted are skipped."""
        wanted = [doc_id for doc_id in dict.fromkeys(ids) if not id_problem(doc_id)]
        for batch in _chunks(wanted, self._batch_size):
            await self._run(self._delete_batch, batch)

    def _delete_batch(self, batch: list[str]) -> None:
        index = self._index()
        # The documented POST .../documents/delete-batch route, through the client's
        # own transport: `Index.delete_documents(ids)` sends the same request but
        # emits a DeprecationWarning (it wants filters, and `id` is not filterable).
        paths = index.config.paths
        route = f"{paths.index}/{self.index_uid}/{paths.document}/delete-batch"
        response = index.http.post(route, batch)
        _check(self._wait(index, TaskInfo(**response)))

    async def reset(self) -> None:
        """Delete every document; the index and its settings stay."""
        await self._run(self._reset)

    def _reset(self) -> None:
        index = self._index()
        _check(self._wait(index, index.delete_all_documents()))

    # -- rebuilding without downtime -------------------------------------------

    async def rebuild(
        self, batches: AsyncIterator[list[SearchDoc]], progress: Callable[[str], object]
    ) -> int:
        """Index `batches` into a fresh index, then swap it in for the live one.

        The new index `{uid}__rebuild_{timestamp}` gets the same primary key and
        settings, and every document, batch by batch, each task checked (a bad id
        raises DocumentRejected before anything of its batch is sent, as in
        `upsert`). Then POST /swap-indexes exchanges it with the live index (created
        empty first if missing, so the swap has two sides), and the old contents,
        now under the temporary name, are deleted. Searches are answered by the old
        index until the swap. On any failure before the swap completes the
        temporary index is deleted and the error raised: the live index is as it
        was. Returns the number of documents indexed.
        """
        temp = self.rebuild_uid()
        await self._run(self._ensure_live_index)
        count = 0
        try:
            progress(f"  building a new index {temp!r} beside {self.index_uid!r}")
            await self._run(self._create_index, temp)
            await self._run(self._apply_settings, temp)
            async for docs in batches:
                for doc in docs:
                    check_id(doc.id)
                payload = [to_document(doc) for doc in docs]
                for batch in _chunks(payload, self._batch_size):
                    await self._run(self._add_batch, batch, temp)
                count += len(docs)
                progress(f"  indexed {count:,} documents")
            await self._run(self._swap, temp)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abandon(temp, batches, progress)
            raise
        progress(f"  swapped the new index in as {self.index_uid!r}")
        try:
            await self._run(self._delete_index, temp)
        except SearchError as err:  # the rebuild itself succeeded: say so, and what is left
            progress(f"  warning: the old index, now {temp!r}, could not be deleted: {err}")
        else:
            progress("  deleted the old index")
        return count

    def rebuild_uid(self) -> str:
        """A new temporary index uid for `rebuild()`."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        uid = f"{self.index_uid}{REBUILD_SEPARATOR}{stamp}"
        if not _INDEX_UID.fullmatch(uid):
            raise SearchError(f"Index uid {self.index_uid!r} is too long to rebuild beside")
        return uid

    def _ensure_live_index(self) -> None:
        try:
            self._client.get_index(self.index_uid)
        except MeilisearchApiError as err:
            if err.code != "index_not_found":
                raise
            self._create_index(self.index_uid, exist_ok=True)
            self._apply_settings(self.index_uid)

    def _swap(self, temp: str) -> None:
        # The client's `swap_indexes` would use the client's shared transport (see the
        # module docstring): the same request goes through a fresh handle's.
        index = self._index()
        response = index.http.post(
            index.config.paths.swap, [{"indexes": [self.index_uid, temp]}]
        )
        _check(self._wait(index, TaskInfo(**response)))

    def _delete_index(self, uid: str, *, missing_ok: bool = False) -> None:
        index = self._index(uid)
        try:
            info = index.delete()
        except MeilisearchApiError as err:
            if missing_ok and err.code == "index_not_found":
                return
            raise
        task = self._wait(index, info)
        if not (missing_ok and (task.error or {}).get("code") == "index_not_found"):
            _check(task)

    async def _abandon(
        self, temp: str, batches: AsyncIterator[list[SearchDoc]],
        progress: Callable[[str], object],
    ) -> None:
        """After a failed rebuild: delete the temporary index, close the source."""
        aclose = getattr(batches, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # noqa: BLE001 - the rebuild's own error is the one to raise
                pass
        try:
            await self._run(partial(self._delete_index, temp, missing_ok=True))
        except SearchError as err:
            progress(f"  warning: the unfinished index {temp!r} could not be deleted: {err}")
        else:
            progress(f"  rebuild abandoned: {temp!r} deleted, {self.index_uid!r} left as it was")

    # -- reads ----------------------------------------------------------------

    async def ids(self) -> dict[str, int]:
        """Every indexed id with its version, fetched a page at a time."""
        return await self._run(self._ids)

    def _ids(self) -> dict[str, int]:
        index = self._index()
        found: dict[str, int] = {}
        offset = 0
        while True:
            page = index.get_documents(
                {"fields": [PRIMARY_KEY, "version"], "limit": self._batch_size, "offset": offset}
            )
            for document in page.results:
                values = dict(document)
                found[str(values[PRIMARY_KEY])] = int(values.get("version") or 0)
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return found

    async def search(self, query: SearchQuery) -> SearchPage:
        """Search within what `query.principals` may see; highlights come back escaped."""
        page, per_page = max(1, query.page), max(1, query.per_page)
        bodies = self.search_requests(query)
        if not bodies:
            return SearchPage(hits=[], total=0, page=page, per_page=per_page)
        responses = await self._run(self._search, bodies)
        return self._page(responses, requested_facets(query), page, per_page)

    def search_requests(self, query: SearchQuery) -> list[dict[str, Any]]:
        """The bodies of POST /indexes/{uid}/search that answer `query`.

        None for empty and punctuation-only queries, or a searcher with no
        principals: those never reach the server. The first body asks for the
        page, and for the counts of facets nobody filters on. A facet's counts
        follow every filter but its own (a chosen topic still shows the other
        topics), so each filtered facet gets a count-only request without its
        own filter; every request carries the ACL filter.
        """
        text = query.text[:MAX_QUERY_LENGTH].strip()
        if not any(ch.isalnum() for ch in text) or not query.principals:
            return []
        facets = requested_facets(query)
        filtered = [facet for facet in facets if query.filters.get(facet)]
        main: dict[str, Any] = {
            "q": text,
            "filter": build_filter(query.principals, query.filters),
            "page": max(1, query.page),
            "hitsPerPage": max(1, query.per_page),
            "attributesToRetrieve": list(RETRIEVED_ATTRIBUTES),
            "attributesToHighlight": ["title", "body"],
            "attributesToCrop": ["body"],
            "cropLength": SNIPPET_WORDS,
            "cropMarker": ELLIPSIS,
            "highlightPreTag": self._pre_tag,
            "highlightPostTag": self._post_tag,
            "matchingStrategy": MATCHING_STRATEGY,
        }
        if len(filtered) < len(facets):
            main["facets"] = [facet for facet in facets if facet not in filtered]
        if query.sort == "newest":
            main["sort"] = ["created_at:desc"]
        counts = [
            {
                "q": text,
                "filter": build_filter(
                    query.principals, {k: v for k, v in query.filters.items() if k != facet}
                ),
                "facets": [facet],
                "limit": 0,
                "matchingStrategy": MATCHING_STRATEGY,
            }
            for facet in filtered
        ]
        return [main, *counts]

    def _search(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        index = self._index()
        return [index.search(body["q"], body) for body in bodies]

    def _page(
        self, responses: list[dict[str, Any]], facets: list[str], page: int, per_page: int
    ) -> SearchPage:
        main = responses[0]
        hits = [self._hit(raw) for raw in main.get("hits") or []]
        if "totalHits" in main:
            total = int(main["totalHits"])
            exact = total < self._max_total_hits
        else:  # offset/limit mode: Meilisearch only estimates
            total, exact = int(main.get("estimatedTotalHits") or len(hits)), False
        distribution: dict[str, Any] = {}
        for response in responses:
            distribution.update(response.get("facetDistribution") or {})
        counts = {
            facet: {str(value): int(n) for value, n in (distribution.get(facet) or {}).items()}
            for facet in facets
        }
        return SearchPage(
            hits=hits, total=total, total_is_exact=exact, facets=counts,
            page=page, per_page=per_page,
        )

    def _hit(self, raw: Mapping[str, Any]) -> SearchHit:
        formatted = raw.get("_formatted") or {}
        created = raw.get("created_at")
        return SearchHit(
            id=str(raw[PRIMARY_KEY]),
            kind=str(raw.get("kind") or ""),
            url=str(raw.get("url") or ""),
            title=self._marked(formatted.get("title", raw.get("title"))),
            snippet=self._marked(formatted.get("body")),
            topic=str(raw.get("topic") or ""),
            author=str(raw.get("author") or ""),
            solved=bool(raw.get("solved")),
            created_at=(
                datetime.fromtimestamp(created, UTC)
                if isinstance(created, int | float) and not isinstance(created, bool)
                else None
            ),
        )

    def _marked(self, value: Any) -> str:
        """Formatted text from Meilisearch (unescaped) as HTML with <mark> highlights."""
        text = html.escape("" if value is None else str(value), quote=True)
        if text.count(self._pre_tag) != text.count(self._post_tag):
            return text.replace(self._pre_tag, "").replace(self._post_tag, "")
        return text.replace(self._pre_tag, "<mark>").replace(self._post_tag, "</mark>")

    # -- plumbing -------------------------------------------------------------

    def _index(self, uid: str | None = None) -> Index:
        # No request; a fresh handle (and transport) per call, never shared by threads.
        return self._client.index(uid or self.index_uid)

    def _wait(self, index: Index, info: TaskInfo) -> Task:
        return index.wait_for_task(info.task_uid, timeout_in_ms=self._task_timeout_ms)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(partial(_translated, function, *args))


def _translated(function: Callable[..., T], *args: Any) -> T:
    """Call the client, turning its exceptions into the backend's."""
    try:
        return function(*args)
    except (MeilisearchTimeoutError, requests.Timeout) as err:
        raise BackendUnavailable(f"Meilisearch did not answer in time: {err}") from err
    except (MeilisearchCommunicationError, requests.ConnectionError) as err:
        raise BackendUnavailable(f"Meilisearch is unreachable: {err}") from err
    except MeilisearchApiError as err:
        if err.status_code in UNAVAILABLE_STATUSES:
            raise BackendUnavailable(f"Meilisearch is unavailable ({err.status_code})") from err
        raise SearchError(f"Meilisearch refused the request: {err.message}") from err
    except (requests.RequestException, pydantic.ValidationError) as err:
        raise SearchError(f"Unexpected answer from Meilisearch: {err}") from err


def _check(task: Task, batch_ids: Sequence[str] = ()) -> None:
    """Raise unless the task succeeded; blame the document when the error names one."""
    if task.status == "succeeded":
        return
    error = task.error or {}
    message = str(error.get("message") or f"task ended as {task.status}")
    if error.get("code") in DOCUMENT_ERROR_CODES:
        doc_id = _blamed_document(message, batch_ids)
        if doc_id is not None:
            raise DocumentRejected(doc_id, message)
    raise SearchError(f"Meilisearch task {task.uid} ({task.type}) {task.status}: {message}")


def _blamed_document(message: str, batch_ids: Sequence[str]) -> str | None:
    if len(batch_ids) == 1:
        return batch_ids[0]
    # Ids are [A-Za-z0-9_-]+, so these boundaries keep "post-1" from matching "post-12".
    for doc_id in sorted(set(batch_ids), key=len, reverse=True):
        if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(doc_id)}(?![A-Za-z0-9_-])", message):
            return doc_id
    return None


def to_document(doc: SearchDoc) -> dict[str, Any]:
    """A SearchDoc as JSON: datetimes as epoch seconds, tuples as lists."""
    return {field.name: _jsonable(getattr(doc, field.name)) for field in fields(SearchDoc)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # naive datetimes are taken as UTC
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def quote_filter_value(value: str) -> str:
    """A double-quoted filter value: backslashes and quotes escaped, as the parser unescapes."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(principals: Sequence[str], filters: Mapping[str, Sequence[str]]) -> str:
    """The ACL clause, always first, then each facet: OR within a facet, AND across them."""
    def one_of(attribute: str, values: Sequence[str] | str) -> str:
        values = (values,) if isinstance(values, str) else values
        quoted = ", ".join(quote_filter_value(v) for v in dict.fromkeys(values))
        return f"{attribute} IN [{quoted}]"

    clauses = [one_of("acl", principals)]
    clauses += [one_of(facet, filters[facet]) for facet in FACETS if filters.get(facet)]
    return " AND ".join(clauses)


def requested_facets(query: SearchQuery) -> list[str]:
    return [facet for facet in dict.fromkeys(query.facets) if facet in FACETS]


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
