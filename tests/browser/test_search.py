"""Search in real Chromium, with JavaScript on (htmx) and off (plain GET forms and links).

The live server's database holds the demo content (`forum seed-demo`, see seed.py), already
indexed: threads about TUPE, the LGPS, admitted bodies, tender bonds... Every page and
every swapped-in state is checked by axe-core and for console problems (`Tab.check()`).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error, Locator, Page, Request, Route, expect

from tests.browser.browsing import Tab
from tests.browser.live_server import LiveServer
from tests.browser.mail import link_from_mail

PASSWORD = "lantern orchard pebble ferry"
BOND_THREAD = "LGPS admission agreement: the fund wants a £2.1m bond. Is that normal?"
EXIT_THREAD = "If we lose the re-tender, who pays the LGPS exit payment?"

JS_ON_AND_OFF = pytest.mark.parametrize(
    "javascript", [True, False], ids=["javascript", "no-javascript"]
)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def result_count(page: Page) -> Locator:
    return page.locator("#search-results .result-count")


def hits(page: Page) -> Locator:
    return page.locator("#search-results .search-hit")


def facets(page: Page) -> Locator:
    return page.get_by_role("complementary", name="Filter results")


def active_filters(page: Page) -> Locator:
    return page.get_by_role("list", name="Active filters")


def total(page: Page) -> int:
    match = re.match(r"(\d+) results?", result_count(page).inner_text())
    assert match, result_count(page).inner_text()
    return int(match.group(1))


def expect_results_for(page: Page, text: str) -> None:
    """The results on screen are those of `text`, with highlighted matches."""
    expect(result_count(page)).to_have_text(re.compile(rf"^\d+ results? for {re.escape(text)}$"))
    expect(hits(page).first).to_be_visible()
    expect(page.locator("#search-results .search-hit mark").first).to_be_visible()


def expect_url_query(page: Page, **wanted: str) -> None:
    """The address bar comes to carry these parameters (hx-push-url, or a plain GET)."""

    def carries(url: str) -> bool:
        params = query_of(url)
        return urlsplit(url).path == "/search" and all(
            params.get(name) == [value] for name, value in wanted.items()
        )

    deadline = time.monotonic() + 5
    while not carries(page.url) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert carries(page.url), f"{wanted} not in {page.url}"


def hit_dates(page: Page) -> list[str]:
    return hits(page).locator("time").evaluate_all("(ts) => ts.map((t) => t.dateTime)")


def hit_kinds(page: Page) -> list[str]:
    return hits(page).locator(".badge:not(.badge-solved)").all_inner_texts()


HTMX_ABORT_LOG = re.compile(r"^console error: htmx:(afterRequest|sendAbort), \[object HTML\w+\] ")


def forget_htmx_abort_logs(tab: Tab) -> None:
    """htmx 2 logs every aborted request with console.error, even the ones `hx-sync`
    cancels on purpose: those two lines are expected, anything else still fails."""
    tab.console.problems = [p for p in tab.console.problems if not HTMX_ABORT_LOG.match(p)]


def press(tab: Tab, control: Locator, key: str) -> None:
    """Focus a control and press a key: what a keyboard user does, without the mouse."""
    control.focus()
    expect(control).to_be_focused()
    tab.page.keyboard.press(key)


def retype(tab: Tab, field: Locator, text: str, *, delay: float = 15) -> None:
    """Select what the field holds and type over it, key by key, as a person would."""
    field.focus()
    tab.page.keyboard.press("Control+A")
    tab.page.keyboard.type(text, delay=delay)


@JS_ON_AND_OFF
def test_the_header_search_box_works_from_the_keyboard(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    tab = open_tab(javascript=javascript)
    page = tab.page
    tab.open("/")
    if javascript:
        tab.mark_document()

    # Tab from the top of the page: the skip link, the site's name, then the search box.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    box = page.get_by_role("searchbox", name="Search the network")
    expect(box).to_be_focused()
    page.keyboard.type("tender bond", delay=10)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    expect_url_query(page, q="tender bond")
    expect_results_for(page, "tender bond")
    expect(page.locator("#q")).to_have_value("tender bond")
    marked = page.locator("#search-results mark").all_inner_texts()
    assert any(re.fullmatch(r"(?i)tender\w*|bonds?", m) for m in marked), marked
    # Results link to the post itself, and say what it is and where it lives.
    first = hits(page).first
    expect(first.locator("a.hit-title")).to_have_attribute("href", re.compile(r"^/(t/\d+/|playbooks/)"))
    expect(first.locator(".meta a[href^='/topics/']").first).to_be_visible()
    tab.check()
    if javascript:
        tab.assert_same_document("searching from the header (a boosted GET form)")

    # The header box is on every page, the search page included.
    retype(tab, box, "lgps")
    page.keyboard.press("Enter")
    expect_results_for(page, "lgps")
    expect_url_query(page, q="lgps")
    tab.check()


def test_results_follow_typing_filters_and_sort_without_reloading(
    open_tab: Callable[..., Tab],
) -> None:
    tab = open_tab(javascript=True)
    page = tab.page
    tab.open("/search")
    expect(page.locator("#search-results")).to_contain_text("Type what you're looking for")
    tab.mark_document()
    field = page.get_by_role("searchbox", name="Search threads and replies")

    # Search as you type: an htmx request, the results swapped in, the address updated.
    with page.expect_response(lambda r: query_of(r.url).get("q") == ["lgps"]) as answered:
        retype(tab, field, "lgps")
    assert answered.value.request.headers.get("hx-request") == "true"
    assert answered.value.request.headers.get("hx-boosted") is None
    expect_results_for(page, "lgps")
    expect_url_query(page, q="lgps")
    # Screen readers hear the new count (a status), not every hit read out again.
    expect(page.get_by_role("status").filter(has_text="for lgps")).to_have_text(
        re.compile(r"^\d+ results for lgps$")
    )
    expect(page.locator("#search-results")).not_to_have_attribute("aria-live", re.compile(".*"))
    tab.check()
    tab.assert_same_document("search as you type")

    # A slow answer to an earlier text is cancelled when the text changes: hold back the
    # request for "pension", type on, and the final results are those of the final text.
    held: list[Route] = []

    def hold_pension(route: Route) -> None:
        if query_of(route.request.url).get("q") == ["pension"]:
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/search\?"), hold_pension)
    with page.expect_request(lambda r: query_of(r.url).get("q") == ["pension"]):
        retype(tab, field, "pension")
    page.wait_for_function("() => document.querySelector('#search-form.htmx-request')")
    assert len(held) == 1, "the request for 'pension' should be waiting"

    def is_stale(request: Request) -> bool:
        return query_of(request.url).get("q") == ["pension"]

    with page.expect_event("requestfailed", is_stale) as cancelled:
        with page.expect_response(lambda r: query_of(r.url).get("q") == ["pension bond"]):
            page.keyboard.type(" bond", delay=25)
    assert "ABORTED" in (cancelled.value.failure or ""), cancelled.value.failure
    forget_htmx_abort_logs(tab)
    try:
        held[0].continue_()  # were it still wanted, its results would now land on top
    except Error:
        pass
    page.unroute(re.compile(r"/search\?"))
    page.wait_for_timeout(300)
    expect_results_for(page, "pension bond")
    expect_url_query(page, q="pension bond")
    tab.check()

    # Typing quickly: whatever answers arrive, the results shown match the final text.
    retype(tab, field, "admitted body", delay=5)
    expect_results_for(page, "admitted body")
    expect_url_query(page, q="admitted body")
    tab.check()

    # From the keyboard alone: narrow by kind with a facet link, reorder with the select,
    # then drop the filter.
    retype(tab, field, "lgps")
    expect_results_for(page, "lgps")
    everything = total(page)
    press(tab, facets(page).get_by_role("link", name=re.compile(r"^Questions \(\d+\)")), "Enter")
    expect(active_filters(page).get_by_role("link")).to_have_text(
        [re.compile(r"Kind: Questions.*remove filter")]
    )
    expect_url_query(page, q="lgps", kind="question")
    questions = total(page)
    assert 0 < questions < everything
    assert set(hit_kinds(page)) == {"Question"}, hit_kinds(page)
    tab.check()

    with page.expect_response(lambda r: query_of(r.url).get("sort") == ["newest"]) as sorted_:
        press(tab, page.get_by_label("Order"), "ArrowDown")  # "Best match" -> "Newest first"
    assert sorted_.value.request.headers.get("hx-request") == "true"
    expect_url_query(page, q="lgps", kind="question", sort="newest")
    expect(page.locator("#search-results")).to_contain_text(f"{questions} result")
    dates = hit_dates(page)
    assert len(dates) > 1 and dates == sorted(dates, reverse=True), dates
    assert set(hit_kinds(page)) == {"Question"}, hit_kinds(page)
    tab.check()

    chip = active_filters(page).get_by_role("link", name=re.compile("Kind: Questions"))
    press(tab, chip, "Enter")
    expect(active_filters(page)).to_have_count(0)
    expect(result_count(page)).to_have_text(f"{everything} results for lgps")
    assert "kind" not in query_of(page.url)
    assert {"Reply", "Question"} <= set(hit_kinds(page)), hit_kinds(page)
    tab.check()

    # Back restores the previous search whole: its words, order, filter and results.
    page.go_back()
    expect_url_query(page, q="lgps", kind="question", sort="newest")
    expect(result_count(page)).to_have_text(f"{questions} results for lgps")
    expect(field).to_have_value("lgps")
    expect(page.get_by_label("Order")).to_have_value("newest")
    expect(active_filters(page).get_by_role("link")).to_have_text([re.compile("Kind: Questions")])
    tab.check()
    tab.assert_same_document("filtering, sorting, removing a filter and going back")


def test_search_filters_and_sort_work_with_plain_forms_and_links(
    open_tab: Callable[..., Tab],
) -> None:
    tab = open_tab(javascript=False)
    page = tab.page
    tab.open("/search")
    page.get_by_role("searchbox", name="Search threads and replies").fill("lgps")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    expect_results_for(page, "lgps")
    expect_url_query(page, q="lgps")
    everything = total(page)
    tab.check()

    facets(page).get_by_role("link", name=re.compile(r"^Questions \(\d+\)")).click()
    expect(active_filters(page).get_by_role("link")).to_have_text(
        [re.compile(r"Kind: Questions.*remove filter")]
    )
    expect_url_query(page, q="lgps", kind="question")
    questions = total(page)
    assert 0 < questions < everything
    assert set(hit_kinds(page)) == {"Question"}, hit_kinds(page)
    tab.check()

    # Without JavaScript the select waits for the Search button; the filter is kept.
    page.get_by_label("Order").select_option(label="Newest first")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    expect_url_query(page, q="lgps", kind="question", sort="newest")
    expect(result_count(page)).to_have_text(f"{questions} results for lgps")
    expect(page.get_by_label("Order")).to_have_value("newest")
    dates = hit_dates(page)
    assert len(dates) > 1 and dates == sorted(dates, reverse=True), dates
    tab.check()

    # A second filter from another facet narrows further; the chip removes just that one.
    facets(page).get_by_role("link", name=re.compile(r"^admitted-body \(\d+\)")).click()
    expect(active_filters(page).get_by_role("link")).to_have_count(2)
    assert total(page) <= questions
    tab.check()
    active_filters(page).get_by_role("link", name=re.compile("Kind: Questions")).click()
    expect(active_filters(page).get_by_role("link")).to_have_text(
        [re.compile(r"Tag: admitted-body")]
    )
    expect_url_query(page, q="lgps", tags="admitted-body", sort="newest")
    assert "kind" not in query_of(page.url)
    tab.check()


@JS_ON_AND_OFF
def test_typos_are_forgiven_and_an_empty_search_helps(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    tab = open_tab(javascript=javascript)
    page = tab.page
    tab.open("/search?q=pensoin")
    if javascript:
        tab.mark_document()
    expect(result_count(page)).to_have_text(re.compile(r"^\d+ results for pensoin$"))
    marked = {m.lower() for m in page.locator("#search-results mark").all_inner_texts()}
    assert "pension" in marked, marked

    # Too far off (or too short) to match: "Did you mean" offers the right spelling.
    field = page.get_by_role("searchbox", name="Search threads and replies")
    retype(tab, field, "tendr bnd")
    if not javascript:
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Nothing found for “tendr bnd”")).to_be_visible()
    tab.check()
    page.get_by_role("link", name="tender bond").click()
    expect_results_for(page, "tender bond")
    expect_url_query(page, q="tender bond")
    tab.check()

    # Nonsense: the empty state suggests what to do, including asking the network.
    retype(tab, field, "zzqxj flurb")
    if not javascript:
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Nothing found for “zzqxj flurb”")).to_be_visible()
    expect_url_query(page, q="zzqxj flurb")
    empty = page.locator(".empty-search")
    expect(empty).to_contain_text("Check the spelling")
    expect(hits(page)).to_have_count(0)
    expect(facets(page)).to_have_count(0)  # no empty "Filter results" landmark
    tab.check()
    if javascript:
        tab.assert_same_document("searching and following 'Did you mean'")
    # Signed out, asking leads to signing in first (htmx: a redirect to a full page).
    empty.get_by_role("link", name="Ask the network").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert query_of(page.url).get("next") == ["/new"], page.url
    tab.check()


def test_asking_a_question_shows_threads_that_may_already_answer_it(
    open_tab: Callable[..., Tab], live_server: LiveServer,
) -> None:
    tab = open_tab(javascript=True)
    page = tab.page
    run = secrets.token_hex(3)
    tab.open("/signup?next=/new")
    page.get_by_label("Username").fill(f"seeker-{run}")
    page.get_by_label("Display name").fill(f"Sam Seeker {run}")
    page.get_by_label("Email address").fill(f"seeker-{run}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    # The confirmation link signs the newcomer in and goes on to where they were headed.
    tab.open(link_from_mail(live_server.mail_dir, f"seeker-{run}@example.org", "/verify-email?token="))
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a thread")
    tab.check()
    tab.mark_document()

    title = page.get_by_label("Title")
    title.press_sequentially("Who pays the LGPS exit payment if we lose?", delay=10)
    similar = page.get_by_role("region", name="Similar threads")
    expect(similar).to_contain_text("Already asked?")
    expect(similar.get_by_role("link", name=EXIT_THREAD)).to_have_attribute(
        "href", re.compile(r"^/t/\d+/")
    )
    expect(title).to_be_focused()  # the suggestions never take the focus away
    tab.check()

    retype(tab, title, "LGPS admission agreement bond")
    expect(similar.get_by_role("link", name=BOND_THREAD)).to_be_visible()
    tab.check()

    retype(tab, title, "Zzqxj flurb wibble")
    expect(similar).to_have_count(0)
    tab.check()
    tab.assert_same_document("suggesting similar threads")
