"""The checks the journeys rely on do catch problems, with JavaScript on and off."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.axe import axe_violations
from tests.browser.browsing import Tab

BROKEN_MARKUP = """() => {
  const main = document.querySelector("main");
  main.insertAdjacentHTML("beforeend", '<img src="/static/css/site.css"><p style="color: red">x</p>');
}"""


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_axe_and_the_console_watch_report_broken_markup(
    open_tab: Callable[..., Tab], javascript: bool
) -> None:
    tab = open_tab(javascript=javascript)
    tab.open("/signin")
    tab.page.evaluate(BROKEN_MARKUP)

    assert "image-alt" in {v["id"] for v in axe_violations(tab.page, javascript=javascript)}
    with pytest.raises(AssertionError, match="Content Security Policy"):
        tab.console.assert_clean(tab.page.url)
