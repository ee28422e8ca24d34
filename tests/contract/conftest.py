"""The search backends under the one contract: every test runs against each of them.

- ``sqlite_fts`` always, in a fresh SQLite file; and again as
  ``sqlite_fts_common``, where every query ranks as a very common one does
  (`search_index.sqlite_ranking`: no bm25 pass over the index).
- ``postgres_fts`` on SEARCH_TEST_POSTGRES_URL or TEST_DATABASE_URL when either is
  a PostgreSQL URL (it must answer), else on postgres://postgres@127.0.0.1:5432/test
  when a server answers there (skipped otherwise). Its tables are named
  ``contract_<process id>_*``: clear of the forum's own and of another run of
  this suite on the same database; they are dropped at the end of the run.
- ``meili`` whenever MEILI_URL is set (MEILI_API_KEY optional), in a throwaway index.

Each test starts from an empty index.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import warnings
import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import asyncpg
import meilisearch
import meilisearch.errors
import pytest
from tortoise import Tortoise, connections

from search_index.backend import SearchBackend, SearchDoc

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"
TABLE_PREFIX = "contract_"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _backend_class(module: str, name: str) -> Any:
    """Import lazily, so that a backend still being written only skips its own tests."""
    try:
        found = importlib.import_module(f"search_index.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"search_index.{module}":
            pytest.skip(f"search_index.{module}: not implemented yet")
        raise
    if not hasattr(found, name):
        pytest.skip(f"search_index.{module}.{name}: not implemented yet")
    return getattr(found, name)


def _postgres_url() -> tuple[str, bool]:
    """The PostgreSQL URL to test on, and whether it was asked for explicitly."""
    for variable in ("SEARCH_TEST_POSTGRES_URL", "TEST_DATABASE_URL"):
        url = os.environ.get(variable, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url, True
    return DEFAULT_POSTGRES_URL, False


async def _postgres_answers(url: str) -> str | None:
    """None when a server accepts a connection at `url`, else why not."""
    try:
        connection = await asyncpg.connect(
            url.replace("postgres://", "postgresql://", 1), timeout=3
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


async def _connect(connection: str | dict[str, Any]) -> Any:
    """A Tortoise client for `connection`, without any ORM models.

    Tortoise 1.x wants at least one app; the search index has no models, so
    its backend module stands in as an empty one (and Tortoise's warning that
    it holds no models is expected).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message='Module ".*" has no models', category=RuntimeWarning
        )
        await Tortoise.init(config={
            "connections": {"default": connection},
            "apps": {"search": {"models": ["search_index.backend"]}},
        })
    return connections.get("default")


async def _drop_tables(url: str, prefix: str) -> None:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=3)
    try:
        names = await connection.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE starts_with(tablename, $1)", prefix
        )
        for row in names:
            await connection.execute(
                f'DROP TABLE IF EXISTS "{row["schemaname"]}"."{row["tablename"]}" CASCADE'
            )
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_prefix() -> Iterator[str]:
    """A table prefix of this run's own; its tables are dropped when the run ends."""
    prefix = f"contract_{os.getpid()}_"
    yield prefix
    url, _ = _postgres_url()
    asyncio.run(_drop_tables(url, prefix))


@pytest.fixture(params=["sqlite_fts", "sqlite_fts_common", "postgres_fts", "meili"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[SearchBackend]:
    """An empty index on each engine in turn."""
    name = request.param
    if name == "sqlite_fts_common":
        from search_index import sqlite_ranking

        monkeypatch.setattr(sqlite_ranking, "BM25_BUDGET", -1)
        name = "sqlite_fts"
    if name == "meili":
        url = os.environ.get("MEILI_URL")
        if not url:
            pytest.skip("MEILI_URL not set")
        meili_backend = _backend_class("meili", "MeiliBackend")
        api_key = os.environ.get("MEILI_API_KEY") or None
        index_uid = f"contract_{secrets.token_hex(4)}"
        engine = meili_backend(url=url, api_key=api_key, index_uid=index_uid)
        try:
            await engine.ensure_index()
            await engine.reset()
            yield engine
        finally:
            # A throwaway index per test: remove it (best effort: the test's verdict stands).
            client = meilisearch.Client(url, api_key)
            with contextlib.suppress(meilisearch.errors.MeilisearchError):
                await anyio.to_thread.run_sync(client.delete_index, index_uid)
        return

    if name == "sqlite_fts":
        engine_class = _backend_class("sqlite_fts", "SqliteFTSBackend")
        prefix = TABLE_PREFIX
        client = await _connect({
            "engine": "tortoise.backends.sqlite",
            "credentials": {"file_path": str(tmp_path / "search.sqlite3"), "journal_mode": "WAL"},
        })
    else:
        url, explicit = _postgres_url()
        problem = await _postgres_answers(url)
        if problem and explicit:
            pytest.fail(f"PostgreSQL at {url} does not answer: {problem}")
        if problem:
            pytest.skip(f"PostgreSQL not configured (nothing answers at {url}: {problem})")
        engine_class = _backend_class("postgres_fts", "PostgresFTSBackend")
        prefix = request.getfixturevalue("postgres_prefix")
        client = await _connect(url.replace("postgresql://", "postgres://", 1))
    try:
        engine = engine_class(client, table_prefix=prefix)
        await engine.ensure_index()
        await engine.reset()
        yield engine
    finally:
        await Tortoise.close_connections()


@pytest.fixture
def backend_name(request: pytest.FixtureRequest, backend: SearchBackend) -> str:
    return request.node.callspec.params["backend"]


def doc(id: str, title: str = "", body: str = "", **fields: Any) -> SearchDoc:
    """A document with defaults: a public thread, created `T0` plus its number in minutes."""
    number = int(id.rsplit("-", 1)[-1]) if id.rsplit("-", 1)[-1].isdigit() else 0
    kind = fields.pop("kind", id.rsplit("-", 1)[0])
    fields.setdefault("created_at", T0 + timedelta(minutes=number))
    fields.setdefault("updated_at", fields["created_at"])
    return SearchDoc(
        id=id, kind=kind, title=title, body=body, url=f"/t/{number}/{id}", **fields
    )
