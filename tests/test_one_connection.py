"""`one_connection`: a block's statements on one pooled connection (PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError

from forum.db import one_connection, read_rows, write_transaction
from forum.postgres_engine import _HELD
from forum.search.services import search_page, search_request
from forum.threads.models import Topic
from search_index.backend import SearchPage, SearchQuery

pytestmark = pytest.mark.usefixtures("db")


def _postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def _session() -> int:
    """Which server session ran the statement (SQLite: its one connection)."""
    if _postgres():
        return (await read_rows("SELECT pg_backend_pid()", []))[0][0]
    return (await read_rows("SELECT 1", []))[0][0]


def _held():
    """The connection the block holds (PostgreSQL), with its turn lock."""
    return _HELD.get()


def _free_connections() -> int | None:
    pool = getattr(connections.get("default"), "_pool", None)
    return pool.get_idle_size() if pool is not None else None


async def test_the_statements_of_a_block_run_in_one_session_and_it_is_given_back():
    await _session()  # the pool is made by the first statement
    idle = _free_connections()
    async with one_connection():
        first = await _session()
        assert {await _session() for _ in range(5)} == {first}
        if _postgres():
            assert _free_connections() == idle - 1  # held by the block
        async with one_connection():  # nested: the same connection
            assert await _session() == first
    assert _free_connections() == idle


async def test_a_failing_statement_leaves_the_held_connection_usable():
    async with one_connection():
        with pytest.raises(OperationalError):
            await read_rows("SELECT * FROM no_such_table", [])
        assert await read_rows("SELECT 2", []) == [(2,)]


async def test_a_task_that_outlives_the_block_takes_a_connection_of_its_own():
    release = asyncio.Event()

    async def later() -> list[tuple[int, ...]]:
        await release.wait()
        return await read_rows("SELECT 3", [])

    async with one_connection():
        task = asyncio.create_task(later())  # the task copies the block's context
        await asyncio.sleep(0)
    release.set()
    assert await task == [(3,)]


async def test_a_transaction_in_a_block_is_refused_on_postgresql():
    # It would wait for a second pooled connection while the block holds one.
    async with one_connection():
        if _postgres():
            with pytest.raises(RuntimeError, match="no transaction"):
                async with write_transaction():
                    await Topic.create(slug="tupe", name="TUPE", description="", position=0)
            assert await read_rows("SELECT count(*) FROM topics", []) == [(0,)]
        else:  # one connection anyway
            async with write_transaction():
                await Topic.create(slug="tupe", name="TUPE", description="", position=0)
            assert await read_rows("SELECT count(*) FROM topics", []) == [(1,)]
    async with write_transaction():  # after the block, as before
        await Topic.create(slug="lgps", name="LGPS", description="", position=1)


async def test_statements_started_together_in_a_block_take_turns():
    async with one_connection():
        first, second = await asyncio.gather(
            read_rows("SELECT 1", []), read_rows("SELECT 2", [])
        )
        assert (first, second) == ([(1,)], [(2,)])
        assert await read_rows("SELECT 3", []) == [(3,)]


async def test_a_statement_waiting_for_its_turn_when_the_block_ends_takes_its_own_connection():
    async def later() -> list[tuple[int, ...]]:
        await asyncio.sleep(0.01)  # the block has begun to end: it waits for its turn
        return await read_rows("SELECT 4", [])

    async with one_connection():
        holding = _held()
        if holding is not None:  # PostgreSQL: as if a statement of the block still ran
            await holding.turn.acquire()
            asyncio.get_running_loop().call_later(0.05, holding.turn.release)
        task = asyncio.create_task(later())
    assert await task == [(4,)]
    if holding is not None:
        assert holding.connection is None


class _Engine:
    """A search engine that notes whether the search page held a connection for it."""

    def __init__(self, in_database: bool | None) -> None:
        if in_database is not None:
            self.in_database = in_database
        self.holding: list[object] = []

    async def search(self, query: SearchQuery) -> SearchPage:
        self.holding.append(_held())
        return SearchPage(hits=[], total=0)


@pytest.mark.parametrize("in_database", [True, False, None])
async def test_the_search_page_holds_a_connection_only_for_an_engine_in_the_database(in_database):
    engine = _Engine(in_database)

    async def no_topics() -> dict[str, str]:
        return {}

    request = search_request({"q": ["pension"]}, 1)
    found = await search_page(engine, request, None, no_topics, per_page=10)
    assert found.results.total == 0
    if in_database and _postgres():
        assert engine.holding[0] is not None
    else:  # a remote engine (Meilisearch) would keep it from the pool during its call
        assert engine.holding == [None]


async def test_a_long_statement_is_prepared_once_and_kept():
    # A search with several filters, with its check of the hits, runs past asyncpg's
    # default limit on the statements it keeps prepared (forum.postgres_engine).
    long_sql = "SELECT 1 AS one /* " + "x" * 20_000 + " */"
    async with one_connection():
        for _ in range(3):
            assert await read_rows(long_sql, []) == [(1,)]
        if _postgres():
            kept = await read_rows(
                "SELECT count(*) FROM pg_prepared_statements WHERE length(statement) > 20000", []
            )
            assert kept == [(1,)]
