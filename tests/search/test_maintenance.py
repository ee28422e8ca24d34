"""Rebuilding the index from the database, and finding and repairing drift."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from forum.accounts.models import Role
from forum.search import engine
from forum.search.maintenance import reindex, verify
from forum.threads import services
from forum.threads.models import Post, Thread
from search_index.backend import SearchBackend, SearchDoc, SearchError, SearchQuery
from search_index.outbox import OutboxEntry
from tests.factories import make_reply, make_thread, make_topic, make_user



async def found(backend: SearchBackend, text: str) -> list[str]:
    return sorted(hit.id for hit in (await backend.search(SearchQuery(text=text, per_page=100))).hits)


async def forum_with_content(backend: SearchBackend) -> dict[str, object]:
    """Two threads with replies (one reply and one thread deleted), all indexed."""
    moderator = await make_user(role=Role.MODERATOR)
    topic = await make_topic()
    bond = await make_thread(topic=topic, title="Who underwrote your pension bond?", body="Bond worries.")
    kept = await make_reply(bond, body="Our council stood guarantor.")
    removed = await make_reply(bond, body="Ignore this reply about guarantors.")
    await services.delete_post(actor=moderator, post_id=removed.id)
    gone = await make_thread(topic=topic, title="Did anyone keep their car lease scheme?")
    await make_reply(gone, body="We kept the lease.")
    await services.moderate_thread(actor=moderator, thread_id=gone.id, deleted=True)
    await engine.build_indexer(backend).drain()
    return dict(bond=bond, kept=kept, removed=removed, gone=gone)


def quiet(message: str) -> None:
    pass


# reindex


async def test_reindex_after_wiping_the_index_restores_everything(backend):
    content = await forum_with_content(backend)
    before = await backend.ids()
    assert set(before) == {f"thread-{content['bond'].id}", f"post-{content['kept'].id}"}

    await backend.reset()
    assert await backend.ids() == {}
    assert await found(backend, "guarantor") == []
    progress: list[str] = []

    count = await reindex(backend, progress=progress.append)

    assert count == 2
    assert await backend.ids() == before
    assert await found(backend, "guarantor") == [f"post-{content['kept'].id}"]
    assert await found(backend, "lease") == []
    assert any("indexed 2 documents" in line for line in progress)
    assert (await verify(backend, repair=False, progress=quiet)).clean


async def test_reindex_drops_documents_that_no_longer_exist(backend):
    content = await forum_with_content(backend)
    await backend.upsert([SearchDoc(id="thread-9999", kind="question", title="Ghost lease", body="", url="/t/9999/x")])
    progress: list[str] = []

    await reindex(backend, progress=progress.append)

    assert "thread-9999" not in await backend.ids()
    assert await found(backend, "ghost") == []
    assert any("removed 1 documents" in line for line in progress)
    assert f"thread-{content['bond'].id}" in await backend.ids()


async def test_reindex_of_an_empty_forum_empties_the_index(backend):
    await backend.upsert([SearchDoc(id="post-1", kind="reply", title="Ghost", body="", url="/t/1/p/2")])

    assert await reindex(backend, progress=quiet) == 0
    assert await backend.ids() == {}


class OptimizingBackend:
    """The embedded backend plus an `optimize()` that says when it was called."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.optimized_with: set[str] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    async def optimize(self) -> None:
        self.optimized_with = set(await self.backend.ids())


async def test_reindex_merges_the_index_once_every_document_is_in(backend):
    content = await forum_with_content(backend)
    await backend.reset()
    optimizing = OptimizingBackend(backend)
    progress: list[str] = []

    await reindex(optimizing, progress=progress.append)  # type: ignore[arg-type]

    assert optimizing.optimized_with == {f"thread-{content['bond'].id}", f"post-{content['kept'].id}"}
    assert progress[-1] == "  tidying the index after the rebuild..."


class FailingBackend:
    """The embedded backend, its writes failing as an unreachable engine's do."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    async def upsert(self, docs: list[SearchDoc]) -> None:
        self.writes += 1
        raise SearchError("the search engine is unreachable")


async def test_a_write_that_fails_stops_the_reindex_with_its_error(backend):
    await forum_with_content(backend)  # threads and replies: two batches
    before = await backend.ids()
    failing = FailingBackend(backend)
    progress: list[str] = []

    with pytest.raises(SearchError, match="unreachable"):
        await reindex(failing, progress=progress.append)  # type: ignore[arg-type]

    # The first batch's failure stops the rebuild: nothing more is written or removed.
    assert failing.writes == 1
    assert progress == []
    assert await backend.ids() == before


class SwappingBackend:
    """The embedded backend plus a `rebuild()`, as Meilisearch has one.

    Its rebuild stands in for "fill a new index, swap it in": it collects the
    batches, runs `meanwhile` (what happens while a real rebuild is busy), then
    replaces the whole index with what it collected.
    """

    def __init__(self, inner: SearchBackend, meanwhile: Callable[[], Awaitable[Any]] | None = None):
        self.inner = inner
        self.meanwhile = meanwhile
        self.batches: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def ensure_index(self) -> None:
        raise AssertionError("a backend that rebuilds is not upserted into")

    async def rebuild(self, batches: AsyncIterator[list[SearchDoc]], progress) -> int:
        docs: list[SearchDoc] = []
        async for batch in batches:
            self.batches.append([doc.id for doc in batch])
            docs += batch
            progress(f"  indexed {len(docs):,} documents")
        if self.meanwhile:
            await self.meanwhile()
        await self.inner.reset()
        await self.inner.upsert(docs)
        return len(docs)


async def test_reindex_uses_the_backends_rebuild_when_it_has_one(backend):
    content = await forum_with_content(backend)
    expected = await backend.ids()
    await backend.reset()
    swapping = SwappingBackend(backend)
    progress: list[str] = []

    assert await reindex(swapping, progress=progress.append) == 2

    assert sorted(doc_id for batch in swapping.batches for doc_id in batch) == sorted(expected)
    assert await backend.ids() == expected
    assert await found(backend, "guarantor") == [f"post-{content['kept'].id}"]
    assert progress[-2:] == [
        "  indexed 2 documents", "  checking for changes made during the rebuild...",
    ]


async def test_reindex_by_rebuild_catches_up_with_changes_made_while_it_ran(backend):
    """The outbox delivers such changes to the old index, which the swap throws away."""
    content = await forum_with_content(backend)

    async def meanwhile() -> None:
        await Post.filter(id=content["kept"].id).update(body_source="An insurer wrote the bond.")

    progress: list[str] = []
    await reindex(SwappingBackend(backend, meanwhile), progress=progress.append)

    assert await found(backend, "insurer") == [f"post-{content['kept'].id}"]
    assert await found(backend, "guarantor") == []
    assert progress[-1] == "  caught up with changes made during the rebuild: 1 documents"
    assert (await verify(backend, repair=False, progress=quiet)).clean


async def test_a_failed_rebuild_raises_and_leaves_the_index_as_it_was(backend):
    await forum_with_content(backend)
    before = await backend.ids()

    async def meanwhile() -> None:
        raise SearchError("Meilisearch task 7 (indexSwap) failed: boom")

    with pytest.raises(SearchError, match="boom"):
        await reindex(SwappingBackend(backend, meanwhile), progress=quiet)
    assert await backend.ids() == before


async def test_reindex_picks_up_changes_made_without_the_outbox(backend):
    content = await forum_with_content(backend)
    await Post.filter(id=content["kept"].id).update(body_source="An insurer wrote the bond.")

    await reindex(backend, progress=quiet)

    assert await found(backend, "insurer") == [f"post-{content['kept'].id}"]
    assert await found(backend, "guarantor") == []


# verify


async def test_verify_finds_no_drift_when_the_index_is_up_to_date(backend):
    await forum_with_content(backend)
    progress: list[str] = []

    drift = await verify(backend, repair=False, progress=progress.append)

    assert drift.clean
    assert drift.checked == 2
    assert str(drift) == "Index matches the database (2 documents)."
    assert progress[-1] == "  checked 2 documents"


async def test_verify_finds_missing_stale_and_extra_documents_and_changes_nothing(backend):
    content = await forum_with_content(backend)
    bond, kept = content["bond"], content["kept"]
    await backend.delete([f"thread-{bond.id}"])  # missing
    await Post.filter(id=kept.id).update(body_source="An insurer wrote the bond.")  # stale
    ghost = SearchDoc(id="post-9999", kind="reply", title="Ghost lease", body="", url="/t/9/p/2")
    await backend.upsert([ghost])  # extra
    indexed = await backend.ids()

    drift = await verify(backend, repair=False, progress=quiet)

    assert drift.missing == [f"thread-{bond.id}"]
    assert drift.stale == [f"post-{kept.id}"]
    assert drift.extra == ["post-9999"]
    assert not drift.clean
    assert str(drift) == "Checked 2 documents: 1 missing, 1 out of date, 1 that should not be there."
    assert await backend.ids() == indexed
    assert await found(backend, "insurer") == []


async def test_verify_with_repair_makes_the_index_match_the_database(backend):
    content = await forum_with_content(backend)
    bond, kept = content["bond"], content["kept"]
    await backend.delete([f"thread-{bond.id}"])
    await Post.filter(id=kept.id).update(body_source="An insurer wrote the bond.")
    await backend.upsert([SearchDoc(id="post-9999", kind="reply", title="Ghost lease", body="", url="/t/9/p/2")])

    drift = await verify(backend, repair=True, progress=quiet)

    assert (len(drift.missing), len(drift.stale), len(drift.extra)) == (1, 1, 1)
    assert (await verify(backend, repair=False, progress=quiet)).clean
    assert await found(backend, "insurer") == [f"post-{kept.id}"]
    assert await found(backend, "pension bond") == [f"thread-{bond.id}"]
    assert await found(backend, "ghost") == []


async def test_verify_notices_a_thread_moved_behind_the_outboxs_back(backend):
    content = await forum_with_content(backend)
    elsewhere = await make_topic("capital-finance")
    await Thread.filter(id=content["bond"].id).update(topic_id=elsewhere.id)

    drift = await verify(backend, repair=True, progress=quiet)

    assert sorted(drift.stale) == sorted([f"thread-{content['bond'].id}", f"post-{content['kept'].id}"])
    for text, doc_id in (("bond", f"thread-{content['bond'].id}"), ("guarantor", f"post-{content['kept'].id}")):
        page = await backend.search(SearchQuery(text=text, filters={"topic": ("capital-finance",)}))
        assert [hit.id for hit in page.hits] == [doc_id]


async def test_verify_and_reindex_leave_the_outbox_alone(backend):
    await forum_with_content(backend)
    await OutboxEntry.create(doc_id="post-12345")

    await verify(backend, repair=True, progress=quiet)
    await reindex(backend, progress=quiet)

    assert await OutboxEntry.all().values_list("doc_id", flat=True) == ["post-12345"]


# The `forum` command, in a process of its own, on a database of its own.


def forum(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items()
        if key not in {"MEILI_URL", "MEILI_API_KEY", "TEST_DATABASE_URL", "SEARCH_INDEXING"}
    }
    env["DATABASE_URL"] = f"sqlite://{tmp_path / 'forum.sqlite3'}"
    env.update(extra_env)
    return subprocess.run(
        [str(Path(sys.executable).parent / "forum"), *args], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def searchable_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        threads = connection.execute("SELECT count(*) FROM threads WHERE deleted_at IS NULL").fetchone()[0]
        replies = connection.execute(
            "SELECT count(*) FROM posts p JOIN threads t ON t.id = p.thread_id"
            " WHERE p.number > 1 AND p.deleted_at IS NULL AND t.deleted_at IS NULL"
        ).fetchone()[0]
        playbooks = connection.execute("SELECT count(*) FROM playbooks").fetchone()[0]
        messages = connection.execute("SELECT count(*) FROM mentorship_messages").fetchone()[0]
    connection.close()
    return threads + replies + playbooks + messages


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo content, indexed by `seed-demo`."""
    tmp_path = tmp_path_factory.mktemp("cli")
    ok(forum(tmp_path, "migrate"))
    ok(forum(tmp_path, "seed-demo"))
    return tmp_path


def test_the_seeded_demo_database_has_an_index_that_matches_it(seeded):
    output = ok(forum(seeded, "search-verify"))

    count = searchable_count(seeded / "forum.sqlite3")
    assert count > 10
    assert f"Index matches the database ({count:,} documents)." in output
    assert "  checked " in output
    assert "No outbox rows set aside." in output


def test_forum_reindex_rebuilds_a_wiped_index_and_prints_progress(seeded):
    database = seeded / "forum.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM search_documents")  # its triggers empty the FTS index
        connection.execute("DELETE FROM search_terms")
    connection.close()
    wiped = forum(seeded, "search-verify")
    assert wiped.returncode == 1
    count = searchable_count(database)
    assert f"{count:,} missing" in wiped.stdout

    output = ok(forum(seeded, "reindex"))

    assert "Rebuilding the search index from the database..." in output
    assert re.search(rf"indexed {count:,} documents", output)
    assert f"Done: {count:,} documents indexed." in output
    assert "Index matches the database" in ok(forum(seeded, "search-verify"))


def test_forum_search_verify_exits_1_on_drift_until_repaired(seeded):
    database = seeded / "forum.sqlite3"
    with sqlite3.connect(database) as connection:
        # Changed behind the outbox's back: the index still has the old text.
        connection.execute(
            "UPDATE posts SET body_source = 'Rewritten about zeppelins' WHERE id ="
            " (SELECT min(p.id) FROM posts p JOIN threads t ON t.id = p.thread_id"
            "  WHERE p.number > 1 AND p.deleted_at IS NULL AND t.deleted_at IS NULL)"
        )
    connection.close()

    found_drift = forum(seeded, "search-verify")
    assert found_drift.returncode == 1, found_drift.stdout + found_drift.stderr
    assert "0 missing, 1 out of date, 0 that should not be there." in found_drift.stdout
    assert "Run `forum search-verify --repair` to fix it." in found_drift.stdout

    repaired = ok(forum(seeded, "search-verify", "--repair"))
    assert "1 out of date" in repaired and "Repaired." in repaired

    assert "Index matches the database" in ok(forum(seeded, "search-verify"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [
    ("reindex",), ("search-verify",), ("search-verify", "--repair"), ("search-setup",),
])
def test_an_unreachable_search_engine_is_one_line_on_stderr_and_exit_1(seeded, command):
    result = forum(seeded, *command, MEILI_URL=f"http://127.0.0.1:{closed_port()}")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Meilisearch is unreachable" in line


def test_search_verify_reports_rejected_rows_and_retry_rejected_queues_them_again(seeded):
    database = seeded / "forum.sqlite3"
    reason = "post-99999: Meilisearch document ids may only contain A-Z, a-z, 0-9"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO index_outbox (doc_id, created_at, attempts, next_attempt_at,"
            " last_error, dead) VALUES ('post-99999', '2024-03-01 09:30:00+00:00', 4,"
            " '2024-03-01 09:40:00+00:00', ?, 1)", (reason,),
        )
    connection.close()
    try:
        reported = ok(forum(seeded, "search-verify"))
        assert "1 outbox rows set aside: the search engine rejected them." in reported
        assert f"  post-99999: {reason}" in reported
        assert "Run `forum search-verify --retry-rejected` to try them again." in reported

        retried = ok(forum(seeded, "search-verify", "--retry-rejected"))
        assert "1 outbox rows the search engine rejected are queued again" in retried
        assert "Index matches the database" in retried
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                "SELECT dead, attempts, next_attempt_at, last_error FROM index_outbox"
                " WHERE doc_id = 'post-99999'"
            ).fetchall()
        connection.close()
        assert rows == [(0, 0, None, reason)]  # the last reason stays, for the record
        assert "No outbox rows set aside." in ok(forum(seeded, "search-verify"))
    finally:
        with sqlite3.connect(database) as connection:
            connection.execute("DELETE FROM index_outbox WHERE doc_id = 'post-99999'")
        connection.close()
