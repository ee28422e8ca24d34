"""Creating and reading notifications. Callers hold the transaction of the change they report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from forum.accounts.models import User
from forum.db import write_transaction
from forum.errors import NotFound
from forum.notifications.models import Kind, Notification


async def notify(
    recipients: Iterable[int], *, kind: Kind, subject: tuple[str, int], text: str, url: str,
    when: datetime, actor: User | None = None,
) -> None:
    """Tell each of `recipients` (user ids, the actor left out) that something happened.

    Called inside the transaction of the change itself, so a notification exists
    exactly when the change does.
    """
    actor_id = actor.id if actor is not None else None
    ids = sorted({r for r in recipients if r != actor_id})
    if not ids:
        return
    await Notification.bulk_create([
        Notification(
            recipient_id=recipient, kind=kind, actor_id=actor_id, subject_type=subject[0],
            subject_id=subject[1], text=text[:300], url=url[:300], created_at=when,
        )
        for recipient in ids
    ])


async def unread_count(user_id: int) -> int:
    """How many notifications `user_id` has not read: one indexed count."""
    return await Notification.filter(recipient_id=user_id, read_at=None).count()


async def open_notification(*, user: User, notification_id: int, now: datetime) -> Notification:
    """Mark one of the member's notifications read and return it (for its link)."""
    async with write_transaction(content=False):  # nothing any page shows to others
        notification = await Notification.get_or_none(id=notification_id, recipient_id=user.id)
        if notification is None:
            raise NotFound("That notification doesn't exist.")
        if notification.read_at is None:
            notification.read_at = now
            await notification.save(update_fields=["read_at"])
    return notification


async def mark_all_read(*, user: User, now: datetime) -> int:
    """Mark every unread notification of the member read; returns how many."""
    async with write_transaction(content=False):
        return await Notification.filter(recipient_id=user.id, read_at=None).update(read_at=now)
