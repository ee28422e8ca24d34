"""The Procfile's web process, started as a platform starts it (`bench.server`)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from bench import server


@pytest.mark.parametrize(("access_log", "lines"), [(None, 0), ("true", 1)])
def test_the_web_process_logs_a_line_per_request_only_when_asked(
    database: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    access_log: str | None, lines: int,
) -> None:
    # A line per request pairs a visitor's address with their search words.
    monkeypatch.delenv("UVICORN_ACCESS_LOG", raising=False)
    extra = {"UVICORN_ACCESS_LOG": access_log} if access_log else {}
    with server.running(database[0], tmp_path, workers=1, **extra) as web:
        with urllib.request.urlopen(f"{web.base_url}/search?q=tender+bonds", timeout=10) as page:
            assert page.status == 200
    assert web.log.read_text().count("GET /search?q=tender+bonds") == lines
