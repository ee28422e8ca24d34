"""Playbooks in search: documents, the outbox, reindex and verify, and the search page."""

from __future__ import annotations

import pytest

from forum.errors import ValidationFailed
from forum.playbooks import services
from forum.playbooks.content import StepDraft
from forum.playbooks.services import EditConflict
from forum.search import engine
from forum.search.loader import all_searchable_ids, load_documents
from forum.search.maintenance import reindex, verify
from search_index.backend import SearchQuery
from search_index.outbox import OutboxEntry
from tests.factories import make_thread, make_topic
from tests.playbooks.builders import draft, edit, make_mentor, make_playbook


async def outbox_ids() -> list[str]:
    return list(await OutboxEntry.all().order_by("id").values_list("doc_id", flat=True))


async def test_a_playbook_document_carries_kind_stage_topic_tags_url_and_all_its_text(db):
    await make_topic("tupe-and-pensions")
    mentor = await make_mentor("kwame")
    steps = [StepDraft(title="Agree the guarantee", body="Ask the *section 151* officer.",
                       checklist="Guarantee in writing")]
    playbook = await make_playbook(mentor, topic="tupe-and-pensions", steps=steps)

    doc = (await load_documents([f"playbook-{playbook.id}"]))[f"playbook-{playbook.id}"]

    assert doc is not None
    assert (doc.kind, doc.stage, doc.topic, doc.tags) == ("playbook", "tupe-pensions", "tupe-and-pensions", ("lgps", "tupe"))
    assert (doc.url, doc.author, doc.acl) == (playbook.url, "kwame", ("public",))
    assert doc.title == playbook.title
    for words in (playbook.summary, "Agree the guarantee", "Ask the section 151 officer.",
                  "Guarantee in writing", "Start early: funds take months.", "what the fund expects"):
        assert words in doc.body
    assert "*" not in doc.body  # plain text, no markdown
    assert (await load_documents(["playbook-999"])) == {"playbook-999": None}


async def test_create_edit_and_restore_note_the_playbook_in_the_outbox_and_failures_note_nothing(db):
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    doc_id = f"playbook-{playbook.id}"
    assert await outbox_ids() == [doc_id]
    await edit(playbook, mentor, summary="A different summary, long enough to keep.")
    await services.restore_revision(actor=mentor, playbook_id=playbook.id, number=1, base_revision=2)
    assert await outbox_ids() == [doc_id] * 3

    with pytest.raises(EditConflict):
        await edit_from(playbook, mentor, base_revision=1)
    with pytest.raises(ValidationFailed):
        await services.create_playbook(actor=mentor, draft=draft(title="Short"))
    await services.verify_playbook(actor=mentor, playbook_id=playbook.id)
    assert await outbox_ids() == [doc_id] * 3


async def edit_from(playbook, actor, *, base_revision: int):
    proposal = draft(title=playbook.title, summary="Yet another summary of the whole thing here.")
    return await services.edit_playbook(actor=actor, playbook_id=playbook.id, draft=proposal,
                                        base_revision=base_revision, change_note="Stale edit")


async def test_the_indexer_makes_playbooks_searchable_by_stage(db, settings):
    backend = engine.build_backend(settings)
    await backend.ensure_index()
    await backend.reset()
    await make_playbook(title="Answering a tender that demands a bond", stage="first-re-tender",
                        summary="What to do when the tender wants a performance bond you cannot give.")
    await make_playbook(title="Getting admitted body status for pensions", stage="tupe-pensions")
    await make_thread(title="Who underwrote your pension bond?")
    await engine.build_indexer(backend).drain()

    page = await backend.search(SearchQuery(text="bond", facets=("kind", "stage"), per_page=20))
    assert page.facets["kind"] == {"playbook": 1, "question": 1}
    assert page.facets["stage"] == {"first-re-tender": 1}
    only = await backend.search(SearchQuery(text="admitted", filters={"stage": ("tupe-pensions",)}))
    assert [hit.url for hit in only.hits] == ["/playbooks/getting-admitted-body-status-for-pensions"]


async def test_reindex_and_verify_cover_playbooks(db, settings):
    backend = engine.build_backend(settings)
    await backend.ensure_index()
    await backend.reset()
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    await make_thread()
    ids = [doc_id async for batch in all_searchable_ids() for doc_id in batch]
    assert f"playbook-{playbook.id}" in ids and len(ids) == 2

    drift = await verify(backend, repair=False, progress=lambda _: None)
    assert f"playbook-{playbook.id}" in drift.missing
    assert await reindex(backend, progress=lambda _: None) == 2
    assert (await verify(backend, repair=False, progress=lambda _: None)).clean
    # Edited behind the outbox's back: verify sees it as stale, and repairs it.
    from forum.playbooks.models import Playbook

    await Playbook.filter(id=playbook.id).update(title="A title changed without the outbox")
    drift = await verify(backend, repair=True, progress=lambda _: None)
    assert drift.stale == [f"playbook-{playbook.id}"]
    assert (await verify(backend, repair=False, progress=lambda _: None)).clean


async def test_the_search_page_links_playbook_hits_to_the_playbook(app, client):
    playbook = await make_playbook(title="Answering a tender that demands a bond", stage="first-re-tender")
    await app.state.indexer.drain()
    page = (await client.get("/search", params={"q": "tender bond"})).text
    assert f'<a class="hit-title" href="{playbook.url}">' in page
    assert '<span class="badge">Playbook</span>' in page
