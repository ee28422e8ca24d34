"""Run the benchmarks: ``python -m bench.run [--only pages] [--threads N] [--database postgres]``.

One run: generate the dataset into a temporary directory, build a fresh database
with the `forum` command (migrate; import --no-index; reindex: each timed), start
the app as the Procfile's ``web`` line does (2 workers, production settings,
127.0.0.1 only), sign ten dataset members in through the form, measure ``GET
/healthz`` (the machine's practical limit for this server setup) at every
concurrency the suites use, then the suites in this order, then ``/healthz``
again (if the two differ much, the machine was not steady):

- ``pages``   — thread (anonymous, signed in), topic, home, search: wrk, 16 connections
- ``search``  — the search pages at 8 connections (their own targets)
- ``latency`` — the pages at half their measured maximum, open loop (needs ``pages``)
- ``write``   — replies posted by signed-in members, CSRF included; lost posts counted

Each closed-loop scenario is reported with its ratio to ``/healthz`` at the same
concurrency. With the server stopped, a separate in-process instance of the app
counts the SQL queries of each scenario's request (`bench.queries`). The figures
are printed and written to ``bench/results/<date>-<suites>.json``; the server,
the temporary directory and (PostgreSQL) the database are removed whatever
happens. ``--compare OLD.json NEW.json`` compares two result files instead
(e.g. the standard dataset against ``--threads 50000``, about 1M posts).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import ModuleType

from bench import (
    compare, database, latency, load, machine, openloop, pages, prebuilt, queries, report,
    results, search, server, write,
)
from bench.dataset import STANDARD_THREADS, generate
from bench.site import Run, discover

SUITES: dict[str, ModuleType] = {s.NAME: s for s in (pages, search, latency, write)}  # run order
GZIP = ("Accept-Encoding: gzip",)
UNSTEADY = 0.15  # the two /healthz figures differ by more than this: say so


def healthz(connections: int, end: bool = False) -> load.Scenario:
    if end:
        return load.Scenario(f"healthz @{connections} (end)", "/healthz",
                             "again, after the others: steadiness")
    return load.Scenario(f"healthz @{connections}", "/healthz",
                         "plain text through the middleware: the limit")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(SUITES),
                        help="run only this suite (repeatable; default: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"dataset size in threads of 20 posts (default {STANDARD_THREADS}, "
                             "the standard dataset; 50000 gives about 1M posts)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--connections", type=int, default=None,
                        help="concurrent connections for every suite (default: each suite's "
                             "own: pages, write 16; search 8)")
    parser.add_argument("--duration", type=int, default=None,
                        help="seconds per scenario (default: each suite's own: 20; search 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per scenario (3)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2, as in production)")
    parser.add_argument("--load-threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--open-loop-processes", type=int, default=None,
                        help="open-loop generator processes (default: one per "
                             f"{openloop.PER_PROCESS_RATE} req/s, at most {openloop.MAX_PROCESSES})")
    parser.add_argument("--gzip", action="store_true",
                        help="send 'Accept-Encoding: gzip' with every GET, as browsers do "
                             "(default: no compression asked, as wrk does)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, database)")
    parser.add_argument("--build-only", action="store_true",
                        help="SQLite: build the database, describe it for --prebuilt and stop "
                             "(implies --keep)")
    parser.add_argument("--prebuilt", type=Path, metavar="DIR",
                        help="SQLite: measure on a copy of the database a --build-only run kept "
                             "in DIR instead of building one")
    parser.add_argument("--results-dir", type=Path, default=results.RESULTS,
                        help="where to write the result file (default bench/results)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"),
                        help="compare two result files (nothing is run)")
    return parser.parse_args(argv)


def chosen_suites(only: list[str] | None) -> list[ModuleType]:
    """The suites to run, in run order; `latency` brings `pages` (it needs its maxima)."""
    names = set(only or SUITES)
    if latency.NAME in names and latency.NEEDS not in names:
        print(f"The {latency.NAME} suite needs the {latency.NEEDS} suite's maxima: "
              f"running {latency.NEEDS} too.", flush=True)
        names.add(latency.NEEDS)
    return [suite for name, suite in SUITES.items() if name in names]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare:
        return compare.main([str(p) for p in args.compare])
    if (args.build_only or args.prebuilt) and args.database != "sqlite":
        raise SystemExit("bench: --build-only and --prebuilt keep SQLite databases only")
    args.keep = args.keep or args.build_only
    # SIGTERM unwinds like Ctrl-C, so that the server and the database are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load.wrk_binary()  # fail before building anything
    suites = chosen_suites(args.only)
    started = datetime.now().astimezone()
    workdir = Path(tempfile.mkdtemp(prefix="forum-bench-"))
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    try:
        payload = run(args, suites, workdir, started, command)
        if payload is None:
            print(f"Built; measure it with --prebuilt {workdir}")
            return 0
    finally:
        if args.keep:
            print(f"Work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    name = "-".join(suite.NAME for suite in suites)
    path = results.write(name, started, payload, args.results_dir)
    print(f"\nWritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def suite_settings(args: argparse.Namespace, suite: ModuleType) -> load.LoadSettings:
    return load.LoadSettings(
        connections=args.connections or suite.CONNECTIONS, seconds=args.duration or suite.SECONDS,
        warmup_seconds=args.warmup, threads=args.load_threads,
    )


def run(
    args: argparse.Namespace, suites: list[ModuleType], workdir: Path, started: datetime,
    command: str,
) -> dict | None:
    """Build (or copy) the database, measure the suites; the result file's content.

    None when `args.build_only`: the database is built, described and kept."""
    settings = {suite.NAME: suite_settings(args, suite) for suite in suites}
    machine_info = machine.describe()
    if args.prebuilt:
        dataset, build = prebuilt.restore(args.prebuilt, workdir)
    else:
        print(f"Generating the dataset ({args.threads or STANDARD_THREADS:,} threads)...", flush=True)
        dataset = generate(workdir, args.threads)
    print(f"  {dataset.posts:,} posts, {dataset.bytes / 1e6:.1f} MB  [{dataset.seconds:.1f} s]")
    server_env = write.SERVER_ENV if write in suites else {}

    with database.fresh_database(args.database, workdir) as database_url:
        if args.prebuilt:
            database.run_forum(["migrate"], database.forum_env(database_url), workdir / "build.log")
        else:
            build = database.build(database_url, dataset.path, workdir)
        if args.build_only:
            prebuilt.save(workdir, dataset, build)
            return None
        with server.running(database_url, workdir, workers=args.workers, **server_env) as app:
            probe = server.keepalive_probe(app)
            bench = Run(app, discover(app.base_url, database_url, dataset.path), database_url,
                        workdir, [], extra_headers=GZIP if args.gzip else ())
            measure_suites(bench, suites, settings, args)
            server_info = {"command": app.command, "workers": args.workers, "loop": app.loop,
                           "environment": app.environment, "keepalive_probe": probe,
                           "processes_at_end": app.workers()}
        print("Counting SQL queries per request (a separate in-process app, server stopped)...",
              flush=True)
        count_queries(bench, write in suites)

    measured = bench.measured
    for result in measured:
        scenario = scenario_of(bench, result)
        result.setdefault("signed_in", scenario is not None and any(
            h.startswith("Cookie:") for h in scenario.headers))
    steady = add_ratios(measured)
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
                 "extra_headers": list(bench.extra_headers),
                 "open_loop_generator": "bench.openloop (Python asyncio, raw sockets, "
                                        "latency from the scheduled send time)",
                 "suites": {name: s.describe() for name, s in settings.items()},
                 "host": server.HOST},
        "sql_queries_counted_by": queries.__doc__.splitlines()[0],
        "site": bench.site.describe(),
        "dataset": dataset.describe() | {"path": dataset.path.name},
        "build": build,
        "scenarios": measured,
        "healthz_steady": steady,
        "targets": targets,
    }
    report.print_report(payload)
    return payload


def measure_suites(bench: Run, suites: list[ModuleType], settings: dict[str, load.LoadSettings],
                   args: argparse.Namespace) -> None:
    """/healthz at every concurrency the suites use, the suites, /healthz again."""
    concurrencies = sorted({settings[s.NAME].connections for s in suites if s is not latency},
                           reverse=True)
    for connections in concurrencies:
        measure_one(bench, None, healthz(connections), _with(settings, connections, args))
    for suite in suites:
        if hasattr(suite, "run_suite"):  # suites that measure in their own way
            extra = {"processes": args.open_loop_processes} if suite is latency else {}
            bench.measured += suite.run_suite(bench, settings[suite.NAME], **extra)
            continue
        for scenario in suite.scenarios(bench.site):
            measure_one(bench, suite, scenario, settings[suite.NAME])
    end = concurrencies[0]
    measure_one(bench, None, healthz(end, end=True), _with(settings, end, args))


def _with(settings: dict[str, load.LoadSettings], connections: int,
          args: argparse.Namespace) -> load.LoadSettings:
    """/healthz's settings at `connections`: the longest duration of the run's suites."""
    seconds = max(s.seconds for s in settings.values())
    return load.LoadSettings(connections=connections, seconds=seconds,
                             warmup_seconds=args.warmup, threads=args.load_threads)


def add_ratios(measured: list[dict]) -> bool:
    """Each closed-loop result's ratio to /healthz at the same concurrency (the first
    /healthz run); whether /healthz was steady from start to end."""
    limits: dict[int, float] = {}
    steady = True
    for result in measured:
        if result["path"] == "/healthz" and result.get("suite") is None:
            first = limits.setdefault(result["connections"], result["requests_per_second"])
            if first and abs(result["requests_per_second"] - first) / first > UNSTEADY:
                steady = False
    for result in measured:
        limit = limits.get(result.get("connections"))
        closed = result.get("suite") != latency.NAME
        result["ratio_to_healthz"] = (
            round(result["requests_per_second"] / limit, 4) if closed and limit else None
        )
    return steady


def measure_one(
    bench: Run, suite: ModuleType | None, scenario: load.Scenario, settings: load.LoadSettings,
) -> dict:
    app = bench.app
    if bench.extra_headers:
        scenario = dataclasses.replace(scenario, headers=scenario.headers + bench.extra_headers)
    status, body = load.fetch(app.base_url + scenario.path, scenario.headers)
    if scenario.check is not None:
        count, problem = scenario.check(status, body)
    else:
        count, problem = None, None if status == 200 else f"status {status}"
    if problem:
        print(f"  WARNING {scenario.name}: {problem}", flush=True)
    print(f"Load: {scenario.name}  GET {scenario.path}  "
          f"({settings.connections} connections, {settings.warmup_seconds}+{settings.seconds} s)",
          flush=True)
    result = load.measure(app, scenario, settings)
    result["preflight"] = {"status": status, "bytes": len(body), "results": count,
                           "problem": problem}
    if suite is not None:
        result["suite"] = suite.NAME
    bench.scenarios[result_key(result)] = scenario
    bench.measured.append(result)
    latency_ms = result["latency_ms"]
    print(f"  {result['requests_per_second']:,.1f} req/s  p50 {latency_ms['p50']:.1f} ms  "
          f"p95 {latency_ms['p95']:.1f} ms  p99 {latency_ms['p99']:.1f} ms  "
          f"errors {load.error_count(result)}  "
          f"other CPU {result['cpu']['other_cpu_share']:.0%}", flush=True)
    time.sleep(0.5)  # let the last responses' work settle before the next scenario
    return result


def result_key(result: dict) -> str:
    return f"{result.get('suite') or 'healthz'}/{result['name']}"


def scenario_of(bench: Run, result: dict) -> load.Scenario | None:
    """The scenario a result measured (the latency suite's are the pages suite's)."""
    return (bench.scenarios.get(result_key(result))
            or bench.scenarios.get(f"{latency.NEEDS}/{result['name']}"))


def count_queries(bench: Run, with_write: bool) -> None:
    """SQL statements per request for every scenario (see `bench.queries`)."""
    probes, seen = [], set()
    for key, scenario in bench.scenarios.items():
        identity = (scenario.path, scenario.headers)
        if identity not in seen:
            seen.add(identity)
            probes.append(queries.Probe(key, scenario.path, headers=scenario.headers))
    if with_write:
        path, fields = write.probe(bench)
        probes.append(queries.Probe(f"{write.NAME}/{write.SCENARIO}", path, **fields))
    counted = queries.count(bench.database_url, bench.app.secret_key, bench.app.base_url,
                            probes, **{k.lower(): v for k, v in (bench.app.environment or {}).items()})
    by_identity = {(p.path, p.headers): counted[p.key] for p in probes}
    for result in bench.measured:
        scenario = scenario_of(bench, result)
        if result.get("suite") == write.NAME:
            result["sql_queries"] = counted.get(f"{write.NAME}/{write.SCENARIO}")
        elif scenario is not None:
            result["sql_queries"] = by_identity.get((scenario.path, scenario.headers))


if __name__ == "__main__":
    sys.exit(main())
