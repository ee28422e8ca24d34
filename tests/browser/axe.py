"""axe-core, injected into the page under test and run against WCAG 2.2 AA and best practice."""

from __future__ import annotations

from functools import cache
from typing import Any

from playwright.sync_api import Page

from forum.settings import PROJECT_ROOT

AXE_SOURCE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# With JavaScript off, the page's timers never fire and axe.run() would wait forever;
# axe only uses setTimeout to yield, so running the callbacks as microtasks is faithful.
TIMERS_AS_MICROTASKS = """() => {
  window.setTimeout = (callback, delay, ...args) => {
    Promise.resolve().then(() => { if (typeof callback === "function") callback(...args); });
    return 0;
  };
  window.clearTimeout = () => {};
}"""

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE_SOURCE.exists():
        raise FileNotFoundError(f"{AXE_SOURCE} is missing: run `npm ci` (or `make assets`)")
    return AXE_SOURCE.read_text()


def axe_violations(page: Page, *, javascript: bool) -> list[dict[str, Any]]:
    """Inject axe (once per document) with `evaluate`, which the page's CSP does not govern."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        if not javascript:
            page.evaluate(TIMERS_AS_MICROTASKS)
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE, RULE_TAGS)


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}")
            lines.extend(f"      {line}" for line in (node["summary"] or "").splitlines())
    return "\n".join(lines)


def assert_accessible(page: Page, *, javascript: bool) -> None:
    violations = axe_violations(page, javascript=javascript)
    assert not violations, f"axe found problems on {page.url}:\n{describe(violations)}"
