"""SQL queries per request, counted without touching the measured server.

After the timed runs, with the load server stopped, a separate in-process
instance of the application (same database, same SECRET_KEY, production settings,
search indexing off) serves each scenario's request while a logging handler on
Tortoise's ``tortoise.db_client`` logger counts the statements, as the test
suite's ``count_queries`` fixture does. Each request is sent twice: the first
answer is the cold one (an empty in-process cache), the second shows what a
cache saves. Nothing here runs inside the server that was measured, so counting
costs the measurement nothing.

    python -m bench.queries < requests.json   # run by `count` in its own process
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import unquote

from bench.database import forum_env
from bench.dataset import REPO_ROOT

STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


@dataclass(frozen=True)
class Probe:
    """One request to count: `key` names the scenario it stands for."""

    key: str
    path: str
    method: str = "GET"
    headers: tuple[str, ...] = ()
    body: str = ""
    repeat: bool = True  # a GET is sent twice (cold, then warm); a POST once


class _Counter(logging.Handler):
    """Counts the SQL statements Tortoise sends (as tests/conftest.py's QueryCounter)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip().split(" ", 1)[0].upper() in STATEMENTS:
            self.statements += 1


async def _call(app, probe: Probe) -> int:
    """One request through the ASGI app; its status."""
    path, _, query = probe.path.partition("?")
    headers = [(b"host", b"127.0.0.1")]
    for header in probe.headers:
        name, _, value = header.partition(":")
        headers.append((name.strip().lower().encode(), value.strip().encode("latin-1")))
    body = probe.body.encode()
    if body:
        headers += [(b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": probe.method, "scheme": "http", "path": unquote(path),
        "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }
    finished = asyncio.Event()
    delivered = False
    status = 0

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    await app(scope, receive, send)
    finished.set()
    return status


async def _count_all(settings: dict, probes: Sequence[Probe]) -> dict[str, dict]:
    from forum.app import create_app
    from forum.settings import Settings

    app = create_app(Settings(**settings))
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # count, do not print
    logger.addHandler(counter)
    found: dict[str, dict] = {}
    async with app.router.lifespan_context(app):
        for probe in probes:
            counts, statuses = [], []
            for _ in range(2 if probe.repeat else 1):
                counter.statements = 0
                statuses.append(await _call(app, probe))
                counts.append(counter.statements)
            found[probe.key] = {
                "first": counts[0], "repeat": counts[1] if len(counts) > 1 else None,
                "statuses": statuses,
            }
    return found


def count(database_url: str, secret_key: str, base_url: str, probes: Sequence[Probe],
          **settings: object) -> dict[str, dict]:
    """SQL statements per request for every probe, from a separate process (see above)."""
    request = {
        "settings": {"environment": "production", "database_url": database_url,
                     "secret_key": secret_key, "base_url": base_url,
                     "search_indexing": "off", "background_jobs": "off",
                     # Never used (nothing is sent), but production requires one.
                     "smtp_url": "smtp://127.0.0.1:25", **settings},
        "probes": [asdict(p) for p in probes],
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench.queries"], input=json.dumps(request), text=True,
        capture_output=True, cwd=REPO_ROOT, env=forum_env(database_url), timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: counting SQL queries failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    request = json.loads(sys.stdin.read())
    probes = [Probe(**{**p, "headers": tuple(p["headers"])}) for p in request["probes"]]
    found = asyncio.run(_count_all(request["settings"], probes))
    sys.stdout.write(json.dumps(found) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
