"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from tortoise.contrib.starlette import RegisterTortoise

from forum.accounts import identity
from forum.accounts.sessions import SessionUserMiddleware
from forum.accounts.throttle import LoginThrottle
from forum.caching.fragments import FragmentCache
from forum.caching.pages import PageCache, PageCacheMiddleware
from forum.caching.stamped import StampedValue
from forum.clock import system_clock
from forum.db import tortoise_config
from forum.errors import DomainError
from forum.heap import settle
from forum.http import balance, errors
from forum.http.csrf import CSRFMiddleware
from forum.http.headers import SecurityHeadersMiddleware
from forum.http.ratelimit import RateLimiter
from forum.mentoring.sweep import embedded_sweeping
from forum.notifications.middleware import UnreadCountMiddleware
from forum.routes import routes
from forum.search import engine
from forum.search.log import SearchLogWriter
from forum.settings import Settings
from forum.templating import build_templates
from forum.threads.queries import topic_names
from forum.threads.rendering import ThreadBodies


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the web application for `settings` (read from the environment by default)."""
    settings = settings or Settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    wake = asyncio.Event()
    page_cache = PageCache(size=settings.page_cache_size)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            app.state.postman = identity.build_postman(settings)
            backend = engine.build_backend(settings)
            app.state.search = backend
            app.state.search_log = SearchLogWriter()
            app.state.indexer = engine.build_indexer(backend)
            await engine.prepare(backend)
            async with contextlib.AsyncExitStack() as background:
                # Last out: the searches logged until the very end are written.
                background.push_async_callback(app.state.search_log.close)
                background.callback(balance.release)
                if settings.search_indexing == "embedded":
                    await background.enter_async_context(
                        engine.embedded_indexing(app.state.indexer, wake)
                    )
                if settings.background_jobs == "embedded":
                    await background.enter_async_context(
                        embedded_sweeping(lambda: app.state.clock(), settings)
                    )
                if settings.is_production:
                    # Not in tests: they build an app per test, and frozen cycles are never freed.
                    settle()
                yield

    app = Starlette(
        debug=False,
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
            # Pages from the page cache come compressed already; this is for the rest.
            Middleware(GZipMiddleware, minimum_size=1000, compresslevel=5),
            Middleware(
                SessionMiddleware, secret_key=settings.secret_key, session_cookie="mkn_session",
                max_age=30 * 24 * 3600, same_site="lax", https_only=settings.secure_cookies,
            ),
            Middleware(CSRFMiddleware, on_failure=errors.csrf_failure),
            Middleware(SessionUserMiddleware),
            # Inside the session user: it must know whether the visitor is signed in.
            Middleware(PageCacheMiddleware, cache=page_cache),
            Middleware(UnreadCountMiddleware),
            Middleware(engine.WakeIndexerMiddleware, wake=wake),
        ],
        exception_handlers={
            DomainError: errors.domain_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
    )
    app.state.settings = settings
    app.state.page_cache = page_cache
    # The time as the app sees it: tests replace it to move time (see forum.clock).
    app.state.clock = system_clock
    app.state.templates = build_templates(settings)
    app.state.thread_bodies = ThreadBodies(
        app.state.templates.env, FragmentCache(size=settings.thread_cache_size)
    )
    # Every search page labels its results and filters with the topics' names.
    app.state.topic_names = StampedValue(topic_names)
    app.state.login_throttle = LoginThrottle(
        per_account=RateLimiter(settings.login_attempts_per_account, settings.login_window_seconds),
        per_address=RateLimiter(settings.login_attempts_per_address, settings.login_window_seconds),
    )
    app.state.post_limiter = RateLimiter(settings.posts_per_minute, 60)
    app.state.signup_limiter = RateLimiter(settings.signups_per_address_per_hour, 3600)
    identity.configure(app, settings)
    return app
