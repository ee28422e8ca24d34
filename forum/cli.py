"""The `forum` command: serve, migrate, seed-demo, import, create-admin, worker, and the
search commands search-setup, reindex and search-verify."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from forum.db import tortoise_config
from forum.errors import ValidationFailed
from forum.settings import Settings
from search_index.backend import SearchError

DEMO_CONTENT = Path(__file__).parent / "demo" / "content.jsonl"


async def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


async def migrate(settings: Settings) -> None:
    """Apply every pending migration."""
    from tortoise.migrations.api import migrate as apply

    def progress(*parts: str) -> None:
        print("  " + " ".join(str(p) for p in parts), flush=True)

    await apply(config=tortoise_config(settings.database_url), progress=progress)
    await Tortoise.close_connections()
    print("Database is up to date.")


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(migrate(settings))
    return 0


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from forum.http import balance

    uvicorn.run(
        "forum.app:create_app", factory=True, host=args.host, port=args.port,
        workers=args.workers, proxy_headers=True, log_level="info",
        # uvloop: with several workers the default loop leaves Nagle's algorithm on
        # and every keep-alive response waits ~40 ms for a delayed ACK.
        loop="uvloop", http=balance.PROTOCOL,
    )
    return 0


def _cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from forum.accounts.services import create_admin

    password = os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password: ")

    async def work() -> Any:
        return await create_admin(username=args.username, email=args.email, password=password)

    try:
        user = asyncio.run(_with_database(settings, work))
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 2
    print(f"{user.username} is an administrator.")
    return 0


async def _index_pending(settings: Settings) -> None:
    """Drain the search outbox now, with progress, so imported content is searchable."""
    from forum.search.engine import build_indexer, prepare

    backend = _search_backend(settings)
    if not await prepare(backend):
        print("Search engine unreachable: the worker will index the new content later.")
        return
    indexer = build_indexer(backend)
    waiting, _ = await indexer.pending()
    done = 0
    while waiting:
        result = await indexer.drain_once()
        if result.touched == 0 or result.failed:
            break
        done += result.touched
        print(f"  search index: {done:,} / {waiting:,}", flush=True)
    remaining, dead = await indexer.pending()
    if remaining or dead:
        print(f"  search index: {remaining:,} left for the worker, {dead:,} rejected")


def _cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from forum.importing import ImportError_, import_file

    async def work() -> Any:
        summary = await import_file(Path(args.file), progress=print)
        if not args.no_index:
            print("Indexing the new content for search...", flush=True)
            await _index_pending(settings)
        return summary

    try:
        summary = asyncio.run(_with_database(settings, work))
    except ImportError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def _cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from forum.demo.mentoring import seed_mentoring
    from forum.importing import import_file, is_seeded

    async def work() -> Any:
        if not args.force and await is_seeded():
            print("The database already has content: demo content not added.")
            return None
        summary = await import_file(DEMO_CONTENT, progress=print)
        if await seed_mentoring():
            print("Added a demo mentorship.")
        await _index_pending(settings)
        return summary

    summary = asyncio.run(_with_database(settings, work))
    if summary is not None:
        print(summary)
    return 0


def _search_backend(settings: Settings) -> Any:
    from forum.search.engine import build_backend

    return build_backend(settings)


def _search_failed(what: str, exc: SearchError) -> int:
    """Report a search engine failure on one line of stderr: exit status 1, no traceback."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    print(f"error: {what}: {detail}", file=sys.stderr, flush=True)
    return 1


def _progress(message: str) -> None:
    print(message, flush=True)


def _cmd_search_setup(settings: Settings, args: argparse.Namespace) -> int:
    """Create the search index and apply its settings (the Procfile's release step)."""

    async def work() -> None:
        await _search_backend(settings).ensure_index()

    try:
        asyncio.run(_with_database(settings, work))
    except SearchError as exc:
        return _search_failed("the search engine is not ready", exc)
    print("Search index is ready.")
    return 0


def _cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    from forum.search.maintenance import reindex

    async def work() -> int:
        print("Rebuilding the search index from the database...", flush=True)
        return await reindex(_search_backend(settings), progress=_progress)

    try:
        count = asyncio.run(_with_database(settings, work))
    except SearchError as exc:
        return _search_failed("the search index was not rebuilt", exc)
    print(f"Done: {count:,} documents indexed.")
    return 0


def _cmd_search_verify(settings: Settings, args: argparse.Namespace) -> int:
    from forum.search.maintenance import verify
    from search_index.outbox import OutboxEntry

    async def work() -> tuple[Any, int, list[OutboxEntry]]:
        dead = OutboxEntry.filter(dead=True)
        examples = await dead.order_by("id").limit(5)
        rejected = await dead.count()
        if args.retry_rejected and rejected:
            retried = await OutboxEntry.filter(dead=True).update(
                dead=False, attempts=0, next_attempt_at=None
            )
            print(
                f"{retried:,} outbox rows the search engine rejected are queued again: "
                "the indexer will retry them.", flush=True,
            )
            rejected = 0
        drift = await verify(_search_backend(settings), repair=args.repair, progress=_progress)
        return drift, rejected, examples

    try:
        drift, rejected, examples = asyncio.run(_with_database(settings, work))
    except SearchError as exc:
        return _search_failed("the search index was not verified", exc)
    print(drift)
    if not drift.clean:
        print("Repaired." if args.repair else "Run `forum search-verify --repair` to fix it.")
    if rejected:
        print(f"{rejected:,} outbox rows set aside: the search engine rejected them.")
        for row in examples:
            reason = " ".join(row.last_error.split())[:200] or "no reason recorded"
            print(f"  {row.doc_id}: {reason}")
        if rejected > len(examples):
            print(f"  ... and {rejected - len(examples):,} more")
        print("Run `forum search-verify --retry-rejected` to try them again.")
    elif not args.retry_rejected:
        print("No outbox rows set aside.")
    return 0 if drift.clean or args.repair else 1


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """The Procfile's background process: drains the search outbox and runs the mentoring
    sweep (request expiry, unanswered questions) until SIGTERM."""
    import signal

    from forum.clock import system_clock
    from forum.mentoring.sweep import run_forever as sweep_forever
    from forum.search.engine import build_indexer, prepare

    async def work() -> None:
        backend = _search_backend(settings)
        await prepare(backend)
        indexer = build_indexer(backend)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print("forum worker: indexing search changes and sweeping mentoring; stop with SIGTERM.",
              flush=True)
        runners = [asyncio.create_task(indexer.run_forever(asyncio.Event(), idle_seconds=1.0))]
        if settings.background_jobs != "off":
            runners.append(asyncio.create_task(sweep_forever(system_clock, settings)))
        await stop.wait()
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    asyncio.run(_with_database(settings, work))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forum", description="Mutuals Knowledge Network")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the web application")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_cmd_migrate)

    seed = commands.add_parser("seed-demo", help="add demo content to an empty database")
    seed.add_argument("--force", action="store_true", help="import even if content exists")
    seed.set_defaults(run=_cmd_seed_demo)

    imp = commands.add_parser("import", help="import a JSON Lines file (see docs)")
    imp.add_argument("file")
    imp.add_argument("--no-index", action="store_true", help="leave search indexing to the worker")
    imp.set_defaults(run=_cmd_import)

    commands.add_parser(
        "worker", help="run background jobs (search indexing, mentoring sweep)"
    ).set_defaults(
        run=_cmd_worker
    )
    commands.add_parser(
        "search-setup", help="create the search index and apply its settings"
    ).set_defaults(run=_cmd_search_setup)
    commands.add_parser("reindex", help="rebuild the search index from the database").set_defaults(
        run=_cmd_reindex
    )
    verify = commands.add_parser("search-verify", help="find (and repair) index drift")
    verify.add_argument("--repair", action="store_true", help="fix what is found")
    verify.add_argument(
        "--retry-rejected", action="store_true",
        help="queue the outbox rows the search engine rejected (set aside) again",
    )
    verify.set_defaults(run=_cmd_search_verify)

    admin = commands.add_parser("create-admin", help="create or promote an administrator")
    admin.add_argument("username")
    admin.add_argument("email")
    admin.set_defaults(run=_cmd_create_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(Settings(), args)


if __name__ == "__main__":
    sys.exit(main())
