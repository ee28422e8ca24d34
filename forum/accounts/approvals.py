"""The approval queue: sign-ups that wait for an administrator or moderator."""

from __future__ import annotations

from dataclasses import dataclass

from forum.accounts.models import User
from forum.accounts.policy import HOLD_DOMAIN, HOLD_UNCONFIRMED
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound
from forum.pagination import Pages


def can_review(user: User | None) -> bool:
    return user is not None and user.is_moderator


@dataclass
class ApprovalPage:
    waiting: list[User]
    pages: Pages


async def approval_page(*, actor: User, page: int, size: int = 30) -> ApprovalPage:
    """Accounts waiting to be let in, oldest first: those held by the domain allow-list,
    then those that have not confirmed their address (shown, so that someone whose
    email never arrived can be let in by hand)."""
    if not can_review(actor):
        raise NotAllowed("Only moderators and administrators can see who is waiting.")
    query = User.filter(held_reason__in=[HOLD_DOMAIN, HOLD_UNCONFIRMED], is_active=True, deleted_at=None)
    pages = Pages(number=page, size=size, total_items=await query.count())
    rows = await query.order_by("held_reason", "created_at", "id").offset(pages.offset).limit(size).select_related("organisation")
    return ApprovalPage(waiting=list(rows), pages=pages)


async def decide(*, actor: User, user_id: int, approve: bool) -> User:
    """Let a waiting account in, or turn it away (the account is removed: it has no content)."""
    if not can_review(actor):
        raise NotAllowed("Only moderators and administrators can approve accounts.")
    async with write_transaction():
        user = await User.filter(id=user_id, deleted_at=None).exclude(held_reason="").select_for_update().first()
        if user is None:
            raise NotFound("That account isn't waiting any more: someone may have decided already.")
        if approve:
            user.held_reason = ""
            await user.save(update_fields=["held_reason"])
        else:
            await user.delete()
    return user
