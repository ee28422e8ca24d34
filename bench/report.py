"""The printed report of a run: what was measured, on what, and the targets."""

from __future__ import annotations

from bench import load, results


def worker_rss(result: dict) -> str:
    """Resident memory (MiB) of each uvicorn worker after the scenario: "61/63"."""
    processes = result.get("workers") or []
    workers = [p for p in processes if "spawn_main" in str(p.get("command", ""))] or processes
    return "/".join(f"{p['rss_mib']:.0f}" for p in workers) or "-"


def sql_cell(counts: dict | None) -> str:
    """SQL statements per request: "9", or "9/1" when the repeat (cached) needs fewer."""
    if not counts:
        return "-"
    first, repeat = counts["first"], counts.get("repeat")
    return str(first) if repeat is None or repeat == first else f"{first}/{repeat}"


def closed_loop_rows(scenarios: list[dict]) -> list[list[str]]:
    rows = []
    for s in scenarios:
        if "open_loop" in s:
            continue
        latency = s["latency_ms"]
        rate = s.get("replies_per_second", s["requests_per_second"])
        rows.append([
            s["name"], s.get("suite") or "-", str(s.get("connections", "-")), f"{rate:,.1f}",
            f"{s['ratio_to_healthz']:.3f}" if s.get("ratio_to_healthz") is not None else "-",
            f"{latency['p50']:.1f}", f"{latency['p95']:.1f}", f"{latency['p99']:.1f}",
            str(load.error_count(s)), _shown(s), sql_cell(s.get("sql_queries")), worker_rss(s),
            f"{s['cpu']['other_cpu_share']:.0%}",
        ])
    return rows


CLOSED_HEADERS = ["scenario", "suite", "conns", "req/s", "x healthz", "p50 ms", "p95 ms",
                  "p99 ms", "errors", "shown", "SQL/req", "worker MiB", "other CPU"]


def _shown(result: dict) -> str:
    """What the page showed before the load: posts, threads listed or search results."""
    shown = (result.get("preflight") or {}).get("results")
    return "-" if shown is None else f"{shown:,}"
OPEN_HEADERS = ["scenario (open loop)", "rate/s", "sent/s", "p50 ms", "p95 ms", "p99 ms",
                "errors", "lag p99 ms", "kept up", "SQL/req"]


def open_loop_rows(scenarios: list[dict]) -> list[list[str]]:
    rows = []
    for s in scenarios:
        run = s.get("open_loop")
        if run is None:
            continue
        latency = s["latency_ms"]
        rows.append([
            s["name"], f"{run['target_rate']:,.1f}", f"{run['sent_rate']:,.1f}",
            _ms(latency["p50"]), _ms(latency["p95"]), _ms(latency["p99"]),
            str(load.error_count(s)), _ms(run["send_lag_ms"]["p99"]),
            "yes" if run["generator_kept_up"] else "NO", sql_cell(s.get("sql_queries")),
        ])
    return rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def target_line(target: dict) -> str:
    mark = "ok  " if target["met"] else "MISS"
    op = target.get("op", "<")
    unit = f" {target['unit']}" if target["unit"] else ""
    return f"{mark} {target['name']}: {target['value']}{unit} (target {op} {target['limit']:g}{unit})"


def print_report(payload: dict) -> None:
    dataset, build = payload["dataset"], payload["build"]
    git = payload["git"]
    print()
    print(f"{payload['started_at']}  commit {(git['commit'] or '?')[:12]}  "
          f"{payload['machine']['cpu_count']} CPUs  Python {payload['machine']['python']}  "
          f"{payload['load']['generator']}")
    print(f"Dataset: {dataset['records'].get('thread', 0):,} threads, {dataset['posts']:,} posts, "
          f"{dataset['bytes'] / 1e6:.1f} MB;  database: {payload['database']} "
          f"({payload['search_backend']}), {(build['database_bytes'] or 0) / 1e6:.0f} MB")
    print(f"Build: migrate {build['migrate_s']:.1f} s, import --no-index {build['import_s']:.1f} s, "
          f"reindex {build['reindex_s']:.1f} s ({build['indexed_documents'] or 0:,} documents)")
    suites = payload["load"]["suites"]
    print("Load: " + "; ".join(
        f"{name} {s['connections']} connections, {s['warmup_seconds']}+{s['seconds']} s"
        for name, s in suites.items()
    ) + f"; {payload['server']['workers']} uvicorn workers ({payload['server']['loop']})")
    if payload["server"].get("environment"):
        print("Server environment added for the benchmark: " + " ".join(
            f"{k}={v}" for k, v in payload["server"]["environment"].items()
        ) + " (the posting and new-member limits would otherwise throttle the write suite)")
    if payload["load"].get("extra_headers"):
        print("Sent with every GET: " + "; ".join(payload["load"]["extra_headers"]))
    if payload["environment"]:
        print("Environment (not the plain setup): "
              + " ".join(f"{k}={v}" for k, v in payload["environment"].items()))
    print(f"SQL/req: {payload.get('sql_queries_counted_by', '-')} "
          "(\"a/b\": first request a, repeated b)")
    probe = payload["server"]["keepalive_probe"]
    print(f"Keep-alive probe: {probe['keepalive_median_ms']} ms per /healthz on one connection"
          + ("  <- DELAYED-ACK STALL: TCP_NODELAY is off (uvicorn #3149)\n"
             if probe["delayed_ack_stall"] else "\n"))
    print(results.table(CLOSED_HEADERS, closed_loop_rows(payload["scenarios"])))
    opened = open_loop_rows(payload["scenarios"])
    if opened:
        print()
        print(results.table(OPEN_HEADERS, opened))
    for s in payload["scenarios"]:
        if "write" in s:
            w = s["write"]
            print(f"\nWrite: {s['replies_per_second']:,.1f} replies/s, {load.error_count(s)} errors; "
                  f"{w['confirmed']:,} replies confirmed (303, warm-up included), "
                  f"{w['new_posts_in_database']:,} new posts in the database, "
                  f"{w['lost']} lost, {w['unconfirmed_in_database']} unconfirmed (in flight when the "
                  "warm-up and the run stopped: at most one per connection each)")
    if not payload["healthz_steady"]:
        print("\nNOTE: /healthz changed by more than 15% between the start and the "
              "end: the machine was not steady (see 'other CPU').")
    print()
    for target in payload["targets"]:
        print(target_line(target))
