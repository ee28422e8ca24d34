"""Server-side sessions: the signed cookie carries only a random session key."""

from __future__ import annotations

import secrets
from datetime import timedelta

from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise import connections
from tortoise.timezone import now

from forum.accounts.models import Session, User
from forum.notifications.queries import unread_count_sql

SESSION_LIFETIME = timedelta(days=30)
# Touching last_seen_at on every request would turn every page view into a write.
TOUCH_INTERVAL = timedelta(minutes=10)
# Reads the session's times as the ORM does (SQLite gives text, PostgreSQL datetimes).
_SESSION_TIME = Session._meta.fields_map["created_at"]


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


def _session_user_sql(dialect: str) -> str:
    # The member and their unread count in one statement: every signed-in request
    # runs it, and a query built through the ORM costs more than the query itself.
    key = "$1" if dialect == "postgres" else "?"
    return (
        "SELECT users.*, sessions.created_at AS session_created_at, "
        "sessions.last_seen_at AS session_last_seen_at, "
        f"{unread_count_sql('users.id')} AS unread_notifications "
        f"FROM sessions JOIN users ON users.id = sessions.user_id WHERE sessions.key = {key}"
    )


async def user_for_session(key: str) -> User | None:
    """The active member signed in with `key`, in one query; None if expired.

    The member comes with ``unread_notifications``, their unread count (the header's).
    """
    connection = connections.get("default")
    executor = connection.executor_class(model=User, db=connection)
    found = await executor.execute_select(
        _session_user_sql(connection.capabilities.dialect), [key],
        custom_fields=["session_created_at", "session_last_seen_at", "unread_notifications"],
    )
    if not found or not found[0].is_active:
        return None
    user = found[0]
    created_at = _SESSION_TIME.to_python_value(user.session_created_at)  # type: ignore[attr-defined]
    last_seen_at = _SESSION_TIME.to_python_value(user.session_last_seen_at)  # type: ignore[attr-defined]
    current = now()
    if created_at < current - SESSION_LIFETIME:
        await Session.filter(key=key).delete()
        return None
    if last_seen_at < current - TOUCH_INTERVAL:
        await Session.filter(key=key).update(last_seen_at=current)
    return user


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
