"""Fixtures: one live server per session, Chromium per module, a fresh context per tab."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.browsing import Tab
from tests.accounts.oidc.provider import running_provider
from tests.browser.live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
TIMEOUT_MS = 10_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _require_chromium()
    server = LiveServer(workdir=tmp_path_factory.mktemp("live-server"))
    # The real OpenID provider, so that single sign-on can be driven through its login page.
    with running_provider([f"{server.url}/auth/test/callback"]) as provider:
        server.extra_env["OIDC_PROVIDERS"] = json.dumps([provider.provider_setting()])
        server.prepare()
        server.start()
        try:
            yield server
        finally:
            server.stop()


# Module scope, not session: while Playwright's sync API is open its event loop counts as
# running in this thread, which would break every async test collected after this module.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    _require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_tab(live_server: LiveServer, chromium: Browser) -> Iterator[Callable[..., Tab]]:
    """`open_tab(javascript=...)`: a tab in a fresh context (its own cookies)."""
    contexts: list[BrowserContext] = []

    def open_tab(*, javascript: bool) -> Tab:
        context = chromium.new_context(base_url=live_server.url, java_script_enabled=javascript)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return Tab(context.new_page(), javascript=javascript)

    yield open_tab
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """On failure, show the end of the server's log next to the test's output."""
    report = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("live server log", server.log_tail()))
    return report
