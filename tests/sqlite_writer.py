"""One writer process for tests/test_sqlite_concurrency.py.

Run from the project root as ``python -m tests.sqlite_writer URL ...``. It
connects through the project's own config (``forum.db.tortoise_config``), waits
for the test to start every writer at once, then runs `--transactions`
read-modify-write transactions, `--concurrency` at a time, each through
``write_transaction()``: read a topic's ``thread_count``, save it plus one, and
insert an organisation with a unique slug, so a lost transaction shows up both
in the counter and in the row count. With ``--statements`` each transaction is
the same change written as one `write_statements` batch (a blind increment and an
insert, run in one trip to SQLite's thread). The last line on stdout is a JSON
report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from tortoise.timezone import now

from forum.db import Statement, tortoise_config, write_statements, write_transaction
from forum.people.models import Organisation
from forum.threads.models import Topic

STOCK_ENGINE = "tortoise.backends.sqlite"
START_TIMEOUT = 30.0


def writer_config(database_url: str, engine: str) -> dict[str, Any]:
    """The project's config for `database_url`, with its SQLite engine swapped for `engine`."""
    config = tortoise_config(database_url)
    connection = config["connections"]["default"]
    connection["engine"] = engine
    # The stock client gets the pragmas ours sets by default, so that the only
    # difference left between the two runs is how a transaction begins.
    connection["credentials"].setdefault("busy_timeout", 10_000)
    connection["credentials"].setdefault("synchronous", "NORMAL")
    return config


async def increment_counter(topic_id: int, slug: str) -> None:
    """Read the counter, write it back plus one, and record `slug`: one transaction."""
    async with write_transaction():
        topic = await Topic.get(id=topic_id)
        topic.thread_count += 1
        await topic.save(update_fields=["thread_count"])
        await Organisation.create(slug=slug, name=slug)


async def increment_counter_in_one_batch(topic_id: int, slug: str) -> None:
    """The same change as `increment_counter`, as one `write_statements` batch."""
    await write_statements([
        Statement("UPDATE topics SET thread_count = thread_count + 1 WHERE id = ?", (topic_id,),
                  required=True),
        Statement(
            "INSERT INTO organisations (slug, name, sector, stage, parent_body, legal_form,"
            " website, description, created_at) VALUES (?, ?, '', '', '', '', '', '', ?)",
            (slug, slug, now()),
        ),
    ])


async def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no start signal at {path}")
        await asyncio.sleep(0.002)


async def run_writer(args: argparse.Namespace) -> dict[str, Any]:
    """Connect, signal readiness, wait for the start signal, write, and report."""
    await Tortoise.init(config=writer_config(args.database_url, args.engine))
    try:
        # Open the connection now, so that start-up cost is not part of the race.
        await Topic.get(id=args.topic_id)
        args.ready_file.touch()
        await _wait_for(args.start_file)

        limit = asyncio.Semaphore(args.concurrency)
        errors: Counter[str] = Counter()

        async def one(index: int) -> bool:
            async with limit:
                change = increment_counter_in_one_batch if args.statements else increment_counter
                try:
                    await change(args.topic_id, f"{args.label}-{index}")
                except Exception as exc:  # every failure is counted and reported
                    errors[f"{type(exc).__name__}: {exc}"] += 1
                    return False
                return True

        started_at = time.time()
        outcomes = await asyncio.gather(*(one(i) for i in range(args.transactions)))
        finished_at = time.time()
    finally:
        await Tortoise.close_connections()
    return {
        "label": args.label,
        "committed": sum(outcomes),
        "failed": outcomes.count(False),
        "errors": dict(errors),
        # Wall-clock times, comparable across processes: the test checks they overlap.
        "started_at": started_at,
        "finished_at": finished_at,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--engine", default="forum.sqlite_engine")
    parser.add_argument("--topic-id", type=int, required=True)
    parser.add_argument("--label", required=True, help="prefix of the inserted slugs")
    parser.add_argument("--transactions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--start-file", type=Path, required=True)
    parser.add_argument("--statements", action="store_true",
                        help="write each change with write_statements")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    report = asyncio.run(run_writer(parse_args(argv)))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
