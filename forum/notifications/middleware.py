"""The unread count in the header: one indexed count per full page for a signed-in member."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from forum.notifications.services import unread_count


class UnreadCountMiddleware:
    """Puts the member's unread notification count in ``scope["unread"]``.

    Only GET requests for a whole page draw the header: POSTs (answered with a
    redirect) and htmx fragment swaps skip the query.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["unread"] = 0
            user = scope.get("user")
            headers = dict(scope.get("headers") or [])
            fragment = headers.get(b"hx-request") == b"true" and headers.get(b"hx-boosted") != b"true"
            if (user is not None and scope["method"] == "GET" and not fragment
                    and not scope["path"].startswith("/static/")):
                scope["unread"] = await unread_count(user.id)
        await self.app(scope, receive, send)
