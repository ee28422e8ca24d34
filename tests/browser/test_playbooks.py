"""Playbooks in real Chromium, with JavaScript on (htmx-boosted) and off (plain forms, 303s).

The live server holds the demo playbooks (`forum seed-demo`, see seed.py) and the demo
accounts (password below). Each test, and each JavaScript mode of it, works on its own
playbook so that none sees another's edits. Every page and state reached is checked by
axe-core and for console problems (`Tab.check()`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.browsing import Tab, forget_refusal_log

DEMO_PASSWORD = "demo-password-2026"

JS_ON_AND_OFF = pytest.mark.parametrize(
    "javascript", [True, False], ids=["javascript", "no-javascript"]
)


@dataclass(frozen=True)
class Playbook:
    slug: str
    title: str

    @property
    def url(self) -> str:
        return f"/playbooks/{self.slug}"


COUNCILLORS = Playbook("making-the-case-to-councillors", "Making the case to councillors")
OPTIONS = Playbook("writing-the-options-appraisal", "Writing the options appraisal")
GO_LIVE = Playbook("the-last-month-before-go-live", "The last month before go-live")
SOCIAL_VALUE = Playbook(
    "evidencing-social-value-without-a-dedicated-team",
    "Evidencing social value without a dedicated team",
)
RE_TENDER = Playbook("surviving-your-first-re-tender", "Surviving your first re-tender")
TRUST = Playbook(
    "setting-up-an-employee-benefit-trust", "Setting up an employee benefit trust to hold your shares"
)


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def sign_in(tab: Tab, username: str, next_url: str, landing_title: str) -> None:
    """Sign in from the sign-in page, coming back to `next_url`."""
    tab.open(f"/signin?next={next_url}")
    page = tab.page
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(nav(page).get_by_role("button", name="Sign out")).to_be_visible()
    expect(heading(page)).to_have_text(landing_title)
    tab.check()


def revision_number(page: Page) -> int:
    match = re.search(r"Revision (\d+), updated", page.locator("article.playbook header .meta").inner_text())
    assert match, "the playbook page does not say its revision"
    return int(match.group(1))


@JS_ON_AND_OFF
def test_a_newcomer_goes_from_the_journey_to_a_playbooks_steps(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    tab = open_tab(javascript=javascript)
    page = tab.page
    tab.open("/")
    if javascript:
        tab.mark_document()

    # The home page links to the journey: the stages in order, each with its playbooks.
    page.get_by_role("link", name="Follow the spin-out journey").click()
    expect(heading(page)).to_have_text("The spin-out journey")
    tab.check()
    stage_links = page.get_by_role("navigation", name="Stages").get_by_role("link")
    expect(stage_links).to_have_count(9)
    expect(stage_links.first).to_have_text("Exploring")
    stages = page.locator(".journey > section.journey-stage h2")
    expect(stages).to_have_count(9)
    expect(stages.nth(3)).to_have_text("Stage 4. Parent-body approval")

    # A stage, then one of its playbooks.
    stage_links.filter(has_text="Parent-body approval").click()
    expect(page).to_have_url(re.compile(r"/journey#stage-parent-body-approval$"))
    stage = page.get_by_role("region", name="Stage 4. Parent-body approval")
    stage.get_by_role("link", name=COUNCILLORS.title, exact=True).click()
    expect(heading(page)).to_have_text(COUNCILLORS.title)
    expect(page).to_have_url(re.compile(re.escape(COUNCILLORS.url) + "$"))
    tab.check()
    if javascript:
        tab.assert_same_document("following the journey to a playbook")

    # The steps, in order, each with its checklist to read; how fresh it is.
    steps = page.get_by_role("region", name="Steps").locator("ol.steps > li")
    expect(steps).to_have_count(4)
    expect(steps.first.get_by_role("heading", level=3)).to_have_text("Step 1: Map the decision path")
    expect(steps.first.get_by_role("listitem")).to_contain_text(
        ["Decision path drawn up", "Forward plan entry", "Monitoring officer"]
    )
    expect(steps.first.get_by_role("checkbox")).to_have_count(0)  # ticking needs an organisation
    freshness = page.get_by_role("region", name="Is this still up to date?")
    expect(freshness).to_contain_text("Last verified by Clive Ashworth")
    expect(page.get_by_role("link", name="Sign in", exact=True).first).to_be_visible()
    expect(page.get_by_role("region", name="Worked for us?")).to_contain_text("outcome reports")

    # The breadcrumb's stage leads to the list of that stage's playbooks.
    page.locator("article.playbook .breadcrumb").get_by_role("link", name="Parent-body approval").click()
    expect(heading(page)).to_have_text("Playbooks")
    expect(page.get_by_label("Stage", exact=True)).to_have_value("parent-body-approval")
    expect(page.get_by_role("link", name=COUNCILLORS.title, exact=True)).to_be_visible()
    tab.check()


@JS_ON_AND_OFF
def test_a_member_ticks_checklist_items_and_reports_an_outcome(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    # Progress belongs to an organisation: each run has its own playbook and organisation.
    member, playbook = ("dana_okafor", COUNCILLORS) if javascript else ("priya_nair", OPTIONS)
    tab = open_tab(javascript=javascript)
    page = tab.page
    sign_in(tab, member, playbook.url, playbook.title)
    if javascript:
        tab.mark_document()

    step_one = page.locator("ol.steps > li").first
    boxes = step_one.get_by_role("checkbox")
    expect(boxes.first).not_to_be_checked()
    summary = page.locator("#progress-summary")
    expect(summary).to_contain_text("Your organisation has done 0 of")
    first, second = boxes.nth(0), boxes.nth(1)
    first_label, second_label = (
        step_one.locator(f"label[for='{box.get_attribute('id')}']").inner_text() for box in (first, second)
    )
    step_one.get_by_label(first_label).check()
    step_one.get_by_label(second_label).check()
    step_one.get_by_role("button", name="Save our progress on step 1").click()
    expect(summary).to_contain_text("Your organisation has done 2 of")
    tab.check()
    if javascript:
        tab.assert_same_document("saving progress")

    # Saved for the organisation: still ticked after a reload.
    page.reload()
    expect(heading(page)).to_have_text(playbook.title)
    step_one = page.locator("ol.steps > li").first
    expect(step_one.get_by_label(first_label)).to_be_checked()
    expect(step_one.get_by_label(second_label)).to_be_checked()
    expect(step_one.locator("input[type=checkbox]:checked")).to_have_count(2)
    expect(page.locator("#progress-summary")).to_contain_text("Your organisation has done 2 of")
    tab.check()
    if javascript:
        tab.mark_document()

    # An outcome report on step 1: a form with errors first, then a good one.
    step_one.get_by_role("link", name="Report how this step went (step 1)").click()
    expect(heading(page)).to_have_text("Did it work for you?")
    expect(page.get_by_label("What are you reporting on?")).to_have_value(
        re.compile(r".+")  # the step is preselected
    )
    tab.check()
    page.get_by_role("button", name="Publish report").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose how it went")
    expect(page.get_by_label("What did you do, and what happened?")).to_have_attribute("aria-invalid", "true")
    forget_refusal_log(tab, 422)
    tab.check()

    run = secrets.token_hex(3)
    what = f"We drew up the decision path with the monitoring officer first ({run}); it saved a month."
    page.get_by_label("Worked for us", exact=True).check()
    page.get_by_label("What did you do, and what happened?").fill(what)
    page.get_by_label("When (optional)").fill("2026-09")
    page.get_by_role("button", name="Publish report").click()
    expect(heading(page)).to_have_text(playbook.title)
    outcomes = page.get_by_role("region", name="Worked for us?")
    report = outcomes.locator(".outcome").filter(has_text=run)
    expect(report).to_contain_text("Worked for us")
    expect(report).to_contain_text("Step 1:")
    expect(report).to_contain_text("September 2026")
    expect(page.locator("ol.steps > li").first.locator(".meta")).to_contain_text(
        re.compile(r"Outcome reports for this step: [1-9]\d* worked")
    )
    tab.check()
    if javascript:
        tab.assert_same_document("reporting an outcome")


@JS_ON_AND_OFF
def test_a_mentor_edits_a_playbook_and_a_second_editor_meets_a_conflict(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    playbook = GO_LIVE if javascript else SOCIAL_VALUE
    run = secrets.token_hex(3)
    first, second = open_tab(javascript=javascript), open_tab(javascript=javascript)

    # The second editor opens the form first, and takes their time.
    sign_in(second, "fiona_drummond", f"{playbook.url}/edit", f"Edit “{playbook.title}”")
    started_from = int(re.search(r"editing revision (\d+)", second.page.locator("main").inner_text()).group(1))

    # A mentor edits the summary with a change note, and saves.
    sign_in(first, "kwame_asante", playbook.url, playbook.title)
    page = first.page
    if javascript:
        first.mark_document()
    assert revision_number(page) == started_from
    page.get_by_role("link", name="Edit playbook").click()
    expect(heading(page)).to_have_text(f"Edit “{playbook.title}”")
    first.check()
    summary = page.get_by_label("Summary", exact=True)
    summary.fill(summary.input_value() + f" Checked by the network in {run}.")
    note = f"Added when the network checked it ({run})"
    page.get_by_label("What did you change, and why?").fill(note)
    page.get_by_role("button", name=f"Save revision {started_from + 1}").click()
    expect(heading(page)).to_have_text(playbook.title)
    expect(page.locator("article.playbook header .lead")).to_contain_text(f"Checked by the network in {run}.")
    assert revision_number(page) == started_from + 1
    first.check()

    # The history lists the revision with its note; "Changes" shows the word-level diff.
    page.get_by_role("link", name="History of this playbook").click()
    expect(heading(page)).to_have_text("History")
    row = page.locator(f"#revision-{started_from + 1}")
    expect(row).to_contain_text(note)
    expect(row).to_contain_text("Kwame Asante")
    expect(row.get_by_role("rowheader")).to_have_text(f"{started_from + 1} (current)")
    first.check()
    row.get_by_role("link", name=f"Changes in revision {started_from + 1}").click()
    expect(heading(page)).to_have_text(
        f"Revision {started_from} compared with revision {started_from + 1}"
    )
    summary_diff = page.get_by_role("region", name="Summary Changed")
    added = summary_diff.locator("ins")
    expect(added).to_have_count(1)
    expect(added).to_contain_text(f"Checked by the network in {run}.")
    expect(added).to_contain_text("[+")  # a visible marker, not colour alone
    expect(page.locator("#diff-legend")).to_be_visible()
    first.check()
    if javascript:
        first.assert_same_document("editing and reading the history")

    # The second editor saves from the old revision: a conflict page that keeps their text.
    page = second.page
    theirs = f"A different summary from the second editor ({run}), written from revision {started_from}."
    page.get_by_label("Summary", exact=True).fill(theirs)
    page.get_by_label("What did you change, and why?").fill(f"Rewrote the summary ({run})")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/edit")) as posted:
        page.get_by_role("button", name=f"Save revision {started_from + 1}").click()
    assert posted.value.status == 409
    expect(heading(page)).to_have_text("Someone else changed this playbook while you were editing")
    expect(page.get_by_role("alert")).to_contain_text(
        f"You started from revision {started_from}, but Kwame Asante saved revision {started_from + 1}"
    )
    expect(page.get_by_label("Summary", exact=True)).to_have_value(theirs)
    expect(page.get_by_label("What did you change, and why?")).to_have_value(f"Rewrote the summary ({run})")
    differences = page.get_by_role("region", name=re.compile(r"^What differs"))
    expect(differences.locator("ins").first).to_be_visible()
    expect(differences.locator("del").first).to_be_visible()
    expect(differences).to_contain_text(f"Checked by the network in {run}")
    expect(page.get_by_role("region", name=re.compile(r"^The saved version"))).to_contain_text(
        f"Checked by the network in {run}."
    )
    forget_refusal_log(second, 409)
    second.check()

    # Having looked, they save their version on top of the new revision.
    page.get_by_role("button", name=f"Save my version as revision {started_from + 2}").click()
    expect(heading(page)).to_have_text(playbook.title)
    expect(page.locator("article.playbook header .lead")).to_have_text(theirs)
    assert revision_number(page) == started_from + 2
    second.check()


@JS_ON_AND_OFF
def test_a_member_suggests_an_edit_and_a_maintainer_accepts_it(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    # The member is not a maintainer; the maintainer is one of the playbook's.
    playbook, member, member_name, maintainer = (
        (RE_TENDER, "tom_reeve", "Tom Reeve", "dana_okafor") if javascript
        else (TRUST, "amara_osei", "Amara Osei", "lee_fairbairn")
    )
    run = secrets.token_hex(3)
    note = f"Say who signs the bid off ({run})"
    addition = f"The board signs the bid off ({run})."

    suggester = open_tab(javascript=javascript)
    page = suggester.page
    sign_in(suggester, member, playbook.url, playbook.title)
    if javascript:
        suggester.mark_document()
    expect(page.get_by_role("link", name="Edit playbook")).to_have_count(0)
    page.get_by_role("link", name="Suggest an edit").click()
    expect(heading(page)).to_have_text(f"Suggest an edit to “{playbook.title}”")
    suggester.check()

    # The form always ends with a blank step; asking for another says to fill that one in
    # (a rearranging button, which works without JavaScript).
    new_step = page.locator("#steps > fieldset").count()
    expect(page.get_by_label(f"Step {new_step} title")).to_have_value("")
    page.get_by_role("button", name="Add another step").click()
    expect(page.get_by_role("status").filter(has_text=f"Step {new_step} is still empty")).to_be_visible()
    suggester.check()
    page.get_by_label(f"Step {new_step} title").fill(f"Agree who signs off ({run})")
    page.locator(f"#step-{new_step}-body").fill(addition)
    page.locator(f"#step-{new_step}-checklist").fill("Sign-off agreed by the board")
    page.get_by_label("What did you change, and why?").fill(note)
    page.get_by_role("button", name="Send suggestion").click()
    expect(heading(page)).to_have_text(f"Suggested edit: {note}")
    expect(page.get_by_text("Waiting for a maintainer")).to_be_visible()
    added = page.get_by_role("region", name=re.compile(rf"^Step {new_step}: Agree who signs off"))
    expect(added.locator("ins")).to_contain_text(addition)
    suggester.check()
    if javascript:
        suggester.assert_same_document("suggesting an edit")

    # A maintainer finds it from the playbook, compares, and accepts it.
    deciding = open_tab(javascript=javascript)
    page = deciding.page
    sign_in(deciding, maintainer, playbook.url, playbook.title)
    before = revision_number(page)
    page.get_by_role("link", name=re.compile(r"suggested edits? waiting for a decision")).click()
    expect(heading(page)).to_have_text("Suggested edits")
    deciding.check()
    page.get_by_role("link", name=note).click()
    expect(heading(page)).to_have_text(f"Suggested edit: {note}")
    expect(page.get_by_role("region", name="Your decision")).to_be_visible()
    deciding.check()
    page.get_by_role("button", name=f"Accept: make it revision {before + 1}").click()
    expect(heading(page)).to_have_text(playbook.title)
    assert revision_number(page) == before + 1
    steps = page.locator("ol.steps > li")
    expect(steps.nth(new_step - 1).get_by_role("heading", level=3)).to_have_text(
        f"Step {new_step}: Agree who signs off ({run})"
    )
    expect(steps.nth(new_step - 1)).to_contain_text(addition)
    deciding.check()

    # The suggestion now says it was accepted, and the member is credited in the history.
    page.get_by_role("link", name="History of this playbook").click()
    expect(page.locator(f"#revision-{before + 1}")).to_contain_text(member_name)
    expect(page.locator(f"#revision-{before + 1}")).to_contain_text("(suggested by")
    deciding.check()
    suggester.page.reload()
    expect(suggester.page.get_by_text("✓ Accepted")).to_be_visible()
    suggester.check()
