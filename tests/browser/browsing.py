"""A visitor's tab: every page it reaches is checked by axe and for console problems."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.axe import assert_accessible
from tests.browser.console import ConsoleWatch

HTMX_IDLE = """() => typeof window.htmx === "object"
  && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")"""


class Tab:
    """One browser tab, with JavaScript on (htmx active) or off (plain forms and redirects)."""

    def __init__(self, page: Page, *, javascript: bool) -> None:
        self.page = page
        self.javascript = javascript
        self.console = ConsoleWatch(page)

    def open(self, path: str) -> None:
        """Type an address: a full page load."""
        response = self.page.goto(path)
        assert response is not None and response.ok, f"GET {path}: {response and response.status}"
        self.check()

    def check(self) -> None:
        """The page has settled: no console problems, no axe violations."""
        self.page.wait_for_load_state("load")
        if self.javascript:
            self.page.wait_for_function(HTMX_IDLE)
        self.console.assert_clean(self.page.url)
        assert_accessible(self.page, javascript=self.javascript)

    def mark_document(self) -> None:
        """Tag the current document, to tell an htmx swap from a full page load later."""
        self.page.evaluate("() => { window.__journeyMarker = 'same document'; }")

    def assert_same_document(self, action: str) -> None:
        kept = self.page.evaluate("() => window.__journeyMarker || null")
        assert kept == "same document", f"{action} reloaded the whole page instead of swapping"


def forget_refusal_log(tab: Tab, status: int) -> None:
    """Chromium logs every 4xx answer as "Failed to load resource", even a form page that
    answers 422 (errors to fix) or 409 (a conflict) on purpose: that one line is expected."""
    expected = f"console error: Failed to load resource: the server responded with a status of {status} "
    tab.console.problems = [p for p in tab.console.problems if not p.startswith(expected)]
