"""Playbook pages through HTTP, as a browser without JavaScript uses them (POST, 303)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from markupsafe import escape
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.people.models import Organisation
from forum.playbooks import services
from forum.playbooks.content import item_key
from forum.playbooks.models import (
    ChecklistTick,
    OutcomeReport,
    Playbook,
    PlaybookRevision,
    PlaybookSuggestion,
)
from forum.settings import Settings
from forum.threads import services as threads
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.playbooks.builders import edit, make_mentor, make_playbook
from tests.web import csrf_in, post_form, sign_in

PAGE_SIZE = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"page_size": PAGE_SIZE})


def section(page: str, start: str, end: str) -> str:
    begin = page.index(start)
    return page[begin: page.index(end, begin)]


def titles(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<a class="thread-title" href="/playbooks/[^"]*">([^<]*)</a>', page)]


async def signed_in(client, role: Role = Role.MEMBER, **fields) -> User:
    user = await make_user(role=role, **fields)
    await sign_in(client, user)
    return user


def form_of(playbook: Playbook, **changes) -> dict[str, str]:
    """The edit form's fields for `playbook` as it is, with `changes`."""
    fields = {
        "title": playbook.title, "summary": playbook.summary, "body": playbook.body_source,
        "stage": str(playbook.stage), "topic": "", "tags": " ".join(playbook.tags),
        "resources": "", "base_revision": str(playbook.revision_number), "change_note": "",
    }
    for n, step in enumerate(playbook.steps, 1):
        fields |= {f"step-{n}-key": step["key"], f"step-{n}-title": step["title"],
                   f"step-{n}-body": step["body"], f"step-{n}-checklist": "\n".join(step["checklist"])}
    return fields | changes


# The list


async def test_the_list_filters_by_stage_and_topic_and_paginates(client):
    pensions = await make_topic("tupe-and-pensions")
    mentor = await make_mentor()
    for n in range(4):
        await make_playbook(mentor, title=f"Pensions playbook number {n}", topic=pensions.slug)
    await make_playbook(mentor, title="Bond playbook for re-tenders", stage="first-re-tender")

    everything = (await client.get("/playbooks")).text
    assert "5 playbooks" in everything and len(titles(everything)) == PAGE_SIZE
    assert 'href="/playbooks?page=2"' in everything

    by_stage = (await client.get("/playbooks?stage=first-re-tender")).text
    assert titles(by_stage) == ["Bond playbook for re-tenders"]
    assert '<option value="first-re-tender" selected>' in by_stage
    by_topic = await client.get("/playbooks?topic=tupe-and-pensions&page=2")
    assert titles(by_topic.text) == ["Pensions playbook number 0"]
    assert "4 playbooks match these filters" in by_topic.text
    both = (await client.get("/playbooks?topic=tupe-and-pensions&stage=first-re-tender")).text
    assert titles(both) == [] and "No playbooks match these filters yet" in both
    # Unknown filters are ignored; pages past the end move to the last one.
    assert len(titles((await client.get("/playbooks?stage=bogus&topic=nope")).text)) == PAGE_SIZE
    late = await client.get("/playbooks?stage=tupe-pensions&page=9")
    assert (late.status_code, late.headers["location"]) == (301, "/playbooks?stage=tupe-pensions&page=2")


async def test_an_empty_list_says_so_and_only_writers_see_the_write_button(client):
    page = (await client.get("/playbooks")).text
    assert "There are no playbooks yet" in page and 'href="/playbooks/new"' not in page
    await signed_in(client, Role.MENTOR)
    assert 'href="/playbooks/new"' in (await client.get("/playbooks")).text


async def test_overdue_playbooks_are_marked_in_words_not_colour(client):
    playbook = await make_playbook()
    await Playbook.filter(id=playbook.id).update(review_by=now().date() - timedelta(days=1))
    assert "Review due" in (await client.get("/playbooks")).text
    detail = (await client.get(playbook.url)).text
    assert "<strong>Review due:</strong>" in detail


# The journey


async def test_the_journey_lists_every_stage_in_order_with_its_playbooks(client):
    await make_playbook(title="Writing the options appraisal", stage="options-appraisal")
    await make_playbook(title="Choosing a legal form", stage="legal-set-up")
    page = (await client.get("/journey")).text
    headings = re.findall(r'<h2 id="stage-([a-z-]+)-title">', page)
    assert headings == [
        "exploring", "options-appraisal", "business-case", "parent-body-approval", "legal-set-up",
        "tupe-pensions", "go-live", "first-re-tender", "growing",
    ]
    options = section(page, 'id="stage-options-appraisal"', "</section>")
    assert "Writing the options appraisal" in options
    assert "No playbook for this stage yet" in section(page, 'id="stage-exploring"', "</section>")


async def test_the_home_page_and_every_page_lead_to_the_journey_and_playbooks(client):
    home = (await client.get("/")).text
    assert 'href="/journey">Follow the spin-out journey</a>' in home
    nav = section(home, '<nav aria-label="Main">', "</nav>")
    assert '<a href="/journey">Journey</a>' in nav and '<a href="/playbooks">Playbooks</a>' in nav


# Reading


async def test_the_playbook_page_shows_summary_steps_checklists_freshness_and_maintainers(client):
    author = await make_mentor("kwame", display_name="Kwame Asante")
    playbook = await make_playbook(author)
    await services.verify_playbook(actor=author, playbook_id=playbook.id)
    page = (await client.get(playbook.url)).text
    assert "<h1 id=\"playbook-title\">" in page and str(escape(playbook.summary)) in page
    steps = re.findall(r'<h3 id="step-[0-9a-f]{6}-title"><span class="visually-hidden">Step (\d): </span>', page)
    assert steps == ["1", "2", "3"]
    assert "<li>Check item 2.1</li>" in page
    assert "<strong>draft agreement</strong>" in page
    assert 'Last verified by <a href="/u/kwame">Kwame Asante</a>' in page
    assert "Next review by" in page and "Review due" not in page
    assert 'href="https://example.org/guide" rel="nofollow ugc noopener">Fund guide</a>: what the fund expects' in page
    assert "Kwame Asante</a> <span class=\"badge badge-role\">Mentor</span>" in section(page, 'id="maintainers"', "</section>")
    assert f'href="{playbook.url}/history"' in page
    assert (await client.get("/playbooks/no-such-thing")).status_code == 404


async def test_signed_out_readers_see_no_write_controls(client):
    playbook = await make_playbook()
    page = (await client.get(playbook.url)).text
    for control in ("/edit", "/verify", "/suggest\"", "/progress", "/maintainers"):
        assert f'{playbook.url}{control}' not in page
    assert "Sign in</a> to track your organisation" in page


# Writing


async def test_members_are_refused_the_new_playbook_form_and_signed_out_visitors_sent_to_sign_in(client):
    response = await client.get("/playbooks/new")
    assert (response.status_code, response.headers["location"]) == (303, "/signin?next=/playbooks/new")
    await signed_in(client)
    assert (await client.get("/playbooks/new")).status_code == 403
    response = await post_form(client, "/playbooks/new", {"title": "A playbook by a member"})
    assert response.status_code == 403
    assert await Playbook.all().count() == 0


async def test_a_mentor_writes_a_playbook_with_steps_and_checklists(client):
    mentor = await signed_in(client, Role.MENTOR)
    form = (await client.get("/playbooks/new")).text
    assert form.count("<legend>Step ") == 3
    fields = {
        "title": "Answering a tender that demands a bond", "stage": "first-re-tender",
        "summary": "What to do when a tender asks for a bond a young mutual cannot give.",
        "tags": "tender-bond", "step-1-title": "Ask a clarification question",
        "step-1-body": "Use the *clarification* window.", "step-1-checklist": "Question sent\nAnswer saved",
        "step-2-title": "", "step-2-body": "", "step-3-title": "Offer an alternative",
        "step-3-body": "A smaller bond.", "resources": "https://www.legislation.gov.uk/ukpga/2023/54",
    }
    response = await post_form(client, "/playbooks/new", fields, from_url="/playbooks/new")
    assert response.status_code == 303
    playbook = await Playbook.get(created_by_id=mentor.id)
    assert response.headers["location"] == playbook.url == "/playbooks/answering-a-tender-that-demands-a-bond"
    assert [s["title"] for s in playbook.steps] == ["Ask a clarification question", "Offer an alternative"]
    assert playbook.steps[0]["checklist"] == ["Question sent", "Answer saved"]
    page = (await client.get(playbook.url)).text
    assert "Use the <em>clarification</em> window." in page
    # The member's organisation-less account sees the checklist, not tick boxes.
    assert '<li>Question sent</li>' in page


async def test_form_errors_are_shown_next_to_their_fields_with_everything_typed_kept(client):
    await signed_in(client, Role.MENTOR)
    fields = {"title": "Short", "summary": "Summary <kept> as typed here.", "stage": "",
              "step-1-title": "", "step-1-body": "Body without a title", "step-1-checklist": "One\nTwo"}
    response = await post_form(client, "/playbooks/new", fields, from_url="/playbooks/new")
    assert response.status_code == 422
    page = response.text
    assert "Title: use at least 10 characters." in section(page, 'for="title"', "</div>")
    assert "Step 1 needs a title." in section(page, 'for="step-1-title"', "</div>")
    assert "Choose the stage" in section(page, 'for="stage"', "</select>")
    assert 'value="Short"' in page
    assert f">{escape('Summary <kept> as typed here.')}</textarea>" in page
    assert ">Body without a title</textarea>" in page and ">One\nTwo</textarea>" in page
    assert '<div class="error-summary" role="alert"' in page and 'href="#step-1-title"' in page
    assert await Playbook.all().count() == 0


async def test_step_buttons_add_move_and_remove_steps_without_saving(client):
    await signed_in(client, Role.MENTOR)
    fields = {"title": "A playbook being written", "step-1-title": "First", "step-2-title": "Second"}
    added = await post_form(client, "/playbooks/new", fields | {"action": "add-step"}, from_url="/playbooks/new")
    assert added.status_code == 200 and "Step 3 added" in added.text
    assert added.text.count("<legend>Step ") == 3
    blank = fields | {"step-3-title": "", "action": "add-step"}
    again = await post_form(client, "/playbooks/new", blank, from_url="/playbooks/new")
    assert "Step 3 is still empty" in again.text and again.text.count("<legend>Step ") == 3
    moved = await post_form(client, "/playbooks/new", fields | {"action": "up-2"}, from_url="/playbooks/new")
    assert re.findall(r'id="step-\d-title" name="step-\d-title" type="text" value="(\w*)"', moved.text)[:2] == ["Second", "First"]
    removed = await post_form(client, "/playbooks/new", fields | {"action": "remove-1"}, from_url="/playbooks/new")
    assert 'value="First"' not in removed.text and 'value="Second"' in removed.text
    assert await Playbook.all().count() == 0


async def test_editing_saves_a_revision_and_members_cannot_edit(client):
    author = await make_mentor()
    playbook = await make_playbook(author)
    await signed_in(client)
    assert (await client.get(f"{playbook.url}/edit")).status_code == 403
    assert (await post_form(client, f"{playbook.url}/edit", form_of(playbook))).status_code == 403

    await sign_in(client, author)
    form = (await client.get(f"{playbook.url}/edit")).text
    assert 'name="base_revision" value="1"' in form and playbook.steps[0]["key"] in form
    fields = form_of(playbook, summary="A shorter summary of admitted body status.", change_note="Shorter")
    response = await post_form(client, f"{playbook.url}/edit", fields, from_url=f"{playbook.url}/edit")
    assert (response.status_code, response.headers["location"]) == (303, playbook.url)
    stored = await Playbook.get(id=playbook.id)
    assert (stored.revision_number, stored.summary) == (2, "A shorter summary of admitted body status.")
    assert [s["key"] for s in stored.steps] == [s["key"] for s in playbook.steps]


async def test_two_editors_from_one_revision_the_second_gets_a_conflict_page_keeping_both_texts(client):
    first, second = await make_mentor(display_name="First Editor"), await make_mentor()
    playbook = await make_playbook(first)
    theirs = form_of(playbook, summary="Their summary, saved first by the other editor.", change_note="Theirs")
    mine = form_of(playbook, summary="My summary, which I typed <carefully>.", change_note="Mine",
                   **{"step-1-body": "My rewritten first step."})
    await sign_in(client, first)
    assert (await post_form(client, f"{playbook.url}/edit", theirs)).status_code == 303

    await sign_in(client, second)
    response = await post_form(client, f"{playbook.url}/edit", mine)

    assert response.status_code == 409
    page = response.text
    assert "Someone else changed this playbook while you were editing" in page
    assert "You started from revision 1, but First Editor saved revision 2" in page
    saved = section(page, 'id="theirs-title"', "</section>")
    assert "Their summary, saved first by the other editor." in saved
    yours = section(page, 'id="yours-title"', "</form>")
    assert f">{escape('My summary, which I typed <carefully>.')}</textarea>" in yours
    assert ">My rewritten first step.</textarea>" in yours and 'value="Mine"' in yours
    assert 'name="base_revision" value="2"' in yours
    differences = section(page, 'id="differences-title"', 'id="theirs-title"')
    assert "<del>" in differences and "<ins>" in differences
    assert (await Playbook.get(id=playbook.id)).summary == "Their summary, saved first by the other editor."
    # Saving again from the conflict page, having seen both, works.
    again = dict(mine, base_revision="2")
    assert (await post_form(client, f"{playbook.url}/edit", again)).status_code == 303
    assert (await Playbook.get(id=playbook.id)).revision_number == 3


# History, comparing, restoring


async def test_history_lists_revisions_and_compare_shows_a_labelled_word_diff(client):
    author = await make_mentor(display_name="Clive Ashworth")
    playbook = await make_playbook(author, summary="Brief councillors early and in private.")
    await edit(playbook, author, "Added scrutiny", summary="Brief councillors and scrutiny early and in private.")
    history = (await client.get(f"{playbook.url}/history")).text
    rows = re.findall(r'<th scope="row">(\d+)( \(current\))?</th>', history)
    assert rows == [("2", " (current)"), ("1", "")]
    assert "Added scrutiny" in history and "Clive Ashworth" in history

    compare = (await client.get(f"{playbook.url}/compare?a=1&b=2")).text
    assert "Revision 1 compared with revision 2" in compare
    summary = section(compare, ">Summary <span", "</section>")
    assert ('<ins><span aria-hidden="true">[+</span><span class="visually-hidden">added: </span>'
            ' and scrutiny<span aria-hidden="true">+]</span>') in summary
    assert "Added words are underlined and marked" in compare  # the legend, in words
    assert (await client.get(f"{playbook.url}/compare")).text == compare  # the latest change by default
    assert (await client.get(f"{playbook.url}/compare?a=1&b=9")).status_code == 404
    assert (await client.get(f"{playbook.url}/compare?a=x")).status_code == 404


async def test_a_maintainer_restores_an_old_revision_from_the_history(client):
    author = await make_mentor()
    playbook = await make_playbook(author)
    await edit(playbook, author, summary="A mistaken summary that needs to be undone.")
    await signed_in(client)
    history = (await client.get(f"{playbook.url}/history")).text
    assert f'action="{playbook.url}/restore"' not in history
    data = {"number": "1", "base_revision": "2"}
    assert (await post_form(client, f"{playbook.url}/restore", data)).status_code == 403

    await sign_in(client, author)
    assert f'action="{playbook.url}/restore"' in (await client.get(f"{playbook.url}/history")).text
    response = await post_form(client, f"{playbook.url}/restore", data)
    assert (response.status_code, response.headers["location"]) == (303, f"{playbook.url}/history")
    stored = await Playbook.get(id=playbook.id)
    assert (stored.revision_number, stored.summary) == (3, playbook.summary)
    # A stale form (someone saved since) is refused, not applied.
    stale = await post_form(client, f"{playbook.url}/restore", data)
    assert stale.status_code == 409
    assert await PlaybookRevision.filter(playbook_id=playbook.id).count() == 3


async def test_the_atom_feed_lists_revisions_newest_first(client):
    author = await make_mentor()
    playbook = await make_playbook(author)
    await edit(playbook, author, "Fund & bond <figures>", summary="An updated summary about the fund.")
    response = await client.get(f"{playbook.url}/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    entries = re.findall(r"<title>(Revision \d+: [^<]*)</title>", response.text)
    assert entries == ["Revision 2: Fund &amp; bond &lt;figures&gt;", "Revision 1: First version"]
    assert f"<id>http://testserver{playbook.url}/feed.atom</id>" in response.text


# Freshness


async def test_mentors_see_the_due_list_and_verify_from_it(client):
    due = await make_playbook(title="An overdue playbook about bonds")
    fresh = await make_playbook(title="A fresh playbook about pensions")
    await Playbook.filter(id=due.id).update(review_by=now().date() - timedelta(days=10))
    await signed_in(client)
    assert (await client.get("/playbooks/due")).status_code == 403
    assert (await post_form(client, f"{due.url}/verify")).status_code == 403

    await signed_in(client, Role.MENTOR)
    page = (await client.get("/playbooks/due")).text
    assert "An overdue playbook about bonds" in page and fresh.title not in page
    assert "(10 days ago)" in page
    response = await post_form(client, f"{due.url}/verify", {"next": "/playbooks/due"}, from_url="/playbooks/due")
    assert (response.status_code, response.headers["location"]) == (303, "/playbooks/due")
    assert "Nothing is due" in (await client.get("/playbooks/due")).text
    # An outside address in `next` is ignored.
    response = await post_form(client, f"{due.url}/verify", {"next": "https://evil.example/"})
    assert response.headers["location"] == due.url


# Suggestions, outcomes, progress, promotion


async def test_a_member_suggests_an_edit_and_the_maintainer_accepts_it(client):
    author = await make_mentor()
    playbook = await make_playbook(author)
    member = await signed_in(client)
    page = (await client.get(playbook.url)).text
    assert f'href="{playbook.url}/suggest"' in page and f'href="{playbook.url}/edit"' not in page
    fields = form_of(playbook, summary="A summary the member thinks is clearer.", change_note="Clearer")
    response = await post_form(client, f"{playbook.url}/suggest", fields, from_url=f"{playbook.url}/suggest")
    suggestion = await PlaybookSuggestion.get(author_id=member.id)
    assert response.headers["location"] == f"{playbook.url}/suggestions/{suggestion.id}"
    assert "Waiting for a maintainer" in (await client.get(response.headers["location"])).text

    await sign_in(client, author)
    assert "1 suggested edit waiting" in (await client.get(playbook.url)).text
    assert "Clearer" in (await client.get("/playbooks/suggestions")).text
    review = (await client.get(f"{playbook.url}/suggestions/{suggestion.id}")).text
    assert "<ins>" in review and 'name="seen_revision" value="1"' in review
    response = await post_form(client, f"{playbook.url}/suggestions/{suggestion.id}/accept",
                               {"seen_revision": "1"})
    assert response.status_code == 303
    assert (await Playbook.get(id=playbook.id)).summary == "A summary the member thinks is clearer."


async def test_declining_without_a_reason_shows_the_error_and_keeps_the_suggestion_waiting(client):
    author = await make_mentor()
    playbook = await make_playbook(author)
    member = await make_user()
    from forum.playbooks import suggestions
    from forum.playbooks.content import draft_of

    proposal = draft_of(playbook)
    proposal.summary = "Another member's idea for a better summary."
    suggestion = await suggestions.suggest_edit(actor=member, playbook_id=playbook.id, draft=proposal,
                                                base_revision=1, change_note="Idea")
    await sign_in(client, author)
    url = f"{playbook.url}/suggestions/{suggestion.id}"
    response = await post_form(client, f"{url}/decline", {"reason": ""})
    assert response.status_code == 422 and "Tell the member why" in response.text
    response = await post_form(client, f"{url}/decline", {"reason": "Step 2 covers it."})
    assert response.status_code == 303
    assert "Step 2 covers it." in (await client.get(url)).text


async def test_a_member_reports_an_outcome_and_bad_reports_come_back_with_their_text(client):
    organisation = await Organisation.create(slug="fellside", name="Fellside Leisure Trust", sector="Leisure")
    playbook = await make_playbook()
    await signed_in(client, organisation=organisation)
    step = playbook.steps[0]["key"]
    form = (await client.get(f"{playbook.url}/outcomes/new?step={step}")).text
    assert f'<option value="{step}" selected>' in form
    bad = {"step": step, "outcome": "", "what_we_did": "Too short", "happened_on": "soon"}
    response = await post_form(client, f"{playbook.url}/outcomes/new", bad)
    assert response.status_code == 422
    assert ">Too short</textarea>" in response.text and 'value="soon"' in response.text
    assert "Choose how it went" in response.text
    good = bad | {"outcome": "worked", "what_we_did": "We asked the fund early and it said yes.", "happened_on": "2025-09"}
    response = await post_form(client, f"{playbook.url}/outcomes/new", good)
    assert response.status_code == 303
    page = (await client.get(playbook.url)).text
    assert "Outcome reports for this step: 1 worked · 0 partly worked · 0 did not work." in page
    assert "Fellside Leisure Trust" in page and "September 2025" in page
    assert await OutcomeReport.all().count() == 1


async def test_members_of_an_organisation_tick_checklist_items_without_javascript(client):
    organisation = await Organisation.create(slug="youth", name="Brightpath Youth CIC")
    playbook = await make_playbook()
    await signed_in(client, organisation=organisation)
    step = playbook.steps[0]
    key = item_key(step["key"], step["checklist"][1])
    page = (await client.get(playbook.url)).text
    assert f'<input type="checkbox" id="item-{key}" name="item-{key}">' in page
    response = await client.post(f"{playbook.url}/progress", data={
        "csrf_token": csrf_in(page), "step": step["key"], f"item-{key}": "on",
    })
    assert (response.status_code, response.headers["location"]) == (303, f"{playbook.url}#step-{step['key']}")
    page = (await client.get(playbook.url)).text
    assert f'name="item-{key}" checked>' in page
    assert "Your organisation has done 1 of 6 checklist items" in page
    assert await ChecklistTick.filter(organisation_id=organisation.id).count() == 1


async def test_a_mentor_promotes_a_solved_question_into_a_prefilled_playbook(client):
    topic = await make_topic("tupe-and-pensions")
    asker, mentor = await make_user(), await make_mentor()
    thread = await make_thread(asker, topic, title="How did you get admitted body status?")
    answer = await make_reply(thread, mentor, body="Guarantee first, then the fund.")
    await threads.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    await sign_in(client, mentor)
    url = f"/playbooks/new?from_thread={thread.id}"
    form = (await client.get(url)).text
    assert 'value="How did you get admitted body status"' in form
    assert ">Guarantee first, then the fund.</textarea>" in form
    assert f'action="/playbooks/new?from_thread={thread.id}"' in html.unescape(form)
    fields = {"title": "Getting admitted body status", "stage": "tupe-pensions", "topic": topic.slug,
              "summary": "From the question: the guarantee first, then the fund.",
              "step-1-title": "What worked", "step-1-body": "Guarantee first, then the fund."}
    response = await post_form(client, url, fields, from_url=url)
    assert response.status_code == 303
    playbook = await Playbook.get(source_thread_id=thread.id)
    assert thread.url in (await client.get(playbook.url)).text
    unsolved = await make_thread(asker, topic)
    assert (await client.get(f"/playbooks/new?from_thread={unsolved.id}")).status_code == 422


async def test_a_thread_page_shows_its_topics_playbooks_and_offers_mentors_to_promote_it(client):
    from forum.threads import services as thread_services
    from tests.factories import make_reply, make_thread, make_topic
    from tests.playbooks.builders import make_mentor, make_playbook
    from tests.web import sign_in

    topic = await make_topic("tupe-pensions", "TUPE & pensions")
    mentor = await make_mentor()
    playbook = await make_playbook(mentor, topic="tupe-pensions")
    thread = await make_thread(topic=topic)
    answer = await make_reply(thread, mentor)
    asker = await thread.author
    await thread_services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)

    anonymous = (await client.get(thread.url)).text
    assert f'href="/playbooks/{playbook.slug}"' in anonymous
    assert "Turn this answer into a playbook" not in anonymous

    await sign_in(client, mentor)
    as_mentor = (await client.get(thread.url)).text
    assert f'href="/playbooks/new?from_thread={thread.id}"' in as_mentor


async def test_playbooks_and_threads_link_to_what_search_relates_to_them(client, app):
    from tests.factories import make_thread, make_topic
    from tests.playbooks.builders import make_playbook

    topic = await make_topic("tupe-pensions", "TUPE & pensions")
    thread = await make_thread(
        topic=topic, title="Getting admitted body status took our fund nine months"
    )
    playbook = await make_playbook(title="Getting admitted body status for your LGPS pensions")
    await app.state.indexer.drain()

    link = re.search(r'href="(/search/related\?[^"]+)"', (await client.get(playbook.url)).text)
    related = await client.get(html.unescape(link.group(1)))
    assert related.status_code == 200
    assert f'href="{thread.url}"' in related.text

    link = re.search(r'href="(/search/related\?[^"]+)"', (await client.get(thread.url)).text)
    related = await client.get(html.unescape(link.group(1)))
    assert f'href="{playbook.url}"' in related.text
