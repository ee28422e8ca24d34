"""Fixtures for the forum's search tests."""

import pytest

from forum.search import engine
from search_index.backend import SearchBackend


@pytest.fixture
async def backend(db, settings) -> SearchBackend:
    """The deployment's own backend (FTS5 on SQLite, tsvector on PostgreSQL), emptied."""
    backend = engine.build_backend(settings)
    await backend.ensure_index()
    await backend.reset()
    return backend
