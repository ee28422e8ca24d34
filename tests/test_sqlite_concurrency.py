"""Several processes writing one SQLite file: no transaction may be lost.

Each writer process (tests/sqlite_writer.py) runs read-modify-write
transactions on one counter while the others do the same. With Tortoise's
stock deferred ``BEGIN``, a transaction whose snapshot went stale before its
first write fails with "database is locked"; ``forum.sqlite_engine`` begins with
``BEGIN IMMEDIATE`` so such a transaction waits instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise

from forum.db import tortoise_config
from forum.people.models import Organisation
from forum.threads.models import Topic
from tests.database import is_postgres, prepare_database
from tests.sqlite_writer import STOCK_ENGINE

pytestmark = pytest.mark.skipif(
    is_postgres(os.environ.get("TEST_DATABASE_URL", "")),
    reason="SQLite locking under several processes; TEST_DATABASE_URL is PostgreSQL",
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROCESSES = 3
TRANSACTIONS = 300  # per process
CONCURRENCY = 50  # tasks in flight per process
TIMEOUT = 60.0


@dataclass(frozen=True)
class Outcome:
    reports: list[dict[str, Any]]
    counter: int
    organisations: int

    @property
    def committed(self) -> int:
        return sum(r["committed"] for r in self.reports)

    @property
    def failed(self) -> int:
        return sum(r["failed"] for r in self.reports)

    @property
    def writers_overlapped(self) -> bool:
        """Whether every writer was still running when the last one started."""
        last_start = max(r["started_at"] for r in self.reports)
        return all(r["finished_at"] > last_start for r in self.reports)


async def _create_counter(url: str) -> int:
    await Tortoise.init(config=tortoise_config(url))
    try:
        topic = await Topic.create(slug="counter", name="Counter")
    finally:
        await Tortoise.close_connections()
    return topic.id


async def _read_totals(url: str, topic_id: int) -> tuple[int, int]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        topic = await Topic.get(id=topic_id)
        organisations = await Organisation.all().count()
    finally:
        await Tortoise.close_connections()
    return topic.thread_count, organisations


def _await_files(paths: list[Path], processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not all(p.exists() for p in paths):
        exited = [p for p in processes if p.poll() is not None]
        if exited or time.monotonic() > deadline:
            stderr = "\n".join(p.communicate()[1] for p in exited)
            pytest.fail(f"a writer never became ready:\n{stderr}")
        time.sleep(0.01)


def run_writers(tmp_path: Path, engine: str, *options: str) -> Outcome:
    """Migrate a fresh SQLite file, race PROCESSES writers on it, and total the result."""
    url = f"sqlite://{tmp_path / 'race.sqlite3'}"
    prepare_database(url)
    topic_id = asyncio.run(_create_counter(url))
    start_file = tmp_path / "start"
    ready_files = [tmp_path / f"ready-{n}" for n in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.sqlite_writer", url,
                "--engine", engine, "--topic-id", str(topic_id), "--label", f"writer{n}",
                "--transactions", str(TRANSACTIONS), "--concurrency", str(CONCURRENCY),
                "--ready-file", str(ready), "--start-file", str(start_file), *options,
            ],
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n, ready in enumerate(ready_files)
    ]
    reports = []
    try:
        # Every writer is connected before any starts, so that they really overlap.
        _await_files(ready_files, processes)
        start_file.touch()
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, stderr
            reports.append(json.loads(stdout.splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    counter, organisations = asyncio.run(_read_totals(url, topic_id))
    return Outcome(reports=reports, counter=counter, organisations=organisations)


def test_concurrent_writers_in_several_processes_lose_no_transaction(tmp_path: Path) -> None:
    outcome = run_writers(tmp_path, "forum.sqlite_engine")

    expected = PROCESSES * TRANSACTIONS
    assert outcome.writers_overlapped, outcome.reports
    assert outcome.failed == 0, outcome.reports
    assert outcome.counter == expected
    assert outcome.organisations == expected


def test_batches_of_statements_from_several_processes_lose_no_transaction(tmp_path: Path) -> None:
    # write_statements runs each transaction in one trip to SQLite's thread.
    outcome = run_writers(tmp_path, "forum.sqlite_engine", "--statements")

    expected = PROCESSES * TRANSACTIONS
    assert outcome.writers_overlapped, outcome.reports
    assert outcome.failed == 0, outcome.reports
    assert outcome.counter == expected
    assert outcome.organisations == expected


def test_the_stock_deferred_begin_loses_transactions_under_the_same_load(tmp_path: Path) -> None:
    # The control: the same workload on Tortoise's own client must fail, or the
    # test above would prove nothing.
    outcome = run_writers(tmp_path, STOCK_ENGINE)

    assert outcome.writers_overlapped, outcome.reports
    assert outcome.failed > 0, outcome.reports
    assert all(
        "database is locked" in error for r in outcome.reports for error in r["errors"]
    ), outcome.reports
    # What failed was rolled back whole; nothing else was lost.
    assert outcome.counter == outcome.committed
    assert outcome.organisations == outcome.committed
