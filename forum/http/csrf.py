"""CSRF protection: a token bound to the session, checked on every unsafe request.

The token travels in a form field (``csrf_token``) or, for htmx and scripts, in
the ``X-CSRF-Token`` header. It is created lazily, the first time a page needs
one, so anonymous pages without forms set no cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
MAX_BODY = 2 * 1024 * 1024


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def rotate_csrf_token(session: dict[str, Any]) -> None:
    """Forget the token, e.g. at sign-in, so a pre-sign-in token is useless after."""
    session.pop("csrf", None)


class CSRFMiddleware:
    """Refuses unsafe requests whose token does not match the session's (403)."""

    def __init__(self, app: ASGIApp, *, on_failure: Any) -> None:
        self.app = app
        self.on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await Response("Request too large.", status_code=413)(scope, receive, send)
                return

        async def replay() -> Message:
            nonlocal body
            chunk, body = body, b""
            return {"type": "http.request", "body": chunk, "more_body": False}

        expected = scope.get("session", {}).get("csrf")
        request = Request(scope, _constant(body))
        valid = _matches(expected, request.headers.get(HEADER))
        if not valid and _is_form(request):
            # A stale header (a page kept across sign-in) must not hide a good field.
            valid = _matches(expected, await _form_token(request))
        if not valid:
            response = await self.on_failure(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, replay, send)


def _matches(expected: str | None, supplied: object) -> bool:
    return bool(expected) and isinstance(supplied, str) and hmac.compare_digest(
        expected.encode(), supplied.encode()  # type: ignore[union-attr]
    )


async def _form_token(request: Request) -> object:
    try:
        async with request.form() as form:
            return form.get(FIELD)
    except Exception:  # a malformed body counts as a missing token
        return None


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _constant(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
