"""Suggested edits, outcome reports, organisations' progress and promoting a solved question."""

from __future__ import annotations

import pytest

from forum.accounts.models import Role
from forum.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from forum.people.models import Organisation
from forum.playbooks import practice, queries, services, suggestions
from forum.playbooks.content import draft_of, item_key
from forum.playbooks.models import (
    ChecklistTick,
    OutcomeReport,
    Playbook,
    PlaybookRevision,
    PlaybookSuggestion,
    SuggestionStatus,
)
from forum.playbooks.promotion import promotion_draft, promotion_source
from forum.threads import services as threads
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.playbooks.builders import make_mentor, make_playbook

pytestmark = pytest.mark.usefixtures("db")


async def suggest(playbook: Playbook, author, summary: str = "A better summary written by a member who did it."):
    proposal = draft_of(await Playbook.get(id=playbook.id))
    proposal.summary = summary
    return await suggestions.suggest_edit(
        actor=author, playbook_id=playbook.id, draft=proposal,
        base_revision=playbook.revision_number, change_note="Clearer summary",
    )


# Suggestions


async def test_any_member_suggests_an_edit_and_nothing_changes_until_it_is_accepted():
    playbook = await make_playbook()
    member = await make_user()
    suggestion = await suggest(playbook, member)

    assert (suggestion.status, suggestion.base_revision) == (SuggestionStatus.PENDING, 1)
    assert (await Playbook.get(id=playbook.id)).summary == playbook.summary
    assert await PlaybookRevision.filter(playbook_id=playbook.id).count() == 1


async def test_a_suggestion_identical_to_the_playbook_is_refused():
    playbook = await make_playbook()
    with pytest.raises(ValidationFailed, match="same as the playbook"):
        await suggest(playbook, await make_user(), summary=playbook.summary)


async def test_a_maintainer_accepts_a_suggestion_as_a_revision_credited_to_its_author():
    author = await make_mentor()
    playbook = await make_playbook(author)
    member = await make_user(display_name="Sian Morgan")
    suggestion = await suggest(playbook, member)

    accepted = await suggestions.accept_suggestion(actor=author, suggestion_id=suggestion.id, seen_revision=1)

    assert (accepted.revision_number, accepted.summary) == (2, suggestion.summary)
    assert accepted.stage == playbook.stage and accepted.tags == playbook.tags
    revision = await PlaybookRevision.get(playbook_id=playbook.id, number=2)
    assert revision.author_id == member.id
    assert revision.change_note == f"Clearer summary (suggested by Sian Morgan, accepted by {author.display_name})"
    stored = await PlaybookSuggestion.get(id=suggestion.id)
    assert (stored.status, stored.decided_by_id, stored.accepted_revision) == ("accepted", author.id, 2)
    with pytest.raises(Conflict, match="already accepted"):
        await suggestions.accept_suggestion(actor=author, suggestion_id=suggestion.id, seen_revision=2)


@pytest.mark.parametrize(("who", "allowed"), [
    ("maintainer", True), ("moderator", True), ("other mentor", False), ("member", False),
])
async def test_maintainers_and_moderators_decide_on_suggestions(who, allowed):
    author = await make_mentor()
    playbook = await make_playbook(author)
    suggestion = await suggest(playbook, await make_user())
    actor = {
        "maintainer": author, "moderator": await make_user(role=Role.MODERATOR),
        "other mentor": await make_mentor(), "member": await make_user(),
    }[who]
    if allowed:
        await suggestions.decline_suggestion(actor=actor, suggestion_id=suggestion.id, reason="Already covered in step 2.")
    else:
        with pytest.raises(NotAllowed):
            await suggestions.decline_suggestion(actor=actor, suggestion_id=suggestion.id, reason="No.")
    status = (await PlaybookSuggestion.get(id=suggestion.id)).status
    assert status == (SuggestionStatus.DECLINED if allowed else SuggestionStatus.PENDING)


async def test_declining_needs_a_reason_which_the_author_then_sees():
    author = await make_mentor()
    playbook = await make_playbook(author)
    suggestion = await suggest(playbook, await make_user())
    with pytest.raises(ValidationFailed) as error:
        await suggestions.decline_suggestion(actor=author, suggestion_id=suggestion.id, reason=" ")
    assert "why" in error.value.errors["reason"]
    await suggestions.decline_suggestion(actor=author, suggestion_id=suggestion.id, reason="The fund rules changed.")
    stored = await PlaybookSuggestion.get(id=suggestion.id)
    assert (stored.status, stored.decision_reason) == ("declined", "The fund rules changed.")
    assert (await Playbook.get(id=playbook.id)).revision_number == 1


async def test_accepting_after_the_playbook_moved_on_asks_the_maintainer_to_look_again():
    author = await make_mentor()
    playbook = await make_playbook(author)
    suggestion = await suggest(playbook, await make_user())
    current = draft_of(await Playbook.get(id=playbook.id))
    current.title = "Getting admitted body status, revised"
    await services.edit_playbook(actor=author, playbook_id=playbook.id, draft=current,
                                 base_revision=1, change_note="Retitled")
    with pytest.raises(Conflict, match="Look at the suggestion again"):
        await suggestions.accept_suggestion(actor=author, suggestion_id=suggestion.id, seen_revision=1)
    assert (await PlaybookSuggestion.get(id=suggestion.id)).status == SuggestionStatus.PENDING


async def test_the_queue_holds_what_waits_on_the_viewers_playbooks_and_all_for_moderators():
    mine_author, other_author = await make_mentor(), await make_mentor()
    mine, other = await make_playbook(mine_author), await make_playbook(other_author)
    member = await make_user()
    first = await suggest(mine, member)
    await suggest(other, member)
    decided = await suggest(mine, member, summary="Another idea about the summary of this one.")
    await suggestions.decline_suggestion(actor=mine_author, suggestion_id=decided.id, reason="Covered.")

    assert [s.id for s in (await queries.suggestion_queue(mine_author)).suggestions] == [first.id]
    moderator = await make_user(role=Role.MODERATOR)
    assert len((await queries.suggestion_queue(moderator)).suggestions) == 2


# Outcome reports


async def test_an_outcome_report_keeps_the_organisations_context_and_counts_per_step():
    organisation = await Organisation.create(slug="fellside", name="Fellside Leisure Trust",
                                             sector="Leisure", stage="tupe-pensions")
    member = await make_user(organisation=organisation)
    playbook = await make_playbook()
    step = playbook.steps[1]["key"]
    values = practice.OutcomeInput(outcome="partly", what_we_did="We asked for the **actuary's** workings.",
                                   step=step, happened_on="2025-08", evidence_url="https://example.org/paper")
    report = await practice.report_outcome(actor=member, playbook_id=playbook.id, values=values)
    await practice.report_outcome(actor=await make_user(), playbook_id=playbook.id, values=practice.OutcomeInput(
        outcome="worked", what_we_did="It worked for the whole thing, start to end."))

    stored = await OutcomeReport.get(id=report.id)
    assert (stored.sector, stored.stage, stored.organisation_id) == ("Leisure", "tupe-pensions", organisation.id)
    assert stored.happened_on.isoformat() == "2025-08-01"
    assert "<strong>actuary's</strong>" in stored.what_we_did_html
    page = await queries.playbook_page(playbook.slug, None)
    assert page.tally == {step: {"partly": 1}, "": {"worked": 1}}
    assert (await Playbook.get(id=playbook.id)).outcome_count == 2


@pytest.mark.parametrize(("changes", "field"), [
    ({"outcome": "great"}, "outcome"),
    ({"what_we_did": "Fine."}, "what_we_did"),
    ({"step": "nostep"}, "step"),
    ({"happened_on": "next week"}, "happened_on"),
    ({"happened_on": "2999-01"}, "happened_on"),
    ({"evidence_url": "javascript:alert(1)"}, "evidence_url"),
])
async def test_a_bad_outcome_report_is_refused_and_counts_nothing(changes, field):
    playbook = await make_playbook()
    values = practice.OutcomeInput(**{"outcome": "worked", "what_we_did": "We did what step one says.", **changes})
    with pytest.raises(ValidationFailed) as error:
        await practice.report_outcome(actor=await make_user(), playbook_id=playbook.id, values=values)
    assert field in error.value.errors
    assert await OutcomeReport.all().count() == 0
    assert (await Playbook.get(id=playbook.id)).outcome_count == 0


# Progress


async def test_progress_is_kept_per_organisation_and_shared_by_its_members():
    youth = await Organisation.create(slug="youth", name="Brightpath Youth CIC")
    care = await Organisation.create(slug="care", name="Carewise")
    dana, tom = await make_user(organisation=youth), await make_user(organisation=youth)
    lee = await make_user(organisation=care)
    playbook = await make_playbook()
    step = playbook.steps[0]
    first, second = (item_key(step["key"], item) for item in step["checklist"])

    assert await practice.set_progress(actor=dana, playbook_id=playbook.id, step_key=step["key"],
                                       done={first, second, "forged.key"}) == (2, 2)
    # Tom, of the same organisation, unticks one: it is the organisation's list.
    assert await practice.set_progress(actor=tom, playbook_id=playbook.id, step_key=step["key"],
                                       done={second}) == (1, 2)
    assert (await queries.playbook_page(playbook.slug, dana)).ticks == {second}
    assert (await queries.playbook_page(playbook.slug, lee)).ticks == set()
    tick = await ChecklistTick.get(organisation_id=youth.id)
    assert tick.ticked_by_id == dana.id


async def test_progress_needs_an_organisation_and_a_real_step():
    playbook = await make_playbook()
    with pytest.raises(NotAllowed, match="organisation"):
        await practice.set_progress(actor=await make_user(), playbook_id=playbook.id,
                                    step_key=playbook.steps[0]["key"], done=set())
    member = await make_user(organisation=await Organisation.create(slug="o", name="O"))
    with pytest.raises(NotFound):
        await practice.set_progress(actor=member, playbook_id=playbook.id, step_key="gone00", done=set())


# Promoting a thread


async def test_a_solved_question_becomes_a_prefilled_draft_linked_both_ways():
    topic = await make_topic("tupe-and-pensions")
    asker, mentor = await make_user("asha"), await make_mentor("kwame")
    thread = await make_thread(asker, topic, title="How did you get admitted body status?",
                               body="We spin out in April.", tags="lgps")
    answer = await make_reply(thread, mentor, body="Get the council's guarantee first, then talk to the fund.")
    await threads.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)

    proposal = promotion_draft(*await promotion_source(thread.id))
    assert proposal.title == "How did you get admitted body status"
    assert (proposal.topic, proposal.tags) == ("tupe-and-pensions", "lgps")
    assert proposal.steps[0].body == answer.body_source
    assert "@asha" in proposal.body and thread.url in proposal.body
    proposal.stage = "tupe-pensions"
    playbook = await services.create_playbook(actor=mentor, draft=proposal, source_thread_id=thread.id)
    assert playbook.source_thread_id == thread.id
    assert [p.id for p in await queries.playbooks_for_thread(thread)] == [playbook.id]


async def test_only_a_solved_question_can_be_promoted():
    thread = await make_thread()
    with pytest.raises(ValidationFailed, match="solved question"):
        await promotion_source(thread.id)
    with pytest.raises(NotFound):
        await promotion_source(9999)
