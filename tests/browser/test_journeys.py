"""The main journey, with JavaScript on (htmx) and off (plain forms and 303 redirects).

A newcomer asks a question, a peer answers it, the newcomer accepts the answer;
axe-core checks every page on the way and the console must stay free of errors.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.browsing import Tab
from tests.browser.live_server import LiveServer
from tests.browser.mail import link_from_mail

PASSWORD = "lantern orchard pebble ferry"
TOPIC = "TUPE & pensions"
TOPIC_SLUG = "tupe-and-pensions"


@dataclass
class Member:
    username: str
    display_name: str

    @property
    def email(self) -> str:
        return f"{self.username}@example.org"


def nav(tab: Tab) -> Locator:
    return tab.page.get_by_role("navigation", name="Main")


def sign_up(tab: Tab, member: Member, mail_dir: Path) -> None:
    """Join, then open the confirmation link from the email (a full page load)."""
    nav(tab).get_by_role("link", name="Join").click()
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Join the network")
    tab.check()
    tab.page.get_by_label("Username").fill(member.username)
    tab.page.get_by_label("Display name").fill(member.display_name)
    tab.page.get_by_label("Email address").fill(member.email)
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Create account").click()
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Check your email")
    tab.check()
    tab.open(link_from_mail(mail_dir, member.email, "/verify-email?token="))
    tab.page.get_by_role("button", name="Confirm my address").click()
    expect(nav(tab).get_by_role("link", name=member.display_name)).to_be_visible()
    expect(tab.page.locator("#flash")).to_contain_text("is confirmed")
    tab.check()


def sign_out(tab: Tab) -> None:
    nav(tab).get_by_role("button", name="Sign out").click()
    expect(nav(tab).get_by_role("link", name="Sign in")).to_be_visible()
    tab.check()


def ask_question(tab: Tab, title: str) -> None:
    nav(tab).get_by_role("link", name="Ask a question").click()
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Start a thread")
    tab.check()
    page = tab.page
    page.get_by_label("A question: you need an answer").check()
    page.get_by_label("Topic").select_option(label=TOPIC)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Details").fill(
        "We are spinning out of the council in April.\n\n"
        "How long did **admitted body** status take, and who signed off:\n\n"
        "- the pension fund\n- the council's section 151 officer\n"
    )
    page.get_by_label("Tags (optional)").fill("lgps, admitted-body TUPE")
    page.get_by_role("button", name="Post thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    tab.check()


def submit(tab: Tab, button: Locator, action: str) -> None:
    """Press a form's button: htmx swaps a fragment in (200), a plain form is redirected (303)."""
    with tab.page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(action)
    ) as posted:
        button.click()
    response = posted.value
    if tab.javascript:
        assert response.request.headers.get("hx-request") == "true", f"{action} was not htmx"
        assert response.status == 200, f"POST {action}: {response.status}"
    else:
        assert response.status == 303, f"POST {action}: {response.status}"


def open_thread_from_home(tab: Tab, title: str) -> None:
    tab.page.get_by_role("link", name=title).first.click()
    expect(tab.page.get_by_role("heading", level=1)).to_have_text(title)
    tab.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_newcomer_asks_a_question_and_accepts_a_peers_answer(
    open_tab: Callable[..., Tab], live_server: LiveServer, javascript: bool
) -> None:
    run = f"{'js' if javascript else 'nojs'}-{secrets.token_hex(3)}"
    asker = Member(f"asker-{run}", f"Priya Asker {run}")
    mentor = Member(f"mentor-{run}", f"Tom Mentor {run}")
    title = f"How long did admitted body status for the LGPS take? ({run})"
    answer = f"About four months for us ({run}): start with the fund actuary."
    tab = open_tab(javascript=javascript)
    page = tab.page

    # A newcomer joins (confirming the address from the email) and asks a question.
    tab.open("/")
    sign_up(tab, asker, live_server.mail_dir)
    if javascript:
        tab.mark_document()
    ask_question(tab, title)
    opening = page.locator("#post-1")
    expect(opening.locator(".post-body strong")).to_have_text("admitted body")
    expect(opening.locator(".post-body li")).to_have_count(2)
    expect(page.locator("#thread .thread-header .tag")).to_have_text(
        ["lgps", "admitted-body", "tupe"]
    )
    expect(page.locator("#thread .thread-header .badge-question")).to_have_text("Question")
    thread_url = re.sub(r"^https?://[^/]+", "", page.url)
    assert re.fullmatch(r"/t/\d+/[a-z0-9-]+", thread_url), thread_url
    sign_out(tab)
    if javascript:
        tab.assert_same_document("boosted navigation, asking and signing out")

    # A second member joins, follows a link to the thread (a full page load) and answers.
    sign_up(tab, mentor, live_server.mail_dir)
    tab.open(thread_url)
    if javascript:
        tab.mark_document()
    page.get_by_label("Reply", exact=True).fill(answer)
    submit(tab, page.get_by_role("button", name="Post reply"), "/reply")
    expect(page.locator("#post-2 .post-body")).to_contain_text(answer)
    tab.check()
    if javascript:
        tab.assert_same_document("posting a reply")
    expect(page).to_have_url(re.compile(re.escape(thread_url)))
    sign_out(tab)

    # The asker signs in from the thread and accepts the answer.
    open_thread_from_home(tab, title)
    page.locator("#reply").get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    tab.check()
    page.get_by_label("Username or email").fill(asker.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    tab.check()
    if javascript:
        tab.mark_document()
    submit(tab, page.locator("#post-2").get_by_role("button", name="Accept as answer"), "/accept")
    accepted = page.locator("#post-1 + section.accepted-answer")
    expect(accepted.get_by_role("heading", name="Accepted answer")).to_be_visible()
    tab.check()
    if javascript:
        tab.assert_same_document("accepting an answer")

    # The accepted answer shows right under the question, and the thread is solved.
    expect(page.locator("#thread .thread-header .badge-solved")).to_have_text("✓ Solved")
    expect(accepted.locator("#accepted .post-body")).to_contain_text(answer)
    expect(accepted.locator("#accepted")).to_contain_text(mentor.display_name)
    expect(accepted.locator("#accepted .badge-solved")).to_have_text("✓ Accepted answer")

    # The asker marks the accepted answer helpful.
    answer_post = page.locator("#accepted")
    submit(tab, answer_post.get_by_role("button", name="Helpful"), "/helpful")
    expect(answer_post.get_by_role("button", name="Marked helpful")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(answer_post.locator(".helpful .count")).to_have_text("1 person found this helpful")
    tab.check()
    if javascript:
        tab.assert_same_document("marking a reply helpful")

    # The topic page lists the thread as solved, in "All threads" and under "Solved".
    page.locator("#thread .breadcrumb").get_by_role("link", name=TOPIC).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TOPIC)
    expect(page).to_have_url(re.compile(rf"/topics/{TOPIC_SLUG}$"))
    tab.check()
    row = page.locator(".thread-row").filter(has=page.get_by_role("link", name=title))
    expect(row.locator(".badge-solved")).to_have_text("✓ Solved")
    page.get_by_role("navigation", name="Filter threads").get_by_role("link", name="Solved").click()
    expect(page).to_have_url(re.compile(r"\?filter=solved$"))
    expect(page.get_by_role("link", name=title)).to_be_visible()
    tab.check()
    if javascript:
        tab.assert_same_document("browsing to the topic page")
