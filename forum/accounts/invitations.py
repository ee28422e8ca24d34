"""Invitation links: admins, moderators and mentors let people in, whatever the policy."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import F, Q
from tortoise.timezone import now

from forum.accounts.models import Invitation, Role, User
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.pagination import Pages
from forum.people.models import Organisation

MAX_USES = 500
MAX_DAYS = 90
# The roles each inviter may hand out: never more than their own standing.
GRANTABLE = {
    Role.ADMIN: (Role.MEMBER, Role.MENTOR, Role.MODERATOR),
    Role.MODERATOR: (Role.MEMBER, Role.MENTOR),
    Role.MENTOR: (Role.MEMBER,),
}
INVALID = "This invitation link isn't valid any more: it may have expired or been used up. Ask whoever sent it for a new one."


def can_invite(user: User | None) -> bool:
    return user is not None and user.role in GRANTABLE


def grantable_roles(user: User) -> tuple[Role, ...]:
    return GRANTABLE.get(Role(user.role), ())


def _bounded_int(raw: str, low: int, high: int, field: str, message: str, errors: dict[str, str]) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = -1
    if not low <= value <= high:
        errors[field] = message
    return value


async def create_invitation(
    *, actor: User, uses: str = "1", days: str = "14", role: str = "member",
    organisation_id: str = "", note: str = "",
) -> Invitation:
    """Make an invitation link; the values are the form's, checked here."""
    if not can_invite(actor):
        raise NotAllowed("Only administrators, moderators and mentors can invite people.")
    errors: dict[str, str] = {}
    max_uses = _bounded_int(uses, 1, MAX_USES, "uses", f"Allow between 1 and {MAX_USES} uses.", errors)
    valid_days = _bounded_int(days, 1, MAX_DAYS, "days", f"Choose between 1 and {MAX_DAYS} days.", errors)
    try:
        chosen_role = Role(role)
    except ValueError:
        chosen_role = None
    if chosen_role not in grantable_roles(actor):
        errors["role"] = "You can't invite people with that role."
    organisation = None
    if organisation_id.strip():
        organisation = await Organisation.get_or_none(id=int(organisation_id)) if organisation_id.strip().isdigit() else None
        if organisation is None:
            errors["organisation"] = "Choose an organisation from the list."
    note = " ".join(note.split())
    if len(note) > 200:
        errors["note"] = "Keep the note under 200 characters."
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        return await Invitation.create(
            code=secrets.token_urlsafe(18), created_by=actor, role=chosen_role,
            organisation=organisation, note=note, max_uses=max_uses,
            expires_at=now() + timedelta(days=valid_days),
        )


def is_usable(invitation: Invitation) -> bool:
    return (
        invitation.revoked_at is None and invitation.use_count < invitation.max_uses
        and invitation.expires_at > now()
    )


async def usable_invitation(code: str) -> Invitation:
    """The invitation with `code` while it can still be used, or NotFound."""
    invitation = await Invitation.get_or_none(code=code[:64]).select_related("organisation", "created_by") if code else None
    if invitation is None or not is_usable(invitation):
        raise NotFound(INVALID)
    return invitation


async def use_invitation(invitation_id: int) -> Invitation:
    """Count one use, in the caller's transaction; refuses a link used up meanwhile."""
    updated = await Invitation.filter(
        Q(id=invitation_id, revoked_at=None, expires_at__gt=now()),
        use_count__lt=F("max_uses"),
    ).update(use_count=F("use_count") + 1)
    if not updated:
        raise NotFound(INVALID)
    return await Invitation.get(id=invitation_id).select_related("organisation")


async def revoke_invitation(*, actor: User, invitation_id: int) -> Invitation:
    async with write_transaction():
        invitation = await Invitation.get_or_none(id=invitation_id)
        if invitation is None:
            raise NotFound("That invitation doesn't exist.")
        if invitation.created_by_id != actor.id and actor.role != Role.ADMIN:  # type: ignore[attr-defined]
            raise NotAllowed("Only whoever made an invitation, or an administrator, can revoke it.")
        if invitation.revoked_at is None:
            invitation.revoked_at = now()
            await invitation.save(update_fields=["revoked_at"])
    return invitation


@dataclass
class InvitationPage:
    invitations: list[Invitation]
    pages: Pages
    organisations: list[Organisation]


async def invitations_page(*, actor: User, page: int, size: int = 20) -> InvitationPage:
    """The invitations `actor` made (administrators see everyone's), newest first."""
    if not can_invite(actor):
        raise NotAllowed("Only administrators, moderators and mentors can invite people.")
    query = Invitation.all() if actor.role == Role.ADMIN else Invitation.filter(created_by_id=actor.id)
    pages = Pages(number=page, size=size, total_items=await query.count())
    rows = await query.order_by("-created_at", "-id").offset(pages.offset).limit(size).select_related(
        "organisation", "created_by"
    )
    organisations = await Organisation.all().order_by("name").limit(500)
    return InvitationPage(invitations=list(rows), pages=pages, organisations=list(organisations))
