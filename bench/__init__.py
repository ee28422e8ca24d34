"""Load and scale benchmarks (DESIGN §7): never part of the test run.

`make bench` runs `python -m bench.run` (every suite unless ``--only``); a run
prints a table and writes its figures to ``bench/results/<date>-<suites>.json``.
Pages are compared as ratios to ``GET /healthz`` measured in the same run, never
across runs; `bench.compare` sets two result files side by side (e.g. 40k
against 1M posts).

The parts, shared by every suite:

- `bench.dataset`  — the standard dataset from ``../shared/dataset/make_dataset.py``
- `bench.database` — a fresh SQLite or PostgreSQL database, built with the
  `forum` command (migrate, import, reindex), each step timed; the harness's
  own look-ups (thread ids, post counts)
- `bench.server`   — the app started exactly as the Procfile's ``web`` line,
  on 127.0.0.1 only, and always stopped
- `bench.site`     — the addresses under load and members signed in through
  the form (`bench.signin`)
- `bench.load`     — the closed-loop load generator (``wrk`` with
  ``bench/wrk_report.lua``; ``bench/wrk_write.lua`` for replies), loopback only
- `bench.openloop` — the open-loop generator (fixed rate, latency from the
  scheduled send time), in processes of its own
- `bench.queries`  — SQL statements per request, counted by a separate
  in-process app after the load
- `bench.machine`  — machine description, CPU accounting (how much of the
  machine other processes took while a scenario ran), workers' memory
- `bench.results`, `bench.report`, `bench.compare` — tables and result files
- suites: `bench.pages`, `bench.search`, `bench.latency`, `bench.write`
"""
