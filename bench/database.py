"""A fresh database for one run, built with the `forum` command, every step timed.

SQLite: a file in the run's work directory. PostgreSQL: a new database on the
server at `BENCH_POSTGRES_URL` (default ``postgres://postgres@127.0.0.1:5432``),
created here and dropped at the end whatever happens. Only loopback servers are
accepted: a benchmark never touches another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.dataset import REPO_ROOT

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
VENV_BIN = Path(sys.prefix) / "bin"


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK and not (host or "").startswith("127."):
        raise SystemExit(f"bench: refusing {url!r}: benchmarks only talk to 127.0.0.1")


SQLITE_FILE = "forum.sqlite3"  # the SQLite database in the work directory


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """Yield the DATABASE_URL of a new, empty database of `kind` ("sqlite" or "postgres")."""
    if kind == "sqlite":
        yield f"sqlite://{workdir / SQLITE_FILE}"
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    base = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    require_loopback(base)
    name = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_postgres_admin(base, f'CREATE DATABASE "{name}"'))
    print(f"Created PostgreSQL database {name}.", flush=True)
    try:
        yield _with_database(base, name)
    finally:
        asyncio.run(_postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(f"Dropped PostgreSQL database {name}.", flush=True)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


async def _postgres_admin(base: str, statement: str) -> None:
    import asyncpg  # the application's own PostgreSQL driver

    connection = await asyncpg.connect(_with_database(base, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def database_bytes(database_url: str) -> int | None:
    """The size of the database on disk (SQLite: with its WAL; PostgreSQL: pg_database_size)."""
    if database_url.startswith("sqlite://"):
        path = Path(database_url.removeprefix("sqlite://"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())

    async def size() -> int:
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            return await connection.fetchval("SELECT pg_database_size(current_database())")
        finally:
            await connection.close()

    return asyncio.run(size())


def backend_pids(database_url: str) -> list[int]:
    """PostgreSQL: the server processes serving connections to this database (for CPU
    accounting); SQLite runs inside the application's processes: none."""
    if database_url.startswith("sqlite://"):
        return []

    async def pids() -> list[int]:
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return [row["pid"] for row in rows]
        finally:
            await connection.close()

    return asyncio.run(pids())


def forum_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of every `forum`/uvicorn process: this venv first, the embedded
    search engine of the database (no Meilisearch unless asked), nothing from a .env."""
    env = dict(os.environ)
    if env.get("BENCH_MEILI_URL"):
        require_loopback(env["BENCH_MEILI_URL"])
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        DATABASE_URL=database_url,
        MEILI_URL=env.get("BENCH_MEILI_URL", ""),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Step:
    name: str
    command: list[str]
    seconds: float
    output: str = field(repr=False)


def run_forum(args: list[str], env: dict[str, str], log: Path) -> Step:
    """Run ``forum ARGS`` from the repository root, timed; its output goes to `log`."""
    command = [str(VENV_BIN / "forum"), *args]
    print(f"$ forum {' '.join(args)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - started
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n{result.stdout}\n")
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-30:])
        raise SystemExit(f"bench: `forum {' '.join(args)}` failed ({result.returncode}):\n{tail}")
    last = result.stdout.strip().splitlines()[-1:] or [""]
    print(f"  {last[0]}  [{seconds:.1f} s]", flush=True)
    return Step(args[0], command, round(seconds, 2), result.stdout)


def build(database_url: str, dataset: Path, workdir: Path) -> dict[str, object]:
    """Migrate, import without indexing, then rebuild the search index: each timed apart."""
    env = forum_env(database_url)
    log = workdir / "build.log"
    migrate = run_forum(["migrate"], env, log)
    imported = run_forum(["import", "--no-index", str(dataset)], env, log)
    reindex = run_forum(["reindex"], env, log)
    indexed = re.search(r"Done: ([\d,]+) documents indexed", reindex.output)
    settled = settle(database_url)
    return {
        "migrate_s": migrate.seconds,
        "import_s": imported.seconds,
        "reindex_s": reindex.seconds,
        "settle_s": settled,
        "indexed_documents": int(indexed.group(1).replace(",", "")) if indexed else None,
        "database_bytes": database_bytes(database_url),
        "commands": [
            "forum migrate", f"forum import --no-index {dataset.name}", "forum reindex",
        ],
    }


def settle(database_url: str) -> float | None:
    """PostgreSQL: vacuum, analyse and checkpoint the freshly built database; the seconds
    it took (None on SQLite, which has nothing of the kind to wait for).

    After a bulk load, autovacuum visits every new table and the checkpointer writes
    every page the load dirtied, within minutes: whichever scenario they land in
    would measure them (a core of two, and the disk) rather than the application.
    A database in service has long been through both; so is this one, before any load.
    """
    if database_url.startswith("sqlite://"):
        return None
    print("$ VACUUM (ANALYZE); CHECKPOINT", flush=True)
    started = time.monotonic()

    async def run() -> None:
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute("VACUUM (ANALYZE)")
            await connection.execute("CHECKPOINT")
        finally:
            await connection.close()

    asyncio.run(run())
    seconds = time.monotonic() - started
    print(f"  Settled: what autovacuum and the checkpointer do after a bulk load, done "
          f"before measuring.  [{seconds:.1f} s]", flush=True)
    return seconds


def query(database_url: str, sql: str, *params: object) -> list[tuple]:
    """Rows of one read-only statement (``?`` placeholders), on SQLite or PostgreSQL.

    For the harness's own look-ups (thread ids, post counts), never during a timed run.
    """
    if database_url.startswith("sqlite://"):
        import sqlite3

        path = database_url.removeprefix("sqlite://")
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            return [tuple(row) for row in connection.execute(sql, params).fetchall()]

    numbered = re.sub(r"\?", lambda _, n=iter(range(1, 1000)): f"${next(n)}", sql)

    async def fetch() -> list[tuple]:
        import asyncpg

        connection = await asyncpg.connect(database_url)
        try:
            return [tuple(row) for row in await connection.fetch(numbered, *params)]
        finally:
            await connection.close()

    return asyncio.run(fetch())


def thread_ids(database_url: str, refs: list[str]) -> dict[str, int]:
    """The ids of the imported threads `refs` (the dataset's ``t-hot``, ``t-0``...)."""
    marks = ", ".join("?" for _ in refs)
    rows = query(database_url, f"SELECT import_ref, id FROM threads WHERE import_ref IN ({marks})",
                 *refs)
    return {ref: thread_id for ref, thread_id in rows}


def topic_of_thread(database_url: str, thread_id: int) -> str:
    rows = query(database_url, "SELECT topics.slug FROM threads JOIN topics "
                 "ON topics.id = threads.topic_id WHERE threads.id = ?", thread_id)
    return rows[0][0]


def post_count(database_url: str) -> int:
    return query(database_url, "SELECT COUNT(*) FROM posts")[0][0]


def post_numbers(database_url: str, thread_ids_: list[int]) -> set[tuple[int, int]]:
    """(thread id, post number) of every post of these threads."""
    marks = ", ".join("?" for _ in thread_ids_)
    rows = query(database_url,
                 f"SELECT thread_id, number FROM posts WHERE thread_id IN ({marks})", *thread_ids_)
    return {(t, n) for t, n in rows}
