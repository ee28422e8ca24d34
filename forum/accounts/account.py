"""A member's own account: password, sessions, linked sign-in providers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from forum.accounts import passwords, sessions
from forum.accounts.models import Identity, Session, User
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound, ValidationFailed

MAX_SESSIONS_SHOWN = 50


def session_handle(key: str) -> str:
    """A name for a session that pages can show: the key itself must never leave the cookie."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


async def change_password(*, user: User, current: str, new: str, keep_session: str | None) -> User:
    """Change (or, for an account without one, set) the password; other sessions end."""
    errors: dict[str, str] = {}
    if user.password_hash and not await passwords.verify_password(current, user.password_hash):
        errors["current_password"] = "That isn't your current password."
    if problem := passwords.password_problem(new, username=user.username, email=user.email):
        errors["new_password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = await passwords.hash_password(new)
    async with write_transaction():
        await User.filter(id=user.id).update(password_hash=user.password_hash)
        # Whoever else knew the old password is signed out.
        others = Session.filter(user_id=user.id)
        if keep_session:
            others = others.exclude(key=keep_session)
        await others.delete()
    return user


@dataclass
class SessionRow:
    handle: str
    current: bool
    session: Session


async def active_sessions(user: User, current_key: str | None) -> list[SessionRow]:
    """The member's signed-in browsers, most recently used first."""
    rows = await Session.filter(user_id=user.id).order_by("-last_seen_at").limit(MAX_SESSIONS_SHOWN)
    return [SessionRow(session_handle(s.key), s.key == current_key, s) for s in rows]


async def end_session_by_handle(*, user: User, handle: str) -> None:
    """Sign one of the member's own browsers out."""
    for session in await Session.filter(user_id=user.id).only("key"):
        if session_handle(session.key) == handle:
            await sessions.end_session(session.key)
            return
    raise NotFound("That session has already ended.")


async def unlink_identity(*, user: User, identity_id: int) -> Identity:
    """Stop a provider signing the member in; never the last way in."""
    async with write_transaction():
        identity = await Identity.get_or_none(id=identity_id, user_id=user.id)
        if identity is None:
            raise NotFound("That sign-in method isn't linked to your account.")
        others = await Identity.filter(user_id=user.id).exclude(id=identity.id).count()
        if not others and not user.password_hash:
            raise NotAllowed(
                "This is the only way you can sign in. Set a password first, then unlink it."
            )
        await identity.delete()
    return identity
