"""The search log's batches: written within a second, when many wait, and when the app stops."""

from __future__ import annotations

import asyncio
import logging

import httpx2
import pytest
from tortoise import Tortoise
from tortoise.timezone import now

from forum.app import create_app
from forum.db import tortoise_config
from forum.search import log as search_log
from forum.search.log import SearchLogWriter
from forum.search.models import SearchLog


async def queries() -> list[tuple[str, int]]:
    return [(row.query, row.results) for row in await SearchLog.all().order_by("id")]


async def test_searches_are_written_together_soon_after_the_first(db) -> None:
    writer = SearchLogWriter(seconds=0.05)
    writer.add("Pension bond", 2)
    writer.add("TUPE", 0)
    assert await queries() == []  # nothing written per search
    await asyncio.sleep(0.2)
    assert await queries() == [("pension bond", 2), ("tupe", 0)]


async def test_many_waiting_searches_are_written_at_once(db) -> None:
    writer = SearchLogWriter(seconds=3600, entries=3)
    for text in ("a", "b", "c"):
        writer.add(text, 1)
    await asyncio.sleep(0.05)
    assert [query for query, _ in await queries()] == ["a", "b", "c"]


async def test_each_search_keeps_its_own_time(db) -> None:
    writer = SearchLogWriter(seconds=3600)
    before = now()
    writer.add("bond", 1)
    await asyncio.sleep(0.05)
    await writer.flush()
    [row] = await SearchLog.all()
    assert before <= row.created_at < before + (now() - before) / 2


async def test_a_batch_the_database_refuses_is_dropped_and_logging_goes_on(
    db, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    writer = SearchLogWriter(seconds=3600)
    real = SearchLog.bulk_create

    async def refused(*args, **kwargs):
        raise OSError("database gone")

    monkeypatch.setattr(SearchLog, "bulk_create", refused)
    writer.add("lost", 0)
    with caplog.at_level(logging.WARNING, logger="forum.search"):
        await writer.flush()
    assert "1 searches could not be written" in caplog.text
    monkeypatch.setattr(SearchLog, "bulk_create", real)
    writer.add("kept", 0)
    await writer.close()
    assert await queries() == [("kept", 0)]


async def test_the_app_writes_what_waits_when_it_stops(settings, monkeypatch) -> None:
    monkeypatch.setattr(search_log, "FLUSH_SECONDS", 3600)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.search.reset()
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/search", params={"q": "zebra"})).status_code == 200
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        assert await queries() == [("zebra", 0)]
    finally:
        await Tortoise.close_connections()
