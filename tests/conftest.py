"""Fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the app, a client."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette
from tortoise import Tortoise

from forum.app import create_app
from forum.db import tortoise_config
from forum.settings import Settings
from tests.mailbox import Inbox, SmtpServer
from tests.database import (
    create_run_database,
    drop_run_database,
    empty_database,
    is_postgres,
    prepare_database,
    test_database_url,
)


@pytest.fixture(autouse=True)
def _unfrozen_heap() -> Iterator[None]:
    """A production app freezes the heap at start-up (`forum.heap.settle`): in a test
    process that would keep every later test's garbage cycles for good."""
    yield
    if gc.get_freeze_count():
        gc.unfreeze()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The database URL and its tables, migrated once per run with the real migrations."""
    url = test_database_url(tmp_path_factory.mktemp("db"))
    created = None
    if is_postgres(url):
        url, created = create_run_database(url)
    try:
        yield url, prepare_database(url)
    finally:
        if created:
            drop_run_database(os.environ["TEST_DATABASE_URL"], created)


@pytest.fixture
async def clean_database(database: tuple[str, list[str]]) -> str:
    url, tables = database
    await empty_database(url, tables)
    return url


@pytest.fixture
async def db(clean_database: str) -> AsyncIterator[str]:
    """An empty database with the ORM connected, for service tests."""
    await Tortoise.init(config=tortoise_config(clean_database))
    try:
        yield clean_database
    finally:
        await Tortoise.close_connections()


@pytest.fixture
def settings(clean_database: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test", database_url=clean_database,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        base_url="http://testserver", posts_per_minute=1000, search_indexing="off",
        # Factories write rows directly, past the services that move the content
        # stamp: pages are cached only where a test asks for it (tests/caching).
        page_cache_size=0, thread_cache_size=0,
        background_jobs="off",
        # Development mail (files), kept out of the project's own data/ folder.
        mail_dir=str(tmp_path / "mail"),
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The application with its lifespan running (the ORM connected); not with `db`."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        # The search tables live beside the forum's; start every test with an empty index.
        await application.state.search.reset()
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; what arrives is in its inbox."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def inbox(smtp_server: SmtpServer) -> Inbox:
    return smtp_server.inbox


class QueryCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.lstrip().split(" ", 1)[0].upper() in {
            "SELECT", "INSERT", "UPDATE", "DELETE", "WITH",
        }:
            self.statements.append(message)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries() -> Iterator[QueryCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
