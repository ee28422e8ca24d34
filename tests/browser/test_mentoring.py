"""A pioneer finds a mentor, asks for help, the mentor accepts, both talk in their private
space, and a third member (a colleague of the pioneer's, even) gets a 404 there.

With JavaScript on (htmx swaps the conversation) and off (plain forms and 303s); axe-core
checks every page on the way, the 404 page included. Uses the demo accounts.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.browsing import Tab, forget_refusal_log

DEMO_PASSWORD = "demo-password-2026"


@dataclass
class Cast:
    pioneer: str
    mentor: str
    mentor_name: str
    expertise: str
    outsider: str


CASTS = {
    True: Cast("dana_okafor", "fiona_drummond", "Fiona Drummond", "procurement", "tom_reeve"),
    False: Cast("ruth_castle", "clive_ashworth", "Clive Ashworth", "business-case", "jonah_webb"),
}


def nav(tab: Tab) -> Locator:
    return tab.page.get_by_role("navigation", name="Main")


def sign_in(tab: Tab, username: str) -> None:
    tab.open("/signin")
    tab.page.get_by_label("Username or email").fill(username)
    tab.page.get_by_label("Password").fill(DEMO_PASSWORD)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(nav(tab).get_by_role("button", name="Sign out")).to_be_visible()
    tab.check()


def sign_out(tab: Tab) -> None:
    nav(tab).get_by_role("button", name="Sign out").click()
    expect(nav(tab).get_by_role("link", name="Sign in")).to_be_visible()
    tab.check()


def send_message(tab: Tab, text: str) -> None:
    page = tab.page
    page.get_by_label("Your message").fill(text)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/messages")) as posted:
        page.get_by_role("button", name="Send message").click()
    response = posted.value
    if tab.javascript:
        assert response.request.headers.get("hx-request") == "true"
        assert response.status == 200
    else:
        assert response.status == 303
    expect(page.locator("#conversation .post-body").last).to_contain_text(text)
    tab.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_pioneer_finds_a_mentor_who_accepts_and_they_talk_in_private(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    cast = CASTS[javascript]
    run = secrets.token_hex(3)
    goal = f"Prepare for our first big decision ({run})"
    tab = open_tab(javascript=javascript)
    page = tab.page

    # The pioneer finds a mentor in the directory by expertise.
    sign_in(tab, cast.pioneer)
    nav(tab).get_by_role("link", name="Mentors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mentors")
    tab.check()
    expect(page.locator(".mentor-card").first.locator(".fit")).to_be_visible()
    page.get_by_label("Expertise").select_option(cast.expertise)
    page.get_by_role("button", name="Show mentors").click()
    expect(page).to_have_url(re.compile(rf"expertise={cast.expertise}"))
    tab.check()
    card = page.locator(".mentor-card").filter(has=page.get_by_role("link", name=cast.mentor_name, exact=True))
    expect(card.locator(".badge-role")).to_have_text("Mentor")
    card.get_by_role("link", name=f"Request mentoring from {cast.mentor_name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request mentoring from {cast.mentor_name}")
    tab.check()

    # A form with a mistake comes back with the message next to the field, input kept.
    page.get_by_label("Your goal").fill(goal)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#context-error")).to_be_visible()
    forget_refusal_log(tab, 422)
    expect(page.get_by_label("Your goal")).to_have_value(goal)
    tab.check()
    page.get_by_label("Context").fill("Cabinet decides in March and we have never written a paper for it.")
    page.get_by_label("A few conversations over a month or two").check()
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(goal)
    expect(page.locator(".badge-status")).to_have_text("Pending")
    tab.check()
    sign_out(tab)

    # The mentor sees the request in their notifications and accepts it.
    sign_in(tab, cast.mentor)
    expect(nav(tab).locator(".badge-count")).to_be_visible()
    nav(tab).get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    tab.check()
    page.get_by_role("button", name=re.compile(re.escape(goal))).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(goal)
    tab.check()
    page.get_by_role("button", name="Accept and open a mentorship space").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(goal)
    expect(page.locator("#conversation")).to_contain_text("Cabinet decides in March")
    tab.check()
    space_url = re.sub(r"^https?://[^/]+", "", page.url).split("#")[0].split("?")[0]
    assert re.fullmatch(r"/mentoring/spaces/\d+", space_url), space_url
    send_message(tab, f"Happy to help ({run}). Send me the draft cabinet report first.")
    sign_out(tab)

    # The pioneer reads it in their private space and answers.
    sign_in(tab, cast.pioneer)
    nav(tab).get_by_role("link", name="Mentoring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mentoring")
    tab.check()
    page.get_by_role("link", name=goal).first.click()
    expect(page.locator("#conversation")).to_contain_text(f"Happy to help ({run})")
    tab.check()
    send_message(tab, f"Thank you ({run}): the draft is attached to our shared drive.")
    sign_out(tab)

    # A third member, a colleague even, finds nothing there.
    sign_in(tab, cast.outsider)
    response = page.goto(space_url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text(run)
    forget_refusal_log(tab, 404)
    tab.check()
