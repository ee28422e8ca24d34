"""Playbook services: who may do what, revisions, restoring, conflicts, verifying."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.timezone import now

from forum.accounts.models import Role
from forum.errors import Conflict, NotAllowed, NotFound, SignInRequired, ValidationFailed
from forum.playbooks import services
from forum.playbooks.content import StepDraft, draft_of, item_key
from forum.playbooks.models import Playbook, PlaybookMaintainer, PlaybookRevision
from forum.playbooks.services import EditConflict
from search_index.outbox import OutboxEntry
from tests.factories import make_topic, make_user
from tests.playbooks.builders import draft, edit, make_mentor, make_playbook

pytestmark = pytest.mark.usefixtures("db")


async def current_draft(playbook: Playbook):
    fresh = await Playbook.get(id=playbook.id).select_related("topic")
    return draft_of(fresh, fresh.topic.slug if fresh.topic else ""), fresh.revision_number


# Creating


async def test_creating_a_playbook_writes_revision_1_its_maintainer_and_an_outbox_row():
    mentor = await make_mentor()
    await make_topic("tupe-and-pensions")
    playbook = await services.create_playbook(actor=mentor, draft=draft(topic="tupe-and-pensions"))

    stored = await Playbook.get(id=playbook.id).select_related("topic")
    assert stored.slug == "getting-admitted-body-status-for-your-lgps-pensions"
    assert (stored.revision_number, stored.stage, stored.topic.slug) == (1, "tupe-pensions", "tupe-and-pensions")
    assert stored.tags == ["lgps", "tupe"]
    assert [s["title"] for s in stored.steps] == [f"Step about the admission agreement {n}" for n in (1, 2, 3)]
    assert stored.steps[0]["checklist"] == ["Check item 1.1", "Check item 1.2"]
    # Markdown rendered once, on save.
    assert stored.steps[0]["body_html"] == "<p>Ask the fund for the <strong>draft agreement</strong> early (part 1).</p>\n"
    assert stored.body_html == "<p>Start <em>early</em>: funds take months.</p>\n"
    assert stored.resources == [
        {"title": "Fund guide", "url": "https://example.org/guide", "note": "what the fund expects"}
    ]
    assert stored.review_by == stored.created_at.date() + services.REVIEW_INTERVAL
    revision = await PlaybookRevision.get(playbook_id=playbook.id)
    assert (revision.number, revision.author_id, revision.change_note) == (1, mentor.id, "First version")
    assert revision.steps == stored.steps and revision.title == stored.title
    assert await PlaybookMaintainer.filter(playbook_id=playbook.id).values_list("user_id", flat=True) == [mentor.id]
    assert await OutboxEntry.filter(doc_id=f"playbook-{playbook.id}").count() == 1


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.MEMBER, False), (Role.MENTOR, True), (Role.MODERATOR, True), (Role.ADMIN, True),
])
async def test_only_mentors_moderators_and_admins_create_playbooks(role, allowed):
    actor = await make_user(role=role)
    if allowed:
        await services.create_playbook(actor=actor, draft=draft())
        assert await Playbook.all().count() == 1
    else:
        with pytest.raises(NotAllowed):
            await services.create_playbook(actor=actor, draft=draft())
        assert await Playbook.all().count() == 0


async def test_creating_signed_out_asks_to_sign_in():
    with pytest.raises(SignInRequired):
        await services.create_playbook(actor=None, draft=draft())


async def test_a_second_playbook_with_the_same_title_gets_its_own_slug():
    mentor = await make_mentor()
    first = await services.create_playbook(actor=mentor, draft=draft())
    second = await services.create_playbook(actor=mentor, draft=draft())
    assert second.slug == f"{first.slug}-2"


async def test_a_title_that_would_take_a_page_address_gets_another_slug():
    playbook = await services.create_playbook(actor=await make_mentor(), draft=draft(title="Suggestions"))
    assert playbook.slug not in services.RESERVED_SLUGS


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": "Short"}, "title", "at least 10 characters"),
    ({"summary": "Too short."}, "summary", "at least 20 characters"),
    ({"stage": "somewhere"}, "stage", "Choose the stage"),
    ({"topic": "no-such-topic"}, "topic", "Choose a topic"),
    ({"tags": "a b c d e f"}, "tags", "at most 5 tags"),
    ({"steps": []}, "step-1-title", "Add at least one step"),
    ({"steps": [StepDraft(title="", body="Text without a title")]}, "step-1-title", "needs a title"),
    ({"steps": [StepDraft(title="A title only")]}, "step-1-body", "say what to do"),
    ({"steps": [StepDraft(title=f"Step {n}", body="x") for n in range(9)]}, "steps", "at most 8 steps"),
    ({"resources": "Guide | javascript:alert(1)"}, "resources", "isn't a web address"),
])
async def test_bad_input_is_refused_with_a_message_and_writes_nothing(changes, field, message):
    with pytest.raises(ValidationFailed) as error:
        await services.create_playbook(actor=await make_mentor(), draft=draft(**changes))
    assert message in error.value.errors[field]
    assert await Playbook.all().count() == 0 and await PlaybookRevision.all().count() == 0
    assert await OutboxEntry.all().count() == 0


async def test_blank_steps_are_dropped_and_checklist_markers_tidied():
    steps = [StepDraft(), StepDraft(title="Ask early", checklist="- [ ] Ask the fund\n* Ask again\n\n[x] Ask the fund")]
    playbook = await services.create_playbook(actor=await make_mentor(), draft=draft(steps=steps))
    assert [(s["title"], s["checklist"]) for s in playbook.steps] == [("Ask early", ["Ask the fund", "Ask again"])]


# Editing and revisions


@pytest.mark.parametrize(("who", "allowed"), [
    ("author", True), ("other mentor", True), ("moderator", True), ("member maintainer", True),
    ("member", False),
])
async def test_maintainers_mentors_and_moderators_edit_members_do_not(who, allowed):
    author = await make_mentor()
    playbook = await make_playbook(author)
    actor = {
        "author": author, "other mentor": await make_mentor(),
        "moderator": await make_user(role=Role.MODERATOR), "member": await make_user(),
        "member maintainer": await make_user(),
    }[who]
    if who == "member maintainer":
        await services.set_maintainers(actor=author, playbook_id=playbook.id,
                                       usernames=f"{author.username} {actor.username}")
    if allowed:
        await edit(playbook, actor, summary="A clearer summary of how admitted body status works.")
        assert (await Playbook.get(id=playbook.id)).revision_number == 2
    else:
        with pytest.raises(NotAllowed):
            await edit(playbook, actor, summary="A clearer summary of how admitted body status works.")
        assert (await Playbook.get(id=playbook.id)).revision_number == 1


async def test_every_save_makes_a_numbered_revision_with_its_author_and_note():
    author, editor = await make_mentor(), await make_mentor()
    playbook = await make_playbook(author)
    await edit(playbook, editor, "Bond figures for 2026", title="Getting admitted body status in 2026")
    await edit(playbook, author, "Shorter summary", summary="How to join the LGPS as an admitted body.")

    revisions = await PlaybookRevision.filter(playbook_id=playbook.id).order_by("number")
    assert [(r.number, r.author_id, r.change_note) for r in revisions] == [
        (1, author.id, "First version"), (2, editor.id, "Bond figures for 2026"),
        (3, author.id, "Shorter summary"),
    ]
    assert revisions[1].title == "Getting admitted body status in 2026"
    assert revisions[1].summary == revisions[0].summary  # a full snapshot, not a delta
    stored = await Playbook.get(id=playbook.id)
    assert (stored.revision_number, stored.updated_by_id) == (3, author.id)
    assert stored.slug == playbook.slug  # addresses stay put when the title changes
    assert await OutboxEntry.filter(doc_id=f"playbook-{playbook.id}").count() == 3


async def test_step_keys_survive_edits_so_ticks_and_reports_keep_their_step():
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    keys = [s["key"] for s in playbook.steps]
    current, number = await current_draft(playbook)
    current.steps.reverse()
    current.steps[0].body = "Rewritten."
    await services.edit_playbook(actor=mentor, playbook_id=playbook.id, draft=current,
                                 base_revision=number, change_note="Reordered")
    stored = await Playbook.get(id=playbook.id)
    assert [s["key"] for s in stored.steps] == keys[::-1]
    assert item_key(keys[0], "Check item 1.1") == item_key(keys[0], "check  item 1.1")


async def test_saving_without_a_change_is_refused():
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    current, number = await current_draft(playbook)
    with pytest.raises(ValidationFailed, match="Nothing has changed"):
        await services.edit_playbook(actor=mentor, playbook_id=playbook.id, draft=current,
                                     base_revision=number, change_note="No-op")
    assert await PlaybookRevision.filter(playbook_id=playbook.id).count() == 1


async def test_an_edit_needs_a_change_note():
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    with pytest.raises(ValidationFailed) as error:
        await edit(playbook, mentor, note=" ", summary="A different summary that is long enough.")
    assert "what you changed" in error.value.errors["change_note"]


# Conflicts


async def test_the_second_of_two_editors_starting_from_one_revision_gets_a_conflict():
    mentor, other = await make_mentor(), await make_mentor()
    playbook = await make_playbook(mentor)
    mine, base = await current_draft(playbook)
    theirs, _ = await current_draft(playbook)
    mine.summary = "My summary: how to get admitted body status without a bond."
    theirs.summary = "Their summary: how to get admitted body status, step by step."

    await services.edit_playbook(actor=other, playbook_id=playbook.id, draft=theirs,
                                 base_revision=base, change_note="Their change")
    with pytest.raises(EditConflict) as conflict:
        await services.edit_playbook(actor=mentor, playbook_id=playbook.id, draft=mine,
                                     base_revision=base, change_note="My change")

    assert conflict.value.status_code == 409
    assert conflict.value.current.revision_number == 2
    assert conflict.value.current.summary == theirs.summary
    assert conflict.value.draft.summary == mine.summary  # nothing typed is lost
    assert (conflict.value.change_note, conflict.value.base_revision) == ("My change", 1)
    assert (await Playbook.get(id=playbook.id)).summary == theirs.summary
    assert await PlaybookRevision.filter(playbook_id=playbook.id).count() == 2
    # Having seen both, the editor saves on top of the newer revision.
    await services.edit_playbook(actor=mentor, playbook_id=playbook.id, draft=mine,
                                 base_revision=2, change_note="My change, after the conflict")
    assert (await Playbook.get(id=playbook.id)).summary == mine.summary


# Restoring


async def test_restoring_an_old_revision_makes_a_new_revision_with_its_content():
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    original = playbook.summary
    await edit(playbook, mentor, summary="A worse summary that somebody wrote in a hurry.")
    restored = await services.restore_revision(actor=mentor, playbook_id=playbook.id, number=1, base_revision=2)

    assert (restored.revision_number, restored.summary) == (3, original)
    latest = await PlaybookRevision.get(playbook_id=playbook.id, number=3)
    assert (latest.restored_from, latest.change_note) == (1, "Restored revision 1")
    assert latest.steps == (await PlaybookRevision.get(playbook_id=playbook.id, number=1)).steps
    assert await OutboxEntry.filter(doc_id=f"playbook-{playbook.id}").count() == 3


async def test_members_cannot_restore_and_stale_or_odd_restores_are_refused():
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    await edit(playbook, mentor, summary="A second summary, long enough to be valid.")
    with pytest.raises(NotAllowed):
        await services.restore_revision(actor=await make_user(), playbook_id=playbook.id, number=1, base_revision=2)
    with pytest.raises(Conflict):
        await services.restore_revision(actor=mentor, playbook_id=playbook.id, number=1, base_revision=1)
    with pytest.raises(NotFound):
        await services.restore_revision(actor=mentor, playbook_id=playbook.id, number=7, base_revision=2)
    with pytest.raises(ValidationFailed):
        await services.restore_revision(actor=mentor, playbook_id=playbook.id, number=2, base_revision=2)
    assert (await Playbook.get(id=playbook.id)).revision_number == 2


# Verifying and maintainers


async def test_verifying_records_who_and_when_and_pushes_the_review_date_on():
    playbook = await make_playbook()
    await Playbook.filter(id=playbook.id).update(review_by=now().date() - timedelta(days=3))
    mentor = await make_mentor()
    outbox_before = await OutboxEntry.all().count()

    verified = await services.verify_playbook(actor=mentor, playbook_id=playbook.id)

    assert verified.last_verified_by_id == mentor.id
    assert verified.last_verified_at is not None
    assert verified.review_by == now().date() + services.REVIEW_INTERVAL
    assert verified.revision_number == 1  # not a content change
    assert await OutboxEntry.all().count() == outbox_before


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.MEMBER, False), (Role.MENTOR, True), (Role.MODERATOR, True), (Role.ADMIN, True),
])
async def test_mentors_and_moderators_verify_members_do_not(role, allowed):
    playbook = await make_playbook()
    actor = await make_user(role=role)
    if allowed:
        await services.verify_playbook(actor=actor, playbook_id=playbook.id)
    else:
        with pytest.raises(NotAllowed):
            await services.verify_playbook(actor=actor, playbook_id=playbook.id)
    assert ((await Playbook.get(id=playbook.id)).last_verified_by_id is not None) == allowed


async def test_maintainers_choose_maintainers_by_username():
    author = await make_mentor("kwame")
    await make_user("Marcus_Bell")
    playbook = await make_playbook(author)
    await services.set_maintainers(actor=author, playbook_id=playbook.id, usernames="@marcus_bell, kwame")
    names = PlaybookMaintainer.filter(playbook_id=playbook.id).values_list("user__username", flat=True)
    assert sorted(await names) == ["Marcus_Bell", "kwame"]
    with pytest.raises(ValidationFailed, match="no member called 'nobody'"):
        await services.set_maintainers(actor=author, playbook_id=playbook.id, usernames="nobody")
    with pytest.raises(ValidationFailed, match="at least one"):
        await services.set_maintainers(actor=author, playbook_id=playbook.id, usernames="  ")
    with pytest.raises(NotAllowed):
        await services.set_maintainers(actor=await make_mentor(), playbook_id=playbook.id, usernames="kwame")
    assert len(await services.maintainer_ids(playbook.id)) == 2
