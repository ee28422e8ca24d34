"""The read side of notifications: a member's list, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from forum.accounts.models import User
from forum.notifications.models import Notification
from forum.pagination import Pages


def unread_count_sql(user_id: str) -> str:
    """A subquery counting the unread notifications of the member whose id is the SQL
    expression `user_id` (an index lookup on (recipient_id, read_at))."""
    return (
        "(SELECT COUNT(*) FROM notifications WHERE notifications.recipient_id = "
        f"{user_id} AND notifications.read_at IS NULL)"
    )


@dataclass
class NotificationList:
    items: list[Notification]
    pages: Pages
    unread: int


async def notification_list(user: User, *, page: int, size: int) -> NotificationList:
    """One page of the member's notifications: three queries."""
    mine = Notification.filter(recipient_id=user.id)
    total = await mine.count()
    pages = Pages(number=page, size=size, total_items=total)
    items = await mine.order_by("-created_at", "-id").offset(pages.offset).limit(size)
    unread = await Notification.filter(recipient_id=user.id, read_at=None).count()
    return NotificationList(items=list(items), pages=pages, unread=unread)
