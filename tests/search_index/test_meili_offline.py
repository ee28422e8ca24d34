"""The Meilisearch backend, offline: real client, real HTTP, no search engine.

No Meilisearch server can run here. These tests run the real `meilisearch.Client`
over real HTTP against `RecordingStub`, a tiny server on 127.0.0.1 that is NOT a
search engine and tests nothing about ranking or matching: it never computes
results. It answers each route with a canned response in the shape Meilisearch's
OpenAPI document gives (built from the document's examples, and checked against
its schemas before being served) and records every request. After each test,
every recorded request is checked against the document.

What a real server does with these requests is the contract suite's job
(tests/contract, run whenever MEILI_URL is set).
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from search_index.backend import (
    MAX_QUERY_LENGTH,
    BackendUnavailable,
    DocumentRejected,
    SearchDoc,
    SearchError,
    SearchQuery,
)
from search_index.meili import MeiliBackend, build_filter
from search_index.synonyms import meilisearch_synonyms
from tests.search_index.meili_openapi import OPENAPI_PATH, MeiliOpenAPI, NotDocumented

pytestmark = pytest.mark.skipif(
    not OPENAPI_PATH.exists(),
    reason=f"Meilisearch's OpenAPI document is absent ({OPENAPI_PATH}): offline checks skipped",
)

INDEX = "mkn_test"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    body: Any


@dataclass
class RecordingStub:
    """Canned, documented answers per route; records what the client sent."""

    api: MeiliOpenAPI
    url: str = ""
    index_exists: bool = True
    index_primary_key: str | None = "id"
    documents: list[dict[str, Any]] = field(default_factory=list)  # served by /documents/fetch
    search_answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    search_error: tuple[int, dict[str, Any]] | None = None
    failing_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task type -> error
    stuck_tasks: bool = False
    requests: list[Recorded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # task uid -> (type, index uid, polls)
    _tasks: dict[int, tuple[str, str | None, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> tuple[int, Any]:
        url = urlsplit(raw_path)
        try:
            body = json.loads(raw_body) if raw_body else None
            with self._lock:
                self.requests.append(Recorded(
                    method, url.path, parse_qs(url.query), headers.get("Content-Type"), body,
                ))
            template = self.api.template_for(url.path)
            status, answer = self._route(method.lower(), template, url.path, body)
        except Exception as error:  # noqa: BLE001 - reported by the test, not swallowed
            self.problems.append(f"{method} {raw_path}: {error!r}")
            return 500, {"message": "stub failure"}
        if status != 503:  # 503 stands for a proxy in front of Meilisearch, not Meilisearch
            try:
                self.api.validate_response(method, url.path, status, answer)
            except NotDocumented as error:
                self.problems.append(f"undocumented canned response: {error}")
        return status, answer

    def _route(self, method: str, template: str, path: str, body: Any) -> tuple[int, Any]:
        if (method, template) == ("get", "/indexes/{index_uid}"):
            if not self.index_exists:
                return 404, self._not_found()
            index = self.api.example("get", template, 200)
            return 200, {**index, "uid": index_uid(path), "primaryKey": self.index_primary_key}
        if (method, template) == ("get", "/tasks/{task_id}"):
            return 200, self._task_view(int(path.rsplit("/", 1)[1]))
        if (method, template) == ("post", "/indexes/{index_uid}/search"):
            if self.search_error:
                return self.search_error
            assert self.search_answer is not None, "the test gave no search answer"
            return 200, self.search_answer(body)
        if (method, template) == ("post", "/indexes/{index_uid}/documents/fetch"):
            # A page of the canned list, sliced as asked: no filtering, no sorting.
            offset, limit = body.get("offset", 0), body.get("limit", 20)
            page = [{k: d[k] for k in body["fields"] if k in d} for d in self.documents]
            return 200, {
                "results": page[offset:offset + limit], "offset": offset, "limit": limit,
                "total": len(self.documents),
            }
        task_types = {
            ("post", "/indexes"): "indexCreation",
            ("patch", "/indexes/{index_uid}"): "indexUpdate",
            ("patch", "/indexes/{index_uid}/settings"): "settingsUpdate",
            ("post", "/indexes/{index_uid}/documents"): "documentAdditionOrUpdate",
            ("post", "/indexes/{index_uid}/documents/delete-batch"): "documentDeletion",
            ("delete", "/indexes/{index_uid}/documents"): "documentDeletion",
            ("delete", "/indexes/{index_uid}"): "indexDeletion",
            ("post", "/swap-indexes"): "indexSwap",
        }
        if (method, template) in task_types:
            uid = body["uid"] if template == "/indexes" else index_uid(path)
            return 202, self._enqueue(method, template, task_types[method, template], uid)
        raise AssertionError(f"no canned answer for {method.upper()} {template}")

    def _enqueue(
        self, method: str, template: str, task_type: str, index: str | None
    ) -> dict[str, Any]:
        with self._lock:
            uid = len(self._tasks)
            self._tasks[uid] = (task_type, index, 0)
        summary = self.api.example(method, template, 202)
        return {**summary, "taskUid": uid, "indexUid": index, "type": task_type}

    def _task_view(self, uid: int) -> dict[str, Any]:
        with self._lock:
            task_type, index, polls = self._tasks[uid]
            self._tasks[uid] = (task_type, index, polls + 1)
        view = {**self.api.example("get", "/tasks/{task_id}", 200), "uid": uid,
                "indexUid": index, "type": task_type}
        if polls == 0 or self.stuck_tasks:  # first poll: still enqueued, as the server says
            return {**view, "status": "enqueued", "startedAt": None, "finishedAt": None,
                    "duration": None}
        if task_type in self.failing_tasks:
            return {**view, "status": "failed", "error": self.failing_tasks[task_type]}
        return view  # the documented example is a succeeded task

    def _not_found(self) -> dict[str, Any]:
        example = self.api.example("get", "/indexes/{index_uid}", 404)
        return {**example, "message": f"Index `{INDEX}` not found."}

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request but task polls, in order."""
        return [(r.method, r.path) for r in self.requests if not r.path.startswith("/tasks/")]

    def tasks_of_type(self, task_type: str) -> list[int]:
        return [uid for uid, (kind, _, _) in sorted(self._tasks.items()) if kind == task_type]

    def sent(self, method: str, template: str) -> list[Recorded]:
        return [r for r in self.requests
                if r.method == method and self.api.template_for(r.path) == template]

    def check_documented(self) -> None:
        """Every request sent so far is one the OpenAPI document describes."""
        assert not self.problems, self.problems
        for r in self.requests:
            self.api.validate_request(
                r.method, r.path, r.body, content_type=r.content_type, query=r.query,
            )


def index_uid(path: str) -> str | None:
    """The index a request path names ("/indexes/x/search" -> "x"), if any."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "indexes" else None


@pytest.fixture(scope="session")
def api() -> MeiliOpenAPI:
    return MeiliOpenAPI()


@pytest.fixture
def stub(api: MeiliOpenAPI) -> Iterator[RecordingStub]:
    recording = RecordingStub(api)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, answer = recording.answer(
                self.command, self.path, self.headers, self.rfile.read(length),
            )
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    recording.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield recording
        recording.check_documented()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def backend_for(stub: RecordingStub, **options: Any) -> MeiliBackend:
    return MeiliBackend(
        url=stub.url, api_key="test-key", index_uid=INDEX, **options,
    )


def doc(n: int, **changes: Any) -> SearchDoc:
    values: dict[str, Any] = dict(
        id=f"post-{n}", kind="post", title=f"TUPE transfer question {n}",
        body="Our staff move under TUPE; which LGPS admitted body terms apply?",
        url=f"/t/1/tupe#post-{n}", acl=("public",), tags=("tupe", "lgps"),
        topic="tupe-and-pensions", stage="tupe-pensions", sector="youth", solved=n % 2 == 0,
        author="asha", created_at=datetime(2024, 3, n % 28 + 1, 9, 30, tzinfo=UTC),
        updated_at=datetime(2024, 4, 1, tzinfo=UTC), version=n,
    )
    values.update(changes)
    return SearchDoc(**values)


def documented_search_result(
    api: MeiliOpenAPI, request: dict[str, Any], hits: list[dict[str, Any]],
    total: int, facets: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The document's example search response, with these hits and totals.

    In page mode when the request asked for pages, as the server answers; the
    `_formatted` text uses the request's highlight tags where the test wrote
    [[ and ]]. The text itself is written by the test, not searched for.
    """
    result = copy.deepcopy(api.example("post", "/indexes/{index_uid}/search", 200))
    if "highlightPreTag" in request:
        pre, post = request["highlightPreTag"], request["highlightPostTag"]
        hits = [json.loads(json.dumps(h).replace("[[", pre).replace("]]", post)) for h in hits]
    result.update(hits=hits, query=request["q"])
    if "hitsPerPage" in request:
        for key in ("offset", "limit", "estimatedTotalHits"):
            del result[key]
        per_page = request["hitsPerPage"]
        result.update(page=request["page"], hitsPerPage=per_page, totalHits=total,
                      totalPages=-(-total // per_page))
    else:
        result.update(offset=0, limit=request["limit"], estimatedTotalHits=total)
    if facets is not None:
        result["facetDistribution"] = {f: facets.get(f, {}) for f in request.get("facets", ())}
    return result


async def batches_of(
    *groups: Iterable[SearchDoc], closed: list[bool] | None = None
) -> AsyncIterator[list[SearchDoc]]:
    """The documents a rebuild reads, batch by batch; `closed` notes that it was closed."""
    try:
        for group in groups:
            yield list(group)
    finally:
        if closed is not None:
            closed.append(True)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the request bodies ------------------------------------------------------


async def test_every_request_the_backend_sends_is_documented_in_openapi(
    stub: RecordingStub, api: MeiliOpenAPI
) -> None:
    stub.index_exists = False
    stub.documents = [{"id": f"post-{n}", "version": n} for n in range(5)]
    stub.search_answer = lambda request: documented_search_result(api, request, [], 0, {})
    backend = backend_for(stub, batch_size=2)

    await backend.ensure_index()
    await backend.upsert([doc(n) for n in range(1, 4)])
    await backend.delete(["post-1", "post-2", "post-3"])
    await backend.search(SearchQuery(
        text='TUPE "admitted body" -bond', principals=("public", "space:3", "user:42"),
        filters={facet: ("a", "b") for facet in ("kind", "topic", "tags", "stage")}
        | {"solved": ("true",)},  # sector unfiltered: counted by the page request itself
        facets=("kind", "topic", "tags", "stage", "sector", "solved"),
        sort="newest", page=2, per_page=10,
    ))
    await backend.ids()
    await backend.reset()
    await backend.rebuild(batches_of([doc(1), doc(2), doc(3)]), progress=[].append)

    stub.check_documented()
    operations = {(r.method, api.template_for(r.path)) for r in stub.requests}
    assert operations == {  # PATCH /indexes/{index_uid} too, when an index has no key
        ("GET", "/indexes/{index_uid}"), ("POST", "/indexes"), ("GET", "/tasks/{task_id}"),
        ("PATCH", "/indexes/{index_uid}/settings"), ("POST", "/indexes/{index_uid}/documents"),
        ("POST", "/indexes/{index_uid}/documents/delete-batch"),
        ("POST", "/indexes/{index_uid}/search"), ("POST", "/indexes/{index_uid}/documents/fetch"),
        ("DELETE", "/indexes/{index_uid}/documents"),
        ("POST", "/swap-indexes"), ("DELETE", "/indexes/{index_uid}"),
    }


def test_the_openapi_check_refuses_what_the_server_would_refuse(api: MeiliOpenAPI) -> None:
    search = "/indexes/x/search"
    api.validate_request("post", search, {"q": "a", "facets": ["kind"]},
                         content_type="application/json")  # the one allowed drift
    for bad in ({"q": "a", "facets": [1]}, {"q": "a", "matchingStrategy": "any"},
                {"q": "a", "hitsPerpage": 3}, {"q": "a", "page": -1}):
        with pytest.raises(NotDocumented):
            api.validate_request("post", search, bad, content_type="application/json")
    with pytest.raises(NotDocumented):
        api.validate_request("post", search, {"q": "a"}, content_type="text/plain")
    api.validate_request("post", "/swap-indexes", [{"indexes": ["a", "b"]}],
                         content_type="application/json")
    for bad in ({"indexes": ["a", "b"]}, [{"indexs": ["a", "b"]}],
                [{"indexes": ["a", "b"], "renam": True}]):
        with pytest.raises(NotDocumented):
            api.validate_request("post", "/swap-indexes", bad, content_type="application/json")
    with pytest.raises(NotDocumented):
        api.validate_request("post", "/indexes/x/documents", [{"id": "a"}],
                             content_type="application/json", query={"primaryKy": ["id"]})


async def test_ensure_index_creates_a_missing_index_keyed_by_id_and_applies_settings(
    stub: RecordingStub
) -> None:
    stub.index_exists = False
    await backend_for(stub).ensure_index()

    [create] = stub.sent("POST", "/indexes")
    assert create.body == {"uid": INDEX, "primaryKey": "id"}
    [update] = stub.sent("PATCH", "/indexes/{index_uid}/settings")
    settings = update.body
    assert settings["searchableAttributes"] == ["title", "tags", "body"]
    assert settings["filterableAttributes"] == [
        "acl", "kind", "topic", "tags", "stage", "sector", "solved",
    ]
    assert settings["sortableAttributes"] == ["created_at"]
    assert settings["rankingRules"][0] == "sort"
    assert settings["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 5, "twoTypos": 9}
    assert "acl" not in settings["displayedAttributes"]
    assert {"id", "version", "title", "body"} <= set(settings["displayedAttributes"])


async def test_the_synonyms_setting_is_the_shared_glossary_both_ways(stub: RecordingStub) -> None:
    await backend_for(stub).ensure_index()
    [update] = stub.sent("PATCH", "/indexes/{index_uid}/settings")
    synonyms = update.body["synonyms"]
    assert synonyms == meilisearch_synonyms()
    assert synonyms["lgps"] == ["local government pension scheme"]
    assert synonyms["employee ownership trust"] == ["eot"]
    assert all(term in synonyms[other] for term, others in synonyms.items() for other in others)


async def test_ensure_index_on_an_existing_index_only_applies_settings(
    stub: RecordingStub
) -> None:
    await backend_for(stub).ensure_index()
    assert not stub.sent("POST", "/indexes")
    assert len(stub.sent("PATCH", "/indexes/{index_uid}/settings")) == 1


async def test_an_index_without_a_primary_key_is_given_id(stub: RecordingStub) -> None:
    stub.index_primary_key = None
    await backend_for(stub).ensure_index()
    [update] = stub.sent("PATCH", "/indexes/{index_uid}")
    assert update.body == {"primaryKey": "id"}
    assert len(stub.sent("PATCH", "/indexes/{index_uid}/settings")) == 1


async def test_an_index_keyed_by_another_attribute_is_refused(stub: RecordingStub) -> None:
    stub.index_primary_key = "uuid"
    with pytest.raises(SearchError, match="primary key 'uuid'"):
        await backend_for(stub).ensure_index()
    assert not stub.sent("PATCH", "/indexes/{index_uid}/settings")


# -- writes -------------------------------------------------------------------


async def test_upsert_sends_batches_with_epoch_seconds_and_lists(stub: RecordingStub) -> None:
    naive = datetime(2024, 3, 1, 12, 0)
    await backend_for(stub, batch_size=2).upsert(
        [doc(1), doc(2), doc(3), doc(4, created_at=naive, acl=("space:3", "user:42"))]
    )
    batches = [r.body for r in stub.sent("POST", "/indexes/{index_uid}/documents")]
    assert [[d["id"] for d in batch] for batch in batches] == [["post-1", "post-2"],
                                                               ["post-3", "post-4"]]
    first, last = batches[0][0], batches[1][1]
    assert first["created_at"] == datetime(2024, 3, 2, 9, 30, tzinfo=UTC).timestamp()
    assert last["created_at"] == naive.replace(tzinfo=UTC).timestamp()  # naive = UTC
    assert first["tags"] == ["tupe", "lgps"] and last["acl"] == ["space:3", "user:42"]
    assert first["version"] == 1 and first["solved"] is False


@pytest.mark.parametrize("bad_id", [
    "post 1", "post/1", "post.1", "café-1", "", "p" * 512, "thread-1\n",
])
async def test_a_document_with_a_bad_id_is_rejected_without_being_sent(
    stub: RecordingStub, bad_id: str
) -> None:
    with pytest.raises(DocumentRejected) as rejected:
        await backend_for(stub).upsert([doc(1), doc(2, id=bad_id), doc(3)])
    assert rejected.value.doc_id == bad_id
    assert stub.requests == []


async def test_an_id_of_511_bytes_is_accepted(stub: RecordingStub) -> None:
    await backend_for(stub).upsert([doc(1, id="p" * 511)])
    [sent] = stub.sent("POST", "/indexes/{index_uid}/documents")
    assert sent.body[0]["id"] == "p" * 511


async def test_a_failed_document_task_blames_the_document_it_names(stub: RecordingStub) -> None:
    stub.failing_tasks["documentAdditionOrUpdate"] = {
        "message": 'The `_geo` field in the document with the id: `"post-12"` is not an object.',
        "code": "invalid_document_geo_field", "type": "invalid_request",
        "link": "https://docs.meilisearch.com/errors#invalid_document_geo_field",
    }
    with pytest.raises(DocumentRejected) as rejected:
        await backend_for(stub).upsert([doc(1), doc(12), doc(2)])
    assert rejected.value.doc_id == "post-12"
    assert "`_geo` field" in rejected.value.reason


async def test_a_failed_task_is_an_error_not_a_success(stub: RecordingStub) -> None:
    stub.failing_tasks["documentAdditionOrUpdate"] = {
        "message": "Maximum database size has been reached.",
        "code": "database_size_limit_reached", "type": "internal",
        "link": "https://docs.meilisearch.com/errors#database_size_limit_reached",
    }
    with pytest.raises(SearchError, match="Maximum database size") as failed:
        await backend_for(stub).upsert([doc(1), doc(2)])
    assert not isinstance(failed.value, DocumentRejected)


async def test_a_failed_settings_task_makes_ensure_index_raise(stub: RecordingStub) -> None:
    stub.failing_tasks["settingsUpdate"] = {
        "message": "Attribute `created_at` is not sortable.",
        "code": "invalid_settings_sortable_attributes",
        "type": "invalid_request", "link": "https://docs.meilisearch.com/errors",
    }
    with pytest.raises(SearchError, match="not sortable"):
        await backend_for(stub).ensure_index()


async def test_failed_deletions_and_resets_raise(stub: RecordingStub) -> None:
    stub.failing_tasks["documentDeletion"] = {
        "message": "Internal error.", "code": "internal", "type": "internal",
        "link": "https://docs.meilisearch.com/errors#internal",
    }
    with pytest.raises(SearchError, match="Internal error"):
        await backend_for(stub).delete(["post-1"])
    with pytest.raises(SearchError, match="Internal error"):
        await backend_for(stub).reset()


async def test_a_task_that_never_finishes_is_reported_unavailable(stub: RecordingStub) -> None:
    stub.stuck_tasks = True
    with pytest.raises(BackendUnavailable):
        await backend_for(stub, task_timeout=0.2).upsert([doc(1)])


async def test_delete_sends_batches_and_skips_impossible_ids(stub: RecordingStub) -> None:
    await backend_for(stub, batch_size=2).delete(
        ["post-1", "post 2", "post-3", "post-1", "post-4", "p" * 600]
    )
    batches = [r.body for r in stub.sent("POST", "/indexes/{index_uid}/documents/delete-batch")]
    assert batches == [["post-1", "post-3"], ["post-4"]]


async def test_deleting_nothing_sends_nothing(stub: RecordingStub) -> None:
    await backend_for(stub).delete([])
    await backend_for(stub).upsert([])
    assert stub.requests == []


async def test_ids_pages_through_every_document(stub: RecordingStub) -> None:
    stub.documents = [{"id": f"post-{n}", "version": n, "title": "x"} for n in range(2500)]
    found = await backend_for(stub, batch_size=1000).ids()
    assert found == {f"post-{n}": n for n in range(2500)}
    fetches = [r.body for r in stub.sent("POST", "/indexes/{index_uid}/documents/fetch")]
    assert fetches == [{"fields": ["id", "version"], "limit": 1000, "offset": o}
                       for o in (0, 1000, 2000)]


# -- rebuild: a new index, filled, then swapped in ------------------------------

TEMP = re.compile(rf"{INDEX}__rebuild_\d{{8}}T\d{{12}}Z")


def temp_uid(stub: RecordingStub) -> str:
    """The temporary index the rebuild created (the last POST /indexes)."""
    uid = stub.sent("POST", "/indexes")[-1].body["uid"]
    assert TEMP.fullmatch(uid), uid
    return str(uid)


async def test_rebuild_fills_a_new_index_swaps_it_in_and_deletes_the_old_one(
    stub: RecordingStub, api: MeiliOpenAPI
) -> None:
    backend = backend_for(stub, batch_size=2)
    progress: list[str] = []

    count = await backend.rebuild(batches_of([doc(1), doc(2), doc(3)], [doc(4)]), progress.append)

    assert count == 4
    temp = temp_uid(stub)
    assert stub.writes() == [
        ("GET", f"/indexes/{INDEX}"),  # the live index exists: left alone until the swap
        ("POST", "/indexes"),
        ("PATCH", f"/indexes/{temp}/settings"),
        ("POST", f"/indexes/{temp}/documents"),
        ("POST", f"/indexes/{temp}/documents"),
        ("POST", f"/indexes/{temp}/documents"),
        ("POST", "/swap-indexes"),
        ("DELETE", f"/indexes/{temp}"),  # the old contents, under the temporary name
    ]
    [create] = stub.sent("POST", "/indexes")
    assert create.body == {"uid": temp, "primaryKey": "id"}
    [settings] = stub.sent("PATCH", "/indexes/{index_uid}/settings")
    assert settings.body == backend.settings()
    batches = [r.body for r in stub.sent("POST", "/indexes/{index_uid}/documents")]
    assert [[d["id"] for d in batch] for batch in batches] == [
        ["post-1", "post-2"], ["post-3"], ["post-4"],
    ]
    assert batches[0][0]["created_at"] == datetime(2024, 3, 2, 9, 30, tzinfo=UTC).timestamp()
    [swap] = stub.sent("POST", "/swap-indexes")
    assert swap.body == [{"indexes": [INDEX, temp]}]
    assert swap.content_type == "application/json"
    api.validate_request("post", "/swap-indexes", swap.body, content_type="application/json")
    # Every task was waited for until it succeeded before the next step was sent.
    polls = {int(r.path.rsplit("/", 1)[1]) for r in stub.sent("GET", "/tasks/{task_id}")}
    assert polls == set(range(7))  # create, settings, 3 batches, swap, delete
    [swap_task] = stub.tasks_of_type("indexSwap")
    last_swap_poll = max(i for i, r in enumerate(stub.requests) if r.path == f"/tasks/{swap_task}")
    delete_at = next(i for i, r in enumerate(stub.requests) if r.method == "DELETE")
    assert last_swap_poll < delete_at
    assert progress == [
        f"  building a new index {temp!r} beside {INDEX!r}",
        "  indexed 3 documents", "  indexed 4 documents",
        f"  swapped the new index in as {INDEX!r}", "  deleted the old index",
    ]


async def test_rebuild_creates_a_missing_live_index_first_so_the_swap_has_two_sides(
    stub: RecordingStub
) -> None:
    stub.index_exists = False
    await backend_for(stub).rebuild(batches_of([doc(1)]), progress=[].append)

    temp = temp_uid(stub)
    assert [r.body for r in stub.sent("POST", "/indexes")] == [
        {"uid": INDEX, "primaryKey": "id"}, {"uid": temp, "primaryKey": "id"},
    ]
    assert stub.writes() == [
        ("GET", f"/indexes/{INDEX}"), ("POST", "/indexes"), ("PATCH", f"/indexes/{INDEX}/settings"),
        ("POST", "/indexes"), ("PATCH", f"/indexes/{temp}/settings"),
        ("POST", f"/indexes/{temp}/documents"),
        ("POST", "/swap-indexes"), ("DELETE", f"/indexes/{temp}"),
    ]
    assert stub.sent("POST", "/indexes/{index_uid}/documents")[0].body[0]["id"] == "post-1"


async def test_rebuilding_from_nothing_swaps_in_an_empty_index(stub: RecordingStub) -> None:
    assert await backend_for(stub).rebuild(batches_of(), progress=[].append) == 0
    assert not stub.sent("POST", "/indexes/{index_uid}/documents")
    assert [m for m, _ in stub.writes()] == ["GET", "POST", "PATCH", "POST", "DELETE"]


def assert_abandoned(stub: RecordingStub, progress: list[str]) -> None:
    """The temporary index was deleted, nothing was swapped, the live index untouched."""
    temp = temp_uid(stub)
    assert not stub.sent("POST", "/swap-indexes")
    assert stub.writes()[-1] == ("DELETE", f"/indexes/{temp}")
    assert [path for method, path in stub.writes()
            if index_uid(path) == INDEX] == [f"/indexes/{INDEX}"]  # the GET only
    assert progress[-1] == f"  rebuild abandoned: {temp!r} deleted, {INDEX!r} left as it was"


async def test_a_failed_document_task_abandons_the_rebuild(stub: RecordingStub) -> None:
    stub.failing_tasks["documentAdditionOrUpdate"] = {
        "message": 'The `_geo` field in the document with the id: `"post-12"` is not an object.',
        "code": "invalid_document_geo_field", "type": "invalid_request",
        "link": "https://docs.meilisearch.com/errors#invalid_document_geo_field",
    }
    closed: list[bool] = []
    progress: list[str] = []
    with pytest.raises(DocumentRejected) as rejected:
        await backend_for(stub).rebuild(
            batches_of([doc(1), doc(12)], [doc(2)], closed=closed), progress.append
        )
    assert rejected.value.doc_id == "post-12"
    assert len(stub.sent("POST", "/indexes/{index_uid}/documents")) == 1  # the rest unsent
    assert closed == [True]  # the source of documents is closed, not left pending
    assert_abandoned(stub, progress)


async def test_a_task_failure_that_blames_no_document_abandons_the_rebuild(
    stub: RecordingStub
) -> None:
    stub.failing_tasks["documentAdditionOrUpdate"] = {
        "message": "Maximum database size has been reached.",
        "code": "database_size_limit_reached", "type": "internal",
        "link": "https://docs.meilisearch.com/errors#database_size_limit_reached",
    }
    progress: list[str] = []
    with pytest.raises(SearchError, match="Maximum database size") as failed:
        await backend_for(stub).rebuild(batches_of([doc(1), doc(2)]), progress.append)
    assert not isinstance(failed.value, DocumentRejected)
    assert_abandoned(stub, progress)


async def test_a_bad_id_abandons_the_rebuild_before_its_batch_is_sent(stub: RecordingStub) -> None:
    progress: list[str] = []
    with pytest.raises(DocumentRejected) as rejected:
        await backend_for(stub).rebuild(
            batches_of([doc(1)], [doc(2), doc(3, id="post 3")]), progress.append
        )
    assert rejected.value.doc_id == "post 3"
    [sent] = stub.sent("POST", "/indexes/{index_uid}/documents")
    assert [d["id"] for d in sent.body] == ["post-1"]
    assert_abandoned(stub, progress)


async def test_a_failed_settings_task_abandons_the_rebuild(stub: RecordingStub) -> None:
    stub.failing_tasks["settingsUpdate"] = {
        "message": "Attribute `created_at` is not sortable.",
        "code": "invalid_settings_sortable_attributes",
        "type": "invalid_request", "link": "https://docs.meilisearch.com/errors",
    }
    progress: list[str] = []
    with pytest.raises(SearchError, match="not sortable"):
        await backend_for(stub).rebuild(batches_of([doc(1)]), progress.append)
    assert not stub.sent("POST", "/indexes/{index_uid}/documents")
    assert_abandoned(stub, progress)


async def test_a_failed_swap_abandons_the_rebuild(stub: RecordingStub) -> None:
    stub.failing_tasks["indexSwap"] = {
        "message": "Indexes `mkn_test` not found.", "code": "index_not_found",
        "type": "invalid_request", "link": "https://docs.meilisearch.com/errors#index_not_found",
    }
    progress: list[str] = []
    with pytest.raises(SearchError, match="not found"):
        await backend_for(stub).rebuild(batches_of([doc(1)]), progress.append)
    assert len(stub.sent("POST", "/swap-indexes")) == 1
    assert stub.writes()[-1] == ("DELETE", f"/indexes/{temp_uid(stub)}")


async def test_an_old_index_that_cannot_be_deleted_is_reported_not_raised(
    stub: RecordingStub
) -> None:
    stub.failing_tasks["indexDeletion"] = {
        "message": "Internal error.", "code": "internal", "type": "internal",
        "link": "https://docs.meilisearch.com/errors#internal",
    }
    progress: list[str] = []
    assert await backend_for(stub).rebuild(batches_of([doc(1)]), progress.append) == 1
    assert len(stub.sent("POST", "/swap-indexes")) == 1
    assert progress[-1].startswith(
        f"  warning: the old index, now {temp_uid(stub)!r}, could not be deleted:"
    )
    assert "Internal error" in progress[-1]


def test_an_index_uid_too_long_for_a_temporary_twin_is_refused() -> None:
    backend = MeiliBackend(url="http://127.0.0.1:1", index_uid="i" * 390)
    with pytest.raises(SearchError, match="too long"):
        backend.rebuild_uid()
    assert TEMP.fullmatch(MeiliBackend(url="http://127.0.0.1:1", index_uid=INDEX).rebuild_uid())



# -- search -------------------------------------------------------------------


def last_search(stub: RecordingStub) -> dict[str, Any]:
    return stub.sent("POST", "/indexes/{index_uid}/search")[-1].body


async def test_a_documented_response_parses_into_a_page_with_escaped_highlights(
    stub: RecordingStub, api: MeiliOpenAPI
) -> None:
    hostile = {
        "id": "post-7", "kind": "post", "url": "/t/3/tupe#post-7",
        "title": '<img src=x onerror=alert(1)> TUPE & "pensions"', "topic": "tupe-and-pensions",
        "author": "asha", "solved": True, "created_at": 1709285400.5,
        "_formatted": {
            "title": '<img src=x onerror=alert(1)> [[TUPE]] & "pensions"',
            "body": "…the <script>alert('x')</script> [[TUPE]] <mark>forged</mark> transfer…",
        },
    }
    stub.search_answer = lambda request: documented_search_result(
        api, request, [hostile], 41, {"kind": {"post": 30, "thread": 11}, "solved": {"true": 5}},
    )
    page = await backend_for(stub).search(
        SearchQuery(text="tupe", facets=("kind", "solved", "topic"), page=3, per_page=5)
    )

    [hit] = page.hits
    assert hit.title == ("&lt;img src=x onerror=alert(1)&gt; <mark>TUPE</mark> &amp; "
                         "&quot;pensions&quot;")
    assert hit.snippet == ("…the &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; "
                           "<mark>TUPE</mark> &lt;mark&gt;forged&lt;/mark&gt; transfer…")
    assert (hit.id, hit.kind, hit.url, hit.topic, hit.author, hit.solved) == (
        "post-7", "post", "/t/3/tupe#post-7", "tupe-and-pensions", "asha", True,
    )
    assert hit.created_at == datetime(2024, 3, 1, 9, 30, 0, 500000, tzinfo=UTC)
    assert (page.total, page.total_is_exact, page.page, page.per_page) == (41, True, 3, 5)
    assert page.facets == {"kind": {"post": 30, "thread": 11}, "solved": {"true": 5},
                           "topic": {}}
    assert page.did_you_mean is None


async def test_the_search_request_asks_for_what_the_page_shows(stub: RecordingStub,
                                                               api: MeiliOpenAPI) -> None:
    stub.search_answer = lambda request: documented_search_result(api, request, [], 0)
    await backend_for(stub).search(SearchQuery(text="  admitted body  ", page=2, per_page=10))
    sent = last_search(stub)
    assert sent["q"] == "admitted body"
    assert (sent["page"], sent["hitsPerPage"]) == (2, 10)
    assert sent["matchingStrategy"] == "all"
    assert sent["attributesToHighlight"] == ["title", "body"]
    assert sent["attributesToCrop"] == ["body"]
    pre, post = sent["highlightPreTag"], sent["highlightPostTag"]
    assert pre != post and "<" not in pre + post and "&" not in pre + post
    assert "sort" not in sent and "facets" not in sent


async def test_a_filtered_facet_is_counted_without_its_own_filter(
    stub: RecordingStub, api: MeiliOpenAPI
) -> None:
    canned = {"kind": {"thread": 1, "playbook": 1}, "topic": {"procurement": 2, "tupe": 2},
              "sector": {"health": 1}}
    stub.search_answer = lambda request: documented_search_result(api, request, [], 2, canned)
    page = await backend_for(stub).search(SearchQuery(
        text="pension", principals=("public", "user:42"), facets=("kind", "topic", "sector"),
        filters={"topic": ("procurement",), "kind": ("thread", "playbook")},
    ))

    main, kind, topic = [r.body for r in stub.sent("POST", "/indexes/{index_uid}/search")]
    acl = 'acl IN ["public", "user:42"]'
    assert main["filter"] == (
        f'{acl} AND kind IN ["thread", "playbook"] AND topic IN ["procurement"]'
    )
    assert main["facets"] == ["sector"]
    assert kind == {"q": "pension", "filter": f'{acl} AND topic IN ["procurement"]',
                    "facets": ["kind"], "limit": 0, "matchingStrategy": "all"}
    assert topic["filter"] == f'{acl} AND kind IN ["thread", "playbook"]'
    assert topic["facets"] == ["topic"] and topic["limit"] == 0
    assert page.facets == canned
    assert page.total == 2


async def test_newest_sorts_by_creation_date(stub: RecordingStub, api: MeiliOpenAPI) -> None:
    stub.search_answer = lambda request: documented_search_result(api, request, [], 0)
    await backend_for(stub).search(SearchQuery(text="tender", sort="newest"))
    assert last_search(stub)["sort"] == ["created_at:desc"]


async def test_a_total_that_reaches_max_total_hits_is_not_exact(stub: RecordingStub,
                                                                 api: MeiliOpenAPI) -> None:
    stub.search_answer = lambda request: documented_search_result(api, request, [], 1000)
    page = await backend_for(stub).search(SearchQuery(text="the"))
    assert (page.total, page.total_is_exact) == (1000, False)


async def test_every_search_carries_the_acl_filter(stub: RecordingStub, api: MeiliOpenAPI) -> None:
    stub.search_answer = lambda request: documented_search_result(api, request, [], 0)
    backend = backend_for(stub)
    await backend.search(SearchQuery(text="pension"))
    await backend.search(SearchQuery(text="pension", principals=("public", "user:42"),
                                     filters={"kind": ("thread", "post"), "solved": ("true",)}))
    await backend.search(SearchQuery(text="pension", filters={"topic": ()}))
    filters = [r.body["filter"] for r in stub.sent("POST", "/indexes/{index_uid}/search")]
    assert filters == [
        'acl IN ["public"]',
        'acl IN ["public", "user:42"] AND kind IN ["thread", "post"] AND solved IN ["true"]',
        'acl IN ["public"]',
    ]


async def test_filter_values_with_quotes_and_backslashes_are_escaped(
    stub: RecordingStub, api: MeiliOpenAPI
) -> None:
    stub.search_answer = lambda request: documented_search_result(api, request, [], 0)
    principals = ('user:"42" OR acl EXISTS', "space:\\", 'a\\"b')
    tags = ("it's", '"]) OR (acl EXISTS')
    await backend_for(stub).search(
        SearchQuery(text="x", principals=principals, filters={"tags": tags})
    )
    sent = last_search(stub)["filter"]
    assert sent == (
        'acl IN ["user:\\"42\\" OR acl EXISTS", "space:\\\\", "a\\\\\\"b"] AND '
        'tags IN ["it\'s", "\\"]) OR (acl EXISTS"]'
    )
    assert parse_in_lists(sent) == [("acl", list(principals)), ("tags", list(tags))]


def parse_in_lists(expression: str) -> list[tuple[str, list[str]]]:
    """Read `attr IN ["v", ...] AND ...` back as Meilisearch's filter parser does.

    Its `quoted_by` (crates/filter-parser/src/value.rs) lets a backslash escape the
    next character and ends the value at an unescaped quote; the value is then
    unescaped (`\\"` to `"`, then `\\\\` to `\\`), which for values escaped as the
    backend does is one pass of "backslash + character -> character". Anything
    left over fails the test.
    """
    value = r'"((?:[^"\\]|\\.)*)"'
    clause = re.compile(rf'(\w+) IN \[({value}(?:, {value})*)\]')
    parsed, rest = [], expression
    while rest:
        match = clause.match(rest)
        assert match, f"unparsable filter at {rest!r}"
        values = [re.sub(r"\\(.)", r"\1", v) for v in re.findall(value, match.group(2))]
        parsed.append((match.group(1), values))
        rest = rest[match.end():].removeprefix(" AND ")
    return parsed


def test_the_acl_clause_comes_first_and_facets_are_anded() -> None:
    assert build_filter(("public",), {"stage": ("go-live",), "kind": ("post",), "nope": ("x",)}) \
        == 'acl IN ["public"] AND kind IN ["post"] AND stage IN ["go-live"]'


@pytest.mark.parametrize("text", ["", "   ", "?!", '"" -', "…", "()[]{}*"])
async def test_empty_and_punctuation_only_queries_never_reach_the_server(
    stub: RecordingStub, text: str
) -> None:
    page = await backend_for(stub).search(SearchQuery(text=text, page=2))
    assert (page.hits, page.total, page.page) == ([], 0, 2)
    assert stub.requests == []


async def test_a_searcher_without_principals_sees_nothing(stub: RecordingStub) -> None:
    page = await backend_for(stub).search(SearchQuery(text="tupe", principals=()))
    assert page.hits == [] and stub.requests == []


async def test_overlong_queries_are_cut_to_max_query_length(stub: RecordingStub,
                                                            api: MeiliOpenAPI) -> None:
    stub.search_answer = lambda request: documented_search_result(api, request, [], 0)
    await backend_for(stub).search(SearchQuery(text="pension " * 100))
    sent = last_search(stub)["q"]
    assert len(sent) <= MAX_QUERY_LENGTH and sent == ("pension " * 100)[:MAX_QUERY_LENGTH].strip()


# -- errors -------------------------------------------------------------------


async def test_an_unreachable_server_raises_backend_unavailable() -> None:
    backend = MeiliBackend(url=f"http://127.0.0.1:{closed_port()}", api_key="k", index_uid=INDEX)
    calls: list[Callable[[], Awaitable[object]]] = [
        backend.ensure_index, lambda: backend.upsert([doc(1)]),
        lambda: backend.delete(["post-1"]), lambda: backend.search(SearchQuery(text="tupe")),
        backend.ids, backend.reset,
        lambda: backend.rebuild(batches_of([doc(1)]), progress=[].append),
    ]
    for call in calls:
        with pytest.raises(BackendUnavailable):
            await call()


async def test_an_api_error_becomes_a_search_error_with_its_message(stub: RecordingStub,
                                                                     api: MeiliOpenAPI) -> None:
    stub.search_error = (404, api.example("post", "/indexes/{index_uid}/search", 404))
    with pytest.raises(SearchError, match="Index `movies` not found") as failed:
        await backend_for(stub).search(SearchQuery(text="tupe"))
    assert not isinstance(failed.value, BackendUnavailable)


async def test_a_missing_api_key_is_an_error_not_an_outage(stub: RecordingStub,
                                                           api: MeiliOpenAPI) -> None:
    stub.search_error = (401, api.example("post", "/indexes/{index_uid}/search", 401))
    with pytest.raises(SearchError, match="Authorization header is missing") as failed:
        await backend_for(stub).search(SearchQuery(text="tupe"))
    assert not isinstance(failed.value, BackendUnavailable)


async def test_a_proxy_answering_503_for_meilisearch_is_an_outage(stub: RecordingStub) -> None:
    stub.search_error = (503, {"message": "upstream unavailable"})
    with pytest.raises(BackendUnavailable):
        await backend_for(stub).search(SearchQuery(text="tupe"))
