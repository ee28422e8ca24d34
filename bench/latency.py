"""Latency under a realistic load: the pages suite's pages at half their maximum rate.

For every scenario of the pages suite measured in the same run, `bench.openloop`
sends GET requests at a fixed rate of half the requests/s wrk measured (closed
loop, 16 connections) and reports p50/p95/p99 measured from each request's
scheduled send time. A result is only as good as the generator: each says
whether it kept up (achieved send rate, p99 send lag).

Targets: p95 under 25 ms for every page at half load; search p95 under 30 ms.
"""

from __future__ import annotations

from bench import load, openloop
from bench.site import Run

NAME = "latency"
CONNECTIONS = 16  # only for the pages suite it needs (open loop has no fixed concurrency)
SECONDS = 20
NEEDS = "pages"  # the suite whose maxima set the rates
LOAD_FRACTION = 0.5
PAGE_P95_MS = 25.0
SEARCH_P95_MS = 30.0


def rate_for(maximum: float, fraction: float = LOAD_FRACTION) -> float:
    """The fixed rate for a page whose closed-loop maximum is `maximum` requests/s."""
    return max(1.0, round(maximum * fraction, 1))


def run_suite(run: Run, settings: load.LoadSettings, processes: int | None = None) -> list[dict]:
    found = []
    for closed in [r for r in run.measured if r.get("suite") == NEEDS]:
        rate = rate_for(closed["requests_per_second"])
        headers = run.scenarios[f"{NEEDS}/{closed['name']}"].headers
        print(f"Open loop: {closed['name']}  GET {closed['path']}  at {rate:,.1f} req/s "
              f"(half of {closed['requests_per_second']:,.1f}) for {settings.seconds} s", flush=True)
        with load.cpu_window(run.app) as cpu:
            measured = openloop.run(run.app.base_url + closed["path"], rate, settings.seconds,
                                    headers, processes)
        latency = measured["latency_ms"]
        result = {
            "name": closed["name"], "suite": NAME, "path": closed["path"],
            "description": f"open loop at {LOAD_FRACTION:.0%} of {closed['requests_per_second']:,.1f} req/s",
            "requests": measured["completed"],
            "seconds": settings.seconds, "requests_per_second": measured["completed_rate"],
            "latency_ms": latency,
            "errors": {"socket": measured["errors"]["socket"], "status": measured["errors"]["status"]},
            "statuses": measured["statuses"], "open_loop": measured, "cpu": cpu,
            "workers": run.app.workers(),
        }
        found.append(result)
        print(f"  sent {measured['sent_rate']:,.1f}/s  p50 {latency['p50']} ms  "
              f"p95 {latency['p95']} ms  p99 {latency['p99']} ms  errors {load.error_count(result)}"
              f"  generator kept up: {'yes' if measured['generator_kept_up'] else 'NO'}", flush=True)
    return found


def targets(build: dict, measured: list[dict]) -> list[dict]:
    found = []
    for result in measured:
        if result.get("suite") != NAME:
            continue
        limit = SEARCH_P95_MS if result["name"].startswith("search") else PAGE_P95_MS
        p95 = result["latency_ms"]["p95"]
        kept_up = result["open_loop"]["generator_kept_up"]
        found.append({
            "name": f"{result['name']} p95 at half load"
                    + ("" if kept_up else " (generator did NOT keep up)"),
            "value": p95, "limit": limit, "unit": "ms",
            "met": p95 is not None and p95 < limit and kept_up,
        })
    return found
