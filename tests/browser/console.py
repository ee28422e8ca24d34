"""Collects what a page logs that a visitor would suffer from: script errors, CSP refusals."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Error, Page

CSP_SIGNS = ("Refused to", "Content Security Policy", "Content-Security-Policy")


class ConsoleWatch:
    """Listens to a page from its creation; `assert_clean()` fails on anything collected."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" or any(sign in text for sign in CSP_SIGNS):
            location = message.location.get("url", "")
            self.problems.append(f"console {message.type}: {text} ({location})")

    def _on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught error: {error.message}")

    def assert_clean(self, where: str) -> None:
        problems, self.problems = self.problems, []
        assert not problems, f"the browser reported problems at {where}:\n" + "\n".join(problems)
