"""CPU time per request, in-process: a page fetched many times through the ASGI app.

Wall-clock load figures move with whatever else the machine is doing; the CPU a
web process spends on one request does not. This signs a dataset member in
through the real form (or stays anonymous), fetches `path` once to warm up, then
`requests` times in a row, and prints the process CPU time per request (and,
with ``--profile``, the functions that took it)::

    python -m bench.cpu --database-url sqlite:///tmp/bench/forum.sqlite3 \\
        --thread-ref t-hot --member Bryn000 --password Bench-pass-123 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import re
import time
from pathlib import Path

import httpx2

from forum.app import create_app
from forum.settings import Settings

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _thread_path(client: httpx2.AsyncClient, database_url: str, ref: str) -> str:
    from bench import database

    thread_id = database.thread_ids(database_url, [ref])[ref]
    response = await client.get(f"/t/{thread_id}")
    return response.headers["location"]


async def _sign_in(client: httpx2.AsyncClient, member: str, password: str) -> None:
    page = await client.get("/signin")
    token = _TOKEN.search(page.text)
    assert token, "no CSRF token on /signin"
    response = await client.post(
        "/signin", data={"login": member, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, f"signing in gave {response.status_code}"


async def measure(args: argparse.Namespace) -> None:
    settings = Settings(
        environment="production", database_url=args.database_url,
        search_indexing="off", background_jobs="off", smtp_url="smtp://127.0.0.1:25",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
    )
    app = create_app(settings)
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per request otherwise
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        # As wrk sends them: no Accept-Encoding (browsers' gzip is GZipMiddleware's cost).
        headers = {"Accept-Encoding": args.accept_encoding}
        async with httpx2.AsyncClient(
            transport=transport, base_url="https://testserver", headers=headers
        ) as client:
            words = Path(args.words).read_text().split() if args.words else []
            path = (
                f"/search?q={words[0]}" if words
                else args.path or await _thread_path(client, args.database_url, args.thread_ref)
            )
            if args.member:
                await _sign_in(client, args.member, args.password)
            first = await client.get(path)
            assert first.status_code == 200, first.status_code
            print(f"{path}: {len(first.content)} bytes, signed in: {'/signout' in first.text}")
            profile = cProfile.Profile() if args.profile else None
            started = time.process_time()
            if profile:
                profile.enable()
            for number in range(args.requests):
                if words:  # a different search each time: the answer cache never helps
                    path = f"/search?q={words[1 + number % (len(words) - 1)]}"
                response = await client.get(path)
                assert response.status_code == 200
            if profile:
                profile.disable()
            spent = time.process_time() - started
    print(f"{args.requests} requests: {spent * 1000 / args.requests:.2f} ms CPU per request"
          f"{' (profiled: slower)' if profile else ''}")
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--path", help="the page; default: the thread of --thread-ref")
    parser.add_argument("--thread-ref", default="t-hot")
    parser.add_argument("--words", help="search each line of this file in turn (the search "
                        "suite's different word pairs) instead of fetching one page")
    parser.add_argument("--member", help="sign in as this member (default: anonymous)")
    parser.add_argument("--password", default="Bench-pass-123")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--accept-encoding", default="identity")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=40)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
