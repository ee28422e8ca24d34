"""The unread count in the header, for full pages of a signed-in member.

The count comes with the member (`forum.accounts.sessions.user_for_session`
loads both in one query), so drawing it costs nothing more.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class UnreadCountMiddleware:
    """Puts the member's unread notification count in ``scope["unread"]``.

    Only GET requests for a whole page draw the header: POSTs (answered with a
    redirect) and htmx fragment swaps leave it at 0.
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
                scope["unread"] = user.unread_notifications
        await self.app(scope, receive, send)
