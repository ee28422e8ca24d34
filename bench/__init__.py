"""Load and scale benchmarks (DESIGN §7): never part of the test run.

`make bench` runs `python -m bench.run`; every suite prints a table and writes
its figures to ``bench/results/<date>-<suite>.json``. Timings are compared as
ratios to ``GET /healthz`` measured in the same run, never across runs.

The parts, shared by every suite:

- `bench.dataset`  — the standard dataset from ``../shared/dataset/make_dataset.py``
- `bench.database` — a fresh SQLite or PostgreSQL database, built with the
  `forum` command (migrate, import, reindex), each step timed
- `bench.server`   — the app started exactly as the Procfile's ``web`` line,
  on 127.0.0.1 only, and always stopped
- `bench.load`     — the load generator (``wrk`` with ``bench/wrk_report.lua``),
  loopback addresses only
- `bench.machine`  — machine description and CPU accounting (how much of the
  machine other processes took while a scenario ran)
- `bench.results`  — tables and result files
- suites: `bench.search` (issue 3's speed targets)
"""
