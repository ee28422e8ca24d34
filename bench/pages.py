"""The pages suite (performance targets): what visitors load most, at 16 connections.

- the hot thread (the dataset's ``t-hot``, 50 replies), anonymous and signed in
  (a dataset member's session, signed in through the form: see `bench.signin`);
- the hot thread's topic: a thread list;
- the home page;
- search with a rare word, a common word and a typo (the words of `bench.search`).

Targets on the standard dataset, SQLite, 2 workers: the anonymous hot thread page
at least 25 % of ``/healthz``'s requests/s, signed in at least 8 % (both measured
at the same concurrency in the same run). The latency targets at half load are
`bench.latency`'s.
"""

from __future__ import annotations

import re

from bench import search
from bench.load import Scenario
from bench.signin import SIGNED_IN_MARK
from bench.site import Site

NAME = "pages"
CONNECTIONS = 16
SECONDS = 20
HOT_ANONYMOUS = "thread t-hot anonymous"
HOT_SIGNED_IN = "thread t-hot signed in"
RATIO_TARGETS = {HOT_ANONYMOUS: 0.25, HOT_SIGNED_IN: 0.08}

_POST = re.compile(rb'id="post-\d+"')
_THREAD_LINK = re.compile(rb'href="/t/\d+/')


def _page(signed_in: bool, pattern: re.Pattern[bytes]):
    """A check: status 200, signed in or not as expected; shows how many `pattern`s."""

    def check(status: int, body: bytes) -> tuple[int | None, str | None]:
        if status != 200:
            return None, f"status {status}"
        if (SIGNED_IN_MARK in body) != signed_in:
            return None, "signed in" if not signed_in else "not signed in"
        found = len(pattern.findall(body))
        return found, None if found else "nothing listed on the page"

    return check


def scenarios(site: Site) -> list[Scenario]:
    member = site.members[0]
    anonymous_thread = _page(False, _POST)
    return [
        Scenario(HOT_ANONYMOUS, site.hot_thread, "50 replies, no cookie", check=anonymous_thread),
        Scenario(HOT_SIGNED_IN, site.hot_thread, f"as {member.username}",
                 headers=(member.header,), check=_page(True, _POST)),
        Scenario("topic thread list", site.hot_topic, "the hot thread's topic, page 1",
                 check=_page(False, _THREAD_LINK)),
        Scenario("home", "/", "anonymous", check=_page(False, _THREAD_LINK)),
        *search.scenarios(site)[:3],  # rare word, common word, typo
    ]


def targets(build: dict, measured: list[dict]) -> list[dict]:
    found = []
    for result in measured:
        limit = RATIO_TARGETS.get(result["name"])
        if result.get("suite") == NAME and limit is not None:
            ratio = result.get("ratio_to_healthz")
            found.append({
                "name": f"{result['name']} / healthz req/s", "value": ratio, "limit": limit,
                "unit": "x", "op": ">=", "met": ratio is not None and ratio >= limit,
            })
    return found
