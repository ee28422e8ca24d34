"""The indexer drains the outbox into the real search backend, and never loses an update."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from tortoise.timezone import now

from forum.accounts.models import Role
from forum.search import engine
from forum.search.loader import load_documents
from forum.search.maintenance import verify
from forum.threads import services
from forum.threads.models import Post
from search_index import outbox
from search_index.backend import (
    BackendUnavailable,
    DocumentRejected,
    SearchBackend,
    SearchDoc,
    SearchPage,
    SearchQuery,
)
from search_index.indexer import BASE_DELAY, MAX_DELAY, Indexer, backoff
from search_index.outbox import OutboxEntry
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.web import post_form, sign_in



@pytest.fixture
def indexer(backend) -> Indexer:
    return engine.build_indexer(backend)


class FailingBackend:
    """A real backend whose upserts raise BackendUnavailable while `failing` is set,
    and which rejects the documents named in `poison` (as an engine refusing one would)."""

    def __init__(self, real: SearchBackend) -> None:
        self.real = real
        self.failing = False
        self.poison: dict[str, str] = {}
        self.upserts = 0

    async def ensure_index(self) -> None:
        await self.real.ensure_index()

    async def upsert(self, docs: list[SearchDoc]) -> None:
        self.upserts += 1
        if self.failing:
            raise BackendUnavailable("connection refused (test)")
        for doc in docs:
            if doc.id in self.poison:
                raise DocumentRejected(doc.id, self.poison[doc.id])
        await self.real.upsert(docs)

    async def delete(self, ids: list[str]) -> None:
        await self.real.delete(ids)

    async def search(self, query: SearchQuery) -> SearchPage:
        return await self.real.search(query)

    async def ids(self) -> dict[str, int]:
        return await self.real.ids()

    async def reset(self) -> None:
        await self.real.reset()


async def found(backend: SearchBackend, text: str, **filters: str) -> list[str]:
    page = await backend.search(SearchQuery(
        text=text, filters={name: (value,) for name, value in filters.items()}, per_page=100,
    ))
    return [hit.id for hit in page.hits]


async def waiting_rows() -> list[OutboxEntry]:
    return list(await OutboxEntry.filter(dead=False).order_by("id"))


async def make_due() -> None:
    """Time passes: every waiting row's back-off is over."""
    await OutboxEntry.all().update(next_attempt_at=now() - timedelta(seconds=1))


# Draining


async def test_draining_makes_new_threads_and_replies_searchable(indexer, backend):
    thread = await make_thread(title="Who underwrote your pension bond?", body="The fund asked for one.")
    post = await make_reply(thread, body="Our council stood guarantor for the admitted body.")
    assert await found(backend, "guarantor") == []

    result = await indexer.drain()

    assert (result.indexed, result.deleted, result.failed, result.dead) == (2, 0, 0, 0)
    assert await found(backend, "pension bond") == [f"thread-{thread.id}"]
    assert await found(backend, "guarantor") == [f"post-{post.id}"]
    assert await waiting_rows() == []


async def test_an_edit_is_searchable_after_the_next_drain(indexer, backend):
    thread = await make_thread(title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="Ask the actuary.")
    await indexer.drain()

    await services.edit_post(actor=await post.author, post_id=post.id, body="Ask the treasurer.")
    await indexer.drain()

    assert await found(backend, "treasurer") == [f"post-{post.id}"]
    assert await found(backend, "actuary") == []


async def test_a_deleted_reply_disappears_from_results(indexer, backend):
    thread = await make_thread(title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="Our council stood guarantor.")
    await indexer.drain()

    await services.delete_post(actor=await post.author, post_id=post.id)
    result = await indexer.drain()

    assert result.deleted == 1
    assert await found(backend, "guarantor") == []
    assert await found(backend, "pension bond") == [f"thread-{thread.id}"]


async def test_a_deleted_thread_and_its_replies_disappear_and_come_back_when_restored(indexer, backend):
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread(title="Who underwrote your pension bond?", body="Bond worries.")
    post = await make_reply(thread, body="Our council stood guarantor.")
    await indexer.drain()

    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    await indexer.drain()

    assert await found(backend, "bond") == []
    assert await found(backend, "guarantor") == []
    assert await backend.ids() == {}

    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=False)
    await indexer.drain()

    assert await found(backend, "guarantor") == [f"post-{post.id}"]
    assert await found(backend, "pension bond") == [f"thread-{thread.id}"]


async def test_moving_a_thread_updates_its_topic_facet(indexer, backend):
    moderator = await make_user(role=Role.MODERATOR)
    old, new = await make_topic("tupe-pensions"), await make_topic("capital-finance")
    thread = await make_thread(topic=old, title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="A pension bond from an insurer.")
    await indexer.drain()

    await services.moderate_thread(actor=moderator, thread_id=thread.id, topic_slug=new.slug)
    await indexer.drain()

    both = sorted([f"thread-{thread.id}", f"post-{post.id}"])
    assert sorted(await found(backend, "pension", topic="capital-finance")) == both
    assert await found(backend, "pension", topic="tupe-pensions") == []
    page = await backend.search(SearchQuery(text="pension", facets=("topic",)))
    assert page.facets["topic"] == {"capital-finance": 2}


async def test_accepting_an_answer_makes_the_thread_solved_in_results(indexer, backend):
    asker = await make_user()
    thread = await make_thread(asker, title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="An insurer did: ask for a pension bond quote.")
    await indexer.drain()
    assert await found(backend, "pension", solved="true") == []

    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=post.id)
    await indexer.drain()

    hits = (await backend.search(SearchQuery(text="pension", filters={"solved": ("true",)}))).hits
    assert sorted(hit.id for hit in hits) == sorted([f"thread-{thread.id}", f"post-{post.id}"])
    assert all(hit.solved for hit in hits)
    assert await found(backend, "pension", solved="false") == []


async def test_an_unknown_document_id_in_the_outbox_is_deleted_from_the_index(indexer, backend):
    ghosts = ["thread-9999", "post-8888", "widget-3"]
    await backend.upsert([
        SearchDoc(id=doc_id, kind="question", title="Ghostly pension bond", body="", url="/t/9999/x")
        for doc_id in ghosts
    ])
    await outbox.enqueue([*ghosts, "nonsense"])

    result = await indexer.drain()

    assert result.deleted == 4
    assert await backend.ids() == {}
    assert await found(backend, "ghostly") == []
    assert await waiting_rows() == []


async def test_only_the_rows_read_are_deleted_so_a_change_during_a_drain_is_kept(backend):
    thread = await make_thread(title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="Ask the actuary.")
    author = await post.author
    edited_meanwhile = False

    async def loader_racing_an_edit(doc_ids: Sequence[str]) -> dict[str, SearchDoc | None]:
        # The loader reads the old text; then someone edits the reply (and commits
        # its outbox row) before the indexer has finished with the batch.
        nonlocal edited_meanwhile
        docs = await load_documents(doc_ids)
        if not edited_meanwhile:
            edited_meanwhile = True
            await services.edit_post(actor=author, post_id=post.id, body="Ask the treasurer.")
        return docs

    indexer = Indexer(backend, loader_racing_an_edit)
    first_rows = [row.id for row in await waiting_rows()]

    await indexer.drain_once()

    left = await waiting_rows()
    assert {row.doc_id for row in left} == {f"post-{post.id}"}
    assert min(row.id for row in left) > max(first_rows)  # the edit's own row survived
    assert await found(backend, "actuary") == [f"post-{post.id}"]  # what was read then

    await indexer.drain()

    assert await found(backend, "treasurer") == [f"post-{post.id}"]
    assert await found(backend, "actuary") == []
    assert await waiting_rows() == []


async def test_a_document_changed_several_times_is_sent_once_per_batch(backend):
    thread = await make_thread(title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="First version.")
    for body in ("Second version.", "Third version."):
        await services.edit_post(actor=await post.author, post_id=post.id, body=body)
    wrapper = FailingBackend(backend)
    assert [row.doc_id for row in await waiting_rows()].count(f"post-{post.id}") == 3

    result = await Indexer(wrapper, load_documents).drain()

    assert result.indexed == 2 and wrapper.upserts == 1
    assert await found(backend, "third") == [f"post-{post.id}"]
    assert await waiting_rows() == []


async def test_draining_an_empty_outbox_does_nothing(indexer):
    result = await indexer.drain()

    assert result.touched == 0
    assert await indexer.pending() == (0, 0)


async def test_draining_works_through_several_batches(backend):
    topic, asker = await make_topic(), await make_user()
    threads = [
        await make_thread(asker, topic, title=f"Pension bond question number {n}") for n in range(7)
    ]

    result = await Indexer(backend, load_documents, batch_size=3).drain()

    assert result.indexed == 7
    assert len(await found(backend, "pension bond")) == len(threads)
    assert await waiting_rows() == []


# Back-off


def test_backoff_doubles_from_two_seconds():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [
        BASE_DELAY, BASE_DELAY * 2, BASE_DELAY * 4, BASE_DELAY * 8,
    ]
    assert backoff(0) == BASE_DELAY


def test_backoff_grows_until_it_is_capped_at_ten_minutes():
    delays = [backoff(n) for n in range(1, 200)]

    assert delays == sorted(delays)
    assert max(delays) == MAX_DELAY == timedelta(minutes=10)
    assert backoff(10) == MAX_DELAY
    assert backoff(10_000) == MAX_DELAY  # a long outage never overflows


# Faults


async def test_with_the_engine_down_posting_succeeds_and_every_change_waits_for_a_retry(backend):
    wrapper = FailingBackend(backend)
    wrapper.failing = True
    indexer = Indexer(wrapper, load_documents)
    thread = await make_thread(title="Who underwrote your pension bond?")

    result = await indexer.drain()
    post = await make_reply(thread, body="Our council stood guarantor.")  # still works

    assert result.failed == 1
    rows = await waiting_rows()
    assert [row.doc_id for row in rows] == [f"thread-{thread.id}", f"post-{post.id}"]
    failed = rows[0]
    assert failed.attempts == 1
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at > now() + BASE_DELAY - timedelta(seconds=1)
    assert "connection refused" in failed.last_error
    assert not failed.dead
    assert await backend.ids() == {}


async def test_a_failing_row_is_not_retried_before_its_backoff_and_then_waits_longer(backend):
    wrapper = FailingBackend(backend)
    wrapper.failing = True
    indexer = Indexer(wrapper, load_documents)
    await make_thread(title="Who underwrote your pension bond?")
    await indexer.drain()
    first_wait = (await waiting_rows())[0].next_attempt_at

    result = await indexer.drain()  # too soon: the row is not due

    assert result.touched == 0 and wrapper.upserts == 1
    await make_due()
    await indexer.drain()

    row = (await waiting_rows())[0]
    assert row.attempts == 2
    assert row.next_attempt_at - now() > timedelta(seconds=3)  # 4 s this time
    assert first_wait is not None and row.next_attempt_at > first_wait


async def test_after_recovery_the_outbox_empties_and_the_index_matches_the_database(backend):
    moderator = await make_user(role=Role.MODERATOR)
    wrapper = FailingBackend(backend)
    indexer = Indexer(wrapper, load_documents)
    kept = await make_thread(title="Who underwrote your pension bond?")
    doomed = await make_thread(title="Did anyone keep their car lease scheme?")
    await make_reply(doomed, body="We kept ours.")
    await indexer.drain()

    wrapper.failing = True
    reply = await make_reply(kept, body="Our council stood guarantor.")
    await services.edit_post(actor=await reply.author, post_id=reply.id, body="An insurer stood guarantor.")
    await services.moderate_thread(actor=moderator, thread_id=doomed.id, deleted=True)
    for _ in range(3):
        await indexer.drain()
        await make_due()
    # Deletions still went through; the reply's two changes wait, nothing lost.
    assert [row.doc_id for row in await waiting_rows()] == [f"post-{reply.id}"] * 2
    assert await found(backend, "lease") == []
    assert not (await verify(backend, repair=False, progress=lambda m: None)).clean

    wrapper.failing = False  # the engine is back
    await make_due()
    await indexer.drain()

    assert await indexer.pending() == (0, 0)
    drift = await verify(backend, repair=False, progress=lambda m: None)
    assert drift.clean, drift
    assert drift.checked == 2
    assert await found(backend, "guarantor") == [f"post-{reply.id}"]
    assert await found(backend, "insurer") == [f"post-{reply.id}"]
    assert await found(backend, "lease") == []


async def test_a_rejected_document_is_set_aside_with_its_reason_and_the_others_are_indexed(backend):
    wrapper = FailingBackend(backend)
    thread = await make_thread(title="Who underwrote your pension bond?")
    good = await make_reply(thread, body="Our council stood guarantor.")
    bad = await make_reply(thread, body="A reply the engine refuses.")
    await services.edit_post(actor=await bad.author, post_id=bad.id, body="Still refused by the engine.")
    wrapper.poison[f"post-{bad.id}"] = "document too large (test)"

    result = await Indexer(wrapper, load_documents).drain()

    assert (result.indexed, result.dead) == (2, 1)
    assert set(await backend.ids()) == {f"thread-{thread.id}", f"post-{good.id}"}
    dead = await OutboxEntry.filter(dead=True).order_by("id")
    assert [row.doc_id for row in dead] == [f"post-{bad.id}", f"post-{bad.id}"]
    assert all(row.last_error == "document too large (test)" for row in dead)
    assert await waiting_rows() == []
    assert await Indexer(wrapper, load_documents).pending() == (0, 2)

    result = await Indexer(wrapper, load_documents).drain()  # set aside: not retried

    assert result.touched == 0


async def test_a_rejected_document_does_not_hold_back_later_changes_to_others(backend):
    wrapper = FailingBackend(backend)
    indexer = Indexer(wrapper, load_documents)
    thread = await make_thread(title="Who underwrote your pension bond?")
    bad = await make_reply(thread, body="A reply the engine refuses.")
    wrapper.poison[f"post-{bad.id}"] = "invalid document (test)"
    await indexer.drain()

    later = await make_reply(thread, body="A later reply about guarantors.")
    await indexer.drain()

    assert await found(backend, "guarantors") == [f"post-{later.id}"]
    assert await indexer.pending() == (0, 1)


# Embedded mode: the web process drains the outbox itself.


async def _searchable(client, text: str, wanted: str, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        if wanted in (await client.get("/search", params={"q": text})).text:
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)


class TestEmbeddedIndexing:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"search_indexing": "embedded"})

    async def test_a_new_reply_is_searchable_within_a_second_of_posting_it(self, app, client):
        thread = await make_thread(title="Who underwrote your pension bond?")
        replier = await make_user()
        await sign_in(client, replier)

        response = await post_form(
            client, f"/t/{thread.id}/reply", {"body": "Our treasurer negotiated a zeppelin clause."},
            from_url=thread.url,
        )

        assert response.status_code == 303
        assert await _searchable(client, "zeppelin", "<mark>zeppelin</mark>", seconds=1.0)
        assert await OutboxEntry.all().count() == 0

    async def test_posting_succeeds_with_the_engine_down_and_is_indexed_after_recovery(self, app, client):
        wrapper = FailingBackend(app.state.indexer.backend)
        wrapper.failing = True
        app.state.indexer.backend = wrapper  # the running in-process indexer now fails
        thread = await make_thread(title="Who underwrote your pension bond?")
        await sign_in(client, await make_user())

        response = await post_form(
            client, f"/t/{thread.id}/reply", {"body": "Our treasurer negotiated a zeppelin clause."},
            from_url=thread.url,
        )

        assert response.status_code == 303
        assert await Post.filter(thread_id=thread.id, number=2).exists()
        for _ in range(40):
            rows = await waiting_rows()
            if rows and all(row.attempts for row in rows):
                break
            await asyncio.sleep(0.05)
        assert [row.attempts >= 1 and row.next_attempt_at is not None for row in rows] == [True, True]

        wrapper.failing = False
        await make_due()
        response = await post_form(  # any write wakes the indexer
            client, f"/t/{thread.id}/reply", {"body": "And an airship rider."}, from_url=thread.url,
        )

        assert response.status_code == 303
        assert await _searchable(client, "airship", "<mark>airship</mark>", seconds=1.0)
        assert await _searchable(client, "zeppelin", "<mark>zeppelin</mark>", seconds=1.0)
        assert await OutboxEntry.all().count() == 0
        drift = await verify(app.state.search, repair=False, progress=lambda m: None)
        assert drift.clean, drift


async def test_two_indexers_draining_at_once_never_leave_a_stale_document(backend):
    """Several web processes drain in embedded mode, or a web process and `forum worker`."""
    thread = await make_thread(title="Who underwrote your pension bond?")
    post = await make_reply(thread, body="Ask the actuary.")
    author = await post.author
    slow_has_read = asyncio.Event()
    carry_on = asyncio.Event()

    async def slow_loader(doc_ids: Sequence[str]) -> dict[str, SearchDoc | None]:
        docs = await load_documents(doc_ids)
        slow_has_read.set()
        await carry_on.wait()  # a slow engine, a long batch...
        return docs

    slow = asyncio.create_task(Indexer(backend, slow_loader).drain_once())
    await slow_has_read.wait()
    # Meanwhile the reply is edited and another indexer handles everything.
    await services.edit_post(actor=author, post_id=post.id, body="Ask the treasurer.")
    await Indexer(backend, load_documents).drain()
    carry_on.set()
    await slow
    await Indexer(backend, load_documents).drain()

    assert await found(backend, "treasurer") == [f"post-{post.id}"]
    assert await found(backend, "actuary") == []
    assert (await verify(backend, repair=False, progress=lambda m: None)).clean
