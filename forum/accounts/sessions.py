"""Server-side sessions: the signed cookie carries only a random session key."""

from __future__ import annotations

import secrets
from datetime import timedelta

from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.timezone import now

from forum.accounts.models import Session, User

SESSION_LIFETIME = timedelta(days=30)
# Touching last_seen_at on every request would turn every page view into a write.
TOUCH_INTERVAL = timedelta(minutes=10)


async def start_session(user: User, *, ip_address: str = "", user_agent: str = "") -> str:
    """Create a session row for `user` and return its key."""
    key = secrets.token_urlsafe(32)
    await Session.create(
        key=key, user=user, ip_address=ip_address[:64], user_agent=user_agent[:255]
    )
    return key


async def end_session(key: str) -> None:
    await Session.filter(key=key).delete()


async def end_all_sessions(user_id: int) -> int:
    """Sign `user_id` out everywhere; returns how many sessions ended."""
    return await Session.filter(user_id=user_id).delete()


async def user_for_session(key: str) -> User | None:
    """The active member signed in with `key`, in one query; None if expired."""
    session = await Session.get_or_none(key=key).select_related("user")
    if session is None or not session.user.is_active:
        return None
    current = now()
    if session.created_at < current - SESSION_LIFETIME:
        await session.delete()
        return None
    if session.last_seen_at < current - TOUCH_INTERVAL:
        await Session.filter(key=key).update(last_seen_at=current)
    return session.user


class SessionUserMiddleware:
    """Puts the signed-in member (or None) in ``scope["user"]`` for `request.user`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = scope.get("session", {}).get("sid")
            user = await user_for_session(key) if isinstance(key, str) else None
            if key and user is None:
                scope["session"].pop("sid", None)
            scope["user"] = user
        await self.app(scope, receive, send)
