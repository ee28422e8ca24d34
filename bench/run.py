"""Run the benchmarks: ``python -m bench.run [--only search] [--threads N] [--database postgres]``.

One run: generate the dataset into a temporary directory, build a fresh database
with the `forum` command (migrate; import --no-index; reindex: each timed), start
the app as the Procfile's ``web`` line does (2 workers, production settings,
127.0.0.1 only), measure ``GET /healthz`` (the machine's practical limit for this
server setup), then every scenario of the chosen suites, then ``/healthz`` again
(if the two differ much, the machine was not steady). Each scenario is reported
with its ratio to the first ``/healthz`` req/s. The figures are printed and
written to ``bench/results/<date>-<suites>.json``; the server, the temporary
directory and (PostgreSQL) the database are removed whatever happens.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import ModuleType

from bench import database, load, machine, results, search, server
from bench.dataset import STANDARD_THREADS, generate

SUITES: dict[str, ModuleType] = {search.NAME: search}
HEALTHZ = load.Scenario("healthz", "/healthz", "plain text through the middleware: the limit")
HEALTHZ_END = load.Scenario("healthz (end)", "/healthz", "again, after the others: steadiness")
UNSTEADY = 0.15  # the two /healthz figures differ by more than this: say so


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SUITES),
                        help="run only this suite (repeatable; default: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"dataset size in threads of 20 posts (default {STANDARD_THREADS}, "
                             "the standard dataset; 50000 gives about 1M posts)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario (15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per scenario (3)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2, as in production)")
    parser.add_argument("--load-threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, database)")
    parser.add_argument("--results-dir", type=Path, default=results.RESULTS,
                        help="where to write the result file (default bench/results)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the server and the database are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load.wrk_binary()  # fail before building anything
    suites = [SUITES[name] for name in (args.only or sorted(SUITES))]
    started = datetime.now().astimezone()
    workdir = Path(tempfile.mkdtemp(prefix="forum-bench-"))
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    try:
        payload = run(args, suites, workdir, started, command)
    finally:
        if args.keep:
            print(f"Work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    name = "-".join(suite.NAME for suite in suites)
    path = results.write(name, started, payload, args.results_dir)
    print(f"\nWritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def run(
    args: argparse.Namespace, suites: list[ModuleType], workdir: Path, started: datetime,
    command: str,
) -> dict:
    settings = load.LoadSettings(
        connections=args.connections, seconds=args.duration, warmup_seconds=args.warmup,
        threads=args.load_threads,
    )
    machine_info = machine.describe()
    print(f"Generating the dataset ({args.threads or STANDARD_THREADS:,} threads)...", flush=True)
    dataset = generate(workdir, args.threads)
    print(f"  {dataset.posts:,} posts, {dataset.bytes / 1e6:.1f} MB  [{dataset.seconds:.1f} s]")
    plan = [(None, HEALTHZ)]
    plan += [(suite, scenario) for suite in suites for scenario in suite.scenarios()]
    plan += [(None, HEALTHZ_END)]

    with database.fresh_database(args.database, workdir) as database_url:
        build = database.build(database_url, dataset.path, workdir)
        with server.running(database_url, workdir, workers=args.workers) as app:
            probe = server.keepalive_probe(app)
            measured = []
            for suite, scenario in plan:
                measured.append(run_scenario(app, suite, scenario, settings))
            server_info = {"command": app.command, "workers": args.workers, "loop": app.loop,
                           "keepalive_probe": probe, "processes_at_end": app.workers()}

    healthz = measured[0]["requests_per_second"]
    for result in measured:
        result["ratio_to_healthz"] = (
            round(result["requests_per_second"] / healthz, 4) if healthz else None
        )
    end = measured[-1]["requests_per_second"]
    steady = bool(healthz) and abs(end - healthz) / healthz <= UNSTEADY
    targets = [t for suite in suites for t in suite.targets(build, measured)]
    payload = {
        "suites": [suite.NAME for suite in suites],
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info | {"load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "git": machine.git_commit(),
        # Set in the environment of the forum processes: results are not comparable without.
        "environment": {k: os.environ[k] for k in ("PYTHONPATH", "BENCH_MEILI_URL") if os.environ.get(k)},
        "database": args.database,
        "search_backend": (
            "meili" if os.environ.get("BENCH_MEILI_URL")
            else "sqlite_fts" if args.database == "sqlite" else "postgres_fts"
        ),
        "server": server_info,
        "load": {"generator": load.wrk_version(), "closed_loop": True,
                 "connections": settings.connections, "seconds": settings.seconds,
                 "warmup_seconds": settings.warmup_seconds, "threads": settings.threads,
                 "host": server.HOST},
        "dataset": dataset.describe() | {"path": dataset.path.name},
        "build": build,
        "scenarios": measured,
        "healthz_steady": steady,
        "targets": targets,
    }
    report(payload)
    return payload


def run_scenario(
    app: server.Server, suite: ModuleType | None, scenario: load.Scenario,
    settings: load.LoadSettings,
) -> dict:
    status, body = load.fetch(app.base_url + scenario.path, scenario.headers)
    if suite is not None and hasattr(suite, "check_page"):
        count, problem = suite.check_page(status, body)
    else:
        count, problem = None, None if status == 200 else f"status {status}"
    if problem:
        print(f"  WARNING {scenario.name}: {problem}", flush=True)
    print(f"Load: {scenario.name}  GET {scenario.path}  "
          f"({settings.connections} clients, {settings.warmup_seconds}+{settings.seconds} s)",
          flush=True)
    result = load.measure(app, scenario, settings)
    result["preflight"] = {"status": status, "bytes": len(body), "results": count,
                           "problem": problem}
    if suite is not None:
        result["suite"] = suite.NAME
    latency = result["latency_ms"]
    print(f"  {result['requests_per_second']:,.1f} req/s  p50 {latency['p50']:.1f} ms  "
          f"p95 {latency['p95']:.1f} ms  p99 {latency['p99']:.1f} ms  "
          f"errors {result['errors']['socket'] + result['errors']['non2xx']}  "
          f"other CPU {result['cpu']['other_cpu_share']:.0%}", flush=True)
    time.sleep(0.5)  # let the last responses' work settle before the next scenario
    return result


def report(payload: dict) -> None:
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
    print(f"Load: {payload['load']['connections']} concurrent clients (closed loop), "
          f"{payload['load']['seconds']} s per scenario after {payload['load']['warmup_seconds']} s "
          f"warm-up, {payload['server']['workers']} uvicorn workers ({payload['server']['loop']})")
    if payload["environment"]:
        print("Environment (not the plain setup): "
              + " ".join(f"{k}={v}" for k, v in payload["environment"].items()))
    probe = payload["server"]["keepalive_probe"]
    print(f"Keep-alive probe: {probe['keepalive_median_ms']} ms per /healthz on one connection"
          + ("  <- DELAYED-ACK STALL: TCP_NODELAY is off (uvicorn #3149)\n"
             if probe["delayed_ack_stall"] else "\n"))
    rows = []
    for s in payload["scenarios"]:
        latency = s["latency_ms"]
        rows.append([
            s["name"], f"{s['requests_per_second']:,.1f}",
            f"{s['ratio_to_healthz']:.3f}" if s["ratio_to_healthz"] is not None else "-",
            f"{latency['p50']:.1f}", f"{latency['p95']:.1f}", f"{latency['p99']:.1f}",
            f"{s['errors']['socket'] + s['errors']['non2xx']}",
            "-" if s["preflight"]["results"] is None else f"{s['preflight']['results']:,}",
            f"{s['cpu']['other_cpu_share']:.0%}",
        ])
    print(results.table(
        ["scenario", "req/s", "x healthz", "p50 ms", "p95 ms", "p99 ms", "errors", "results",
         "other CPU"], rows,
    ))
    if not payload["healthz_steady"]:
        print(f"\nNOTE: /healthz changed by more than {UNSTEADY:.0%} between the start and the "
              "end: the machine was not steady (see 'other CPU').")
    print()
    for target in payload["targets"]:
        mark = "ok  " if target["met"] else "MISS"
        print(f"{mark} {target['name']}: {target['value']} {target['unit']} "
              f"(target < {target['limit']:g} {target['unit']})")


if __name__ == "__main__":
    sys.exit(main())
