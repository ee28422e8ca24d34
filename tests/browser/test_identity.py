"""Single sign-on through the real provider's login page, and the account and admin pages,
with JavaScript on and off; axe checks every page of ours on the way."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.browsing import Tab
from tests.browser.test_playbooks import forget_refusal_log

DEMO_PASSWORD = "demo-password-2026"


def nav(tab: Tab):
    return tab.page.get_by_role("navigation", name="Main")


@pytest.mark.parametrize("javascript, login, name", [(True, "ada", "Ada Okafor"), (False, "cara", "Cara Jones")],
                         ids=["javascript", "no-javascript"])
def test_a_newcomer_joins_with_single_sign_on_through_the_providers_login_page(
    open_tab: Callable[..., Tab], javascript: bool, login: str, name: str
) -> None:
    tab = open_tab(javascript=javascript)
    page = tab.page
    tab.open("/signin")
    page.get_by_role("link", name="Sign in with Test ID").click()
    # The provider's own page (not ours, so axe is not asked about it).
    expect(page.get_by_role("heading", name="Test provider")).to_be_visible()
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(f"{login}-pass")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome: one more step")
    tab.check()
    expect(page.get_by_label("Display name")).to_have_value(name)
    page.get_by_label("Username").fill(f"{login}_sso")
    page.get_by_role("button", name="Join the network").click()
    expect(nav(tab).get_by_role("link", name=name)).to_be_visible()
    tab.check()
    nav(tab).get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("#sign-in-methods + ul")).to_contain_text("Test ID")
    tab.check()
    # Signing out and in again goes straight through: the provider remembers the person.
    nav(tab).get_by_role("button", name="Sign out").click()
    expect(nav(tab).get_by_role("link", name="Sign in")).to_be_visible()
    nav(tab).get_by_role("link", name="Sign in").click()
    page.get_by_role("link", name="Sign in with Test ID").click()
    expect(nav(tab).get_by_role("link", name=name)).to_be_visible()
    tab.check()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_an_administrator_invites_sets_the_policy_and_reviews_the_queue(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    tab = open_tab(javascript=javascript)
    page = tab.page
    tab.open("/password/forgot")
    tab.open("/signin")
    page.get_by_label("Username or email").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(nav(tab).get_by_role("link", name="Account")).to_be_visible()
    nav(tab).get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    tab.check()

    page.get_by_role("link", name="Invite people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite people")
    tab.check()
    page.get_by_label("How many people can use it").fill("5")
    page.get_by_label("They join as").select_option("mentor")
    page.get_by_label("Note for yourself (optional)").fill(f"Partner advisers {'js' if javascript else 'nojs'}")
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.locator("#flash")).to_contain_text("Invitation created")
    expect(page.locator("table.data-table")).to_contain_text("0 of 5")
    tab.check()

    tab.open("/admin/registration")
    expect(page.get_by_label("Open: anyone can join")).to_be_checked()
    tab.open("/admin/approvals")
    tab.open("/account/delete")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    # Invalid confirmation: the errors are shown next to the fields, nothing is deleted.
    page.get_by_label("Keep them", exact=False).check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator(".error-summary")).to_be_visible()
    forget_refusal_log(tab, 422)
    tab.check()
    expect(page).to_have_url(re.compile(r"/account/delete$"))
