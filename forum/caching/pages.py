"""Pages for anonymous visitors, served from memory until the content changes.

Most visitors are not signed in, and for them a thread, a topic or the home page
is the same for everybody. A view opts in with `@shared_page` (see the URL table).
For an anonymous GET the decorator reads the "content" version stamp *before*
the view runs; `PageCacheMiddleware` keeps the finished page under that stamp,
compressed once (gzip and, where the client takes it, brotli), with an ETag.
While one request builds a page, the others asking for it wait for that build
instead of all rendering it at once: when an entry expires under heavy traffic,
a hundred simultaneous renders would stall the process for a second.
Every write transaction moves the stamp on commit (`forum.db.write_transaction`),
so the next request after a reply, an edit, an accepted answer, a deletion or a
change of role rebuilds the page. One stamp read per cached request.

What is never kept, so that no visitor is ever shown another's page:
- anything for a signed-in member (their name, drafts, private spaces...);
- a page that used the visitor's session: a CSRF token or a one-time message is in it;
- anything but a complete 200 HTML or Atom response without Set-Cookie.

Relative times ("3 minutes ago") are why entries also expire after `max_age`.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import brotli
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.caching import stamps

SCOPE_KEY = "forum.shared_page"  # set by @shared_page: the stamp the page is built from
PERSONAL = "forum.personal"  # set when a page shows the visitor's session: a CSRF token, a message
# Request headers a view's output depends on, beyond the path and query string.
VARY_REQUEST_HEADERS = (b"hx-request", b"hx-boosted", b"hx-target", b"hx-trigger-name")
KEPT_CONTENT_TYPES = ("text/html", "application/atom+xml")
# Not stored with the page: recomputed per response, or per visitor.
_DROPPED_HEADERS = {b"content-length", b"set-cookie", b"etag", b"cache-control"}
CACHE_CONTROL = "no-cache"  # browsers may keep the page but must ask (cheaply, with ETag) first

View = Callable[[Request], Awaitable[Response]]


def shared_page(view: View) -> View:
    """Mark `view` as the same for every anonymous visitor: its pages may be cached."""

    @functools.wraps(view)
    async def shared(request: Request) -> Response:
        if (
            request.scope.get("user") is None and request.method == "GET"
            and request.app.state.settings.page_cache_size > 0
        ):
            request.scope[SCOPE_KEY] = await stamps.read(stamps.CONTENT)
        return await view(request)

    return shared


@dataclass
class CachedPage:
    stamp: int
    built_at: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str
    encoded: dict[str, bytes] = field(default_factory=dict)

    def body_for(self, encoding: str | None) -> bytes:
        """The body in `encoding` ("br", "gzip" or None), compressed once and kept."""
        if encoding is None:
            return self.body
        if encoding not in self.encoded:
            self.encoded[encoding] = (
                brotli.compress(self.body, quality=5) if encoding == "br"
                else gzip.compress(self.body, compresslevel=6, mtime=0)
            )
        return self.encoded[encoding]


def _key(scope: Scope) -> tuple[object, ...]:
    headers = dict(scope["headers"])
    return (
        scope["path"], scope["query_string"],
        *(headers.get(name, b"") for name in VARY_REQUEST_HEADERS),
    )


def _encoding(headers: Headers) -> str | None:
    accepted = {part.split(";")[0].strip() for part in headers.get("accept-encoding", "").split(",")}
    if "br" in accepted:
        return "br"
    if "gzip" in accepted:
        return "gzip"
    return None


class PageCache:
    """The pages one web process keeps: at most `size`, each for at most `max_age` seconds."""

    def __init__(
        self, size: int = 2048, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self.pages: OrderedDict[tuple[object, ...], CachedPage] = OrderedDict()
        # Keys being built right now, each with an event set when its build ends.
        self.building: dict[tuple[object, ...], asyncio.Event] = {}

    async def fresh(self, key: tuple[object, ...]) -> CachedPage | None:
        """The page kept under `key`, if it was built from the current content."""
        page = self.pages.get(key)
        if page is None:
            return None
        if self.clock() - page.built_at < self.max_age and page.stamp == await stamps.read(stamps.CONTENT):
            # While the stamp was read, another request may have dropped or replaced it.
            if self.pages.get(key) is page:
                self.pages.move_to_end(key)
            return page
        if self.pages.get(key) is page:
            del self.pages[key]
        return None

    def keep(self, key: tuple[object, ...], page: CachedPage) -> None:
        self.pages[key] = page
        while len(self.pages) > self.size:
            self.pages.popitem(last=False)


class PageCacheMiddleware:
    """Serves and keeps `@shared_page` pages for anonymous visitors (see the module)."""

    def __init__(self, app: ASGIApp, *, cache: PageCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
            or scope.get("user") is not None or self.cache.size <= 0
        ):
            await self.app(scope, receive, send)
            return
        key = _key(scope)
        page = await self.cache.fresh(key)
        if page is None and (building := self.cache.building.get(key)) is not None:
            # Another request is building this page: wait for it rather than build it
            # too. `fresh` checks the stamp again, so a page built from content that
            # has changed meanwhile is not served; then this request builds its own.
            await building.wait()
            page = await self.cache.fresh(key)
        if page is not None:
            await self._send_page(page, scope, send)
            return
        if key in self.cache.building:
            await self._build(key, scope, receive, send)
            return
        self.cache.building[key] = done = asyncio.Event()
        try:
            await self._build(key, scope, receive, send)
        finally:
            del self.cache.building[key]
            done.set()

    async def _build(self, key: tuple[object, ...], scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; a page of a `@shared_page` view is held back, kept and sent."""
        start: Message | None = None
        chunks: list[bytes] = []
        passing = scope["method"] != "GET"  # a HEAD response has no body to keep

        async def keep(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                # By now a shared view has marked the scope: anything else streams on.
                passing = passing or SCOPE_KEY not in scope
                if passing:
                    await send(message)
                else:
                    start = message
                return
            if passing:
                await send(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        if passing or start is None:
            return
        headers = Headers(raw=start["headers"])
        body = b"".join(chunks)
        page = CachedPage(
            stamp=scope[SCOPE_KEY], built_at=self.cache.clock(), status=start["status"],
            headers=[(k, v) for k, v in start["headers"] if k.lower() not in _DROPPED_HEADERS],
            body=body, etag='"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
        )
        if (
            start["status"] == 200 and not scope.get(PERSONAL) and "set-cookie" not in headers
            and headers.get("content-type", "").startswith(KEPT_CONTENT_TYPES)
        ):
            self.cache.keep(key, page)
            await self._send_page(page, scope, send)
            return
        await send(start)  # not kept (an error page, a redirect, a form): as it was
        await send({"type": "http.response.body", "body": body})

    async def _send_page(self, page: CachedPage, scope: Scope, send: Send) -> None:
        request_headers = Headers(scope=scope)
        base = [*page.headers, (b"etag", page.etag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
        if page.etag in {tag.strip() for tag in request_headers.get("if-none-match", "").split(",")}:
            await send({"type": "http.response.start", "status": 304, "headers": base})
            await send({"type": "http.response.body", "body": b""})
            return
        encoding = _encoding(request_headers)
        body = page.body_for(encoding)
        headers = [(k, v) for k, v in base if k.lower() != b"vary"]
        vary = Headers(raw=page.headers).get("vary", "")
        headers.append((b"vary", ", ".join(filter(None, [vary, "Accept-Encoding"])).encode()))
        if encoding is not None:
            headers.append((b"content-encoding", encoding.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": page.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
