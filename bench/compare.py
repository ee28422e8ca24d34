"""Two result files side by side: ``python -m bench.compare OLD.json NEW.json``.

Made for the scale check — the standard dataset (40k posts) against ``--threads
50000`` (about 1M): for every scenario in both files, latency and requests/s old
and new with the ratio new/old, and SQL queries per request. Targets: the thread
page and search p95 (closed loop, same concurrency) within 1.5x of the old run's,
and the same number of SQL queries per page.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import results

LATENCY_LIMIT = 1.5
SCALED = ("thread", "search")  # the pages whose latency must not grow with the data


def key(result: dict) -> str:
    kind = "open" if "open_loop" in result else "closed"
    return f"{result.get('suite') or 'healthz'}/{result['name']} [{kind}]"


def ratio(old: float | None, new: float | None) -> float | None:
    if old in (None, 0) or new is None:
        return None
    return round(new / old, 2)


def _sql(result: dict) -> int | None:
    counts = result.get("sql_queries")
    return None if not counts else counts["first"]


def compare(old: dict, new: dict) -> tuple[list[list[str]], list[dict]]:
    """Table rows for the scenarios both runs measured, and the scale targets."""
    before = {key(r): r for r in old["scenarios"]}
    rows, targets = [], []
    for result in new["scenarios"]:
        name = key(result)
        previous = before.get(name)
        if previous is None:
            continue
        o, n = previous["latency_ms"], result["latency_ms"]
        p95 = ratio(o["p95"], n["p95"])
        rows.append([
            name, _num(o["p50"]), _num(n["p50"]), _x(ratio(o["p50"], n["p50"])),
            _num(o["p95"]), _num(n["p95"]), _x(p95),
            _num(previous["requests_per_second"]), _num(result["requests_per_second"]),
            _num(_sql(previous)), _num(_sql(result)),
        ])
        if not result["name"].startswith(SCALED) or "open_loop" in result:
            continue
        targets.append({"name": f"{name} p95 new/old", "value": p95, "limit": LATENCY_LIMIT,
                        "unit": "x", "op": "<=", "met": p95 is not None and p95 <= LATENCY_LIMIT})
        if _sql(previous) is not None and _sql(result) is not None:
            targets.append({"name": f"{name} SQL queries per request", "value": _sql(result),
                            "limit": _sql(previous), "unit": "", "op": "==",
                            "met": _sql(result) == _sql(previous)})
    return rows, targets


HEADERS = ["scenario", "p50 old", "p50 new", "x", "p95 old", "p95 new", "x", "req/s old",
           "req/s new", "SQL old", "SQL new"]


def _num(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def describe(payload: dict) -> str:
    dataset = payload["dataset"]
    return (f"{payload['started_at']}  {dataset['posts']:,} posts  {payload['database']}  "
            f"commit {(payload['git']['commit'] or '?')[:12]}  suites {','.join(payload['suites'])}")


def main(argv: list[str] | None = None) -> int:
    from bench.report import target_line

    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if len(paths) != 2:
        print("usage: python -m bench.compare OLD.json NEW.json", file=sys.stderr)
        return 2
    old, new = (json.loads(p.read_text()) for p in paths)
    print(f"old: {paths[0].name}  {describe(old)}")
    print(f"new: {paths[1].name}  {describe(new)}\n")
    rows, targets = compare(old, new)
    print(results.table(HEADERS, rows))
    print()
    for target in targets:
        print(target_line(target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
