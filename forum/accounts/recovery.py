"""Email verification, email change and password reset, by signed single-use links."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.timezone import now

from forum.accounts import passwords, sessions
from forum.accounts.models import User
from forum.accounts.policy import HOLD_UNCONFIRMED
from forum.accounts.services import EMAIL_RE
from forum.accounts.tokens import RESET_PASSWORD, VERIFY_EMAIL, BadLink, LinkSigner, fingerprint
from forum.db import write_transaction
from forum.errors import ValidationFailed

USED = "This link has already been used, or your account changed since it was sent. Ask for a new one if you still need it."


def _verification_state(user: User) -> str:
    return fingerprint(user.email, str(user.email_verified_at))


def verification_token(signer: LinkSigner, user: User, address: str | None = None,
                       next_url: str = "/") -> str:
    """A link token confirming `address` (by default the account's own) for `user`;
    `next_url` is where the member was going when they joined."""
    return signer.make(VERIFY_EMAIL, {
        "uid": user.id, "email": address or user.email, "fp": _verification_state(user),
        "next": next_url,
    })


@dataclass
class Confirmed:
    user: User
    previous_email: str
    next_url: str = "/"

    @property
    def changed_address(self) -> bool:
        return self.previous_email != self.user.email


async def confirm_email(*, signer: LinkSigner, token: str, max_age: int,
                        actor_id: int | None = None) -> Confirmed:
    """Mark the address in a verification link as confirmed (changing to it, if it is new).

    A change of address needs the member signed in (`actor_id`): a link that reached a
    mistyped address must not hand its reader the account.
    """
    payload = signer.read(VERIFY_EMAIL, token, max_age=max_age)
    address = str(payload.get("email", "")).lower()
    async with write_transaction():
        user = await User.filter(id=payload["uid"]).select_for_update().first()
        if user is None or not user.is_active or user.deleted_at is not None:
            raise BadLink("This link isn't valid.")
        if payload.get("fp") != _verification_state(user):
            raise BadLink(USED)
        if address != user.email and actor_id != user.id:
            raise BadLink("Sign in to your account, then open the link again to finish changing your address.")
        if address != user.email and await User.filter(email=address).exclude(id=user.id).exists():
            raise BadLink("Another account now uses that address, so it can't be moved to yours.")
        previous = user.email
        user.email, user.email_verified_at = address, now()
        if user.held_reason == HOLD_UNCONFIRMED:
            user.held_reason = ""
        await user.save(update_fields=["email", "email_verified_at", "held_reason"])
    return Confirmed(user=user, previous_email=previous, next_url=str(payload.get("next") or "/"))


async def request_email_change(*, user: User, new_email: str, password: str) -> str:
    """Check a member's request to use `new_email`; returns the normalised address.

    The address changes only when the link sent to it is used. Whether another
    account already has it is not told here (see the view), so the form cannot be
    used to find out who is registered.
    """
    new_email = new_email.strip().lower()
    errors: dict[str, str] = {}
    if len(new_email) > 254 or not EMAIL_RE.match(new_email):
        errors["new_email"] = "Enter an email address like name@council.gov.uk."
    elif new_email == user.email:
        errors["new_email"] = "That's already your address."
    if user.password_hash and not await passwords.verify_password(password, user.password_hash):
        errors["email_password"] = "That isn't your current password."
    if errors:
        raise ValidationFailed(errors)
    return new_email


async def reset_token(signer: LinkSigner, email: str) -> tuple[User, str] | None:
    """The account for `email` and a reset link token; None when there is no such account."""
    user = await User.get_or_none(email=email.strip().lower(), is_active=True, deleted_at=None)
    if user is None:
        return None
    return user, signer.make(RESET_PASSWORD, {"uid": user.id, "fp": fingerprint(user.password_hash, user.email)})


async def user_for_reset(*, signer: LinkSigner, token: str, max_age: int) -> User:
    """The member a still-valid reset link is for (BadLink otherwise)."""
    payload = signer.read(RESET_PASSWORD, token, max_age=max_age)
    user = await User.get_or_none(id=payload["uid"], is_active=True, deleted_at=None)
    if user is None:
        raise BadLink("This link isn't valid.")
    _check_reset_state(payload, user)
    return user


def _check_reset_state(payload: dict, user: User) -> None:
    # The fingerprint covers the password hash: once the link has set a new password,
    # the same link no longer matches.
    if payload.get("fp") != fingerprint(user.password_hash, user.email):
        raise BadLink(USED)


async def reset_password(*, signer: LinkSigner, token: str, max_age: int, password: str) -> User:
    """Set a new password from a reset link; signs the member out everywhere.

    Using the link proves the member reads that mailbox, so it confirms the address too.
    """
    user = await user_for_reset(signer=signer, token=token, max_age=max_age)
    if problem := passwords.password_problem(password, username=user.username, email=user.email):
        raise ValidationFailed({"password": problem})
    new_hash = await passwords.hash_password(password)
    payload = signer.read(RESET_PASSWORD, token, max_age=max_age)
    async with write_transaction():
        # Checked again under the lock: two uses of one link must not both succeed.
        locked = await User.filter(id=user.id).select_for_update().first()
        if locked is None:
            raise BadLink(USED)
        _check_reset_state(payload, locked)
        locked.password_hash = new_hash
        if locked.email_verified_at is None:
            locked.email_verified_at = now()
        if locked.held_reason == HOLD_UNCONFIRMED:
            locked.held_reason = ""
        await locked.save(update_fields=["password_hash", "email_verified_at", "held_reason"])
    await sessions.end_all_sessions(locked.id)
    return locked
