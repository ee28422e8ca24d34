"""Account services: sign-up, sign-in, administrators."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from forum.accounts import invitations, passwords
from forum.accounts.models import Invitation, Role, User
from forum.accounts.policy import HOLD_DOMAIN, HOLD_UNCONFIRMED, Mode, Policy
from forum.accounts.throttle import LoginThrottle
from forum.db import write_transaction
from forum.errors import DomainError, NotAllowed, NotFound, ValidationFailed

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
RESERVED = frozenset({"admin", "administrator", "moderator", "system", "support", "me", "new"})
# Deleted accounts are renamed "deleted-<id>": nobody may take such a name.
RESERVED_PREFIX = "deleted-"
INVITATION_ONLY = "Joining is by invitation only. Ask a member of the network to invite you."
SIGN_IN_FAILED = "That username or email and password don't match an account."


def check_identity_fields(username: str, display_name: str, email: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = "Use 3 to 30 letters, digits, hyphens or underscores."
    elif username.lower() in RESERVED or username.lower().startswith(RESERVED_PREFIX):
        errors["username"] = "That username is reserved. Please choose another."
    if not display_name:
        errors["display_name"] = "Tell people what to call you."
    elif len(display_name) > 60:
        errors["display_name"] = "Use at most 60 characters."
    if len(email) > 254 or not EMAIL_RE.match(email):
        errors["email"] = "Enter an email address like name@council.gov.uk."
    return errors


async def register(
    *, username: str, display_name: str, email: str, password: str, role: Role = Role.MEMBER,
    allow_reserved: bool = False,
) -> User:
    """Create a local account, or raise ValidationFailed with a message per field."""
    username, display_name, email = username.strip(), display_name.strip(), email.strip().lower()
    errors = check_identity_fields(username, display_name, email)
    if allow_reserved and errors.get("username", "").startswith("That username is reserved"):
        del errors["username"]
    if problem := passwords.password_problem(password, username=username, email=email):
        errors["password"] = problem
    # Checked even when other fields are wrong, so one round trip shows every problem.
    if "username" not in errors and await User.filter(username_key=username.lower()).exists():
        errors["username"] = "That username is taken. Please choose another."
    if "email" not in errors and await User.filter(email=email).exists():
        errors["email"] = "An account already uses that email address. Try signing in."
    if errors:
        raise ValidationFailed(errors)
    password_hash = await passwords.hash_password(password)
    try:
        async with write_transaction():
            return await User.create(
                username=username, username_key=username.lower(), display_name=display_name,
                email=email, password_hash=password_hash, role=role,
            )
    except IntegrityError:
        # Two sign-ups raced for the same name or address.
        raise ValidationFailed({"username": "That username or email is already taken."}) from None


async def authenticate(
    *, login: str, password: str, address: str, throttle: LoginThrottle
) -> User:
    """The member whose username or email and password match; one message for any failure."""
    login = login.strip()
    field = "email" if "@" in login else "username_key"
    user = await User.get_or_none(**{field: login.lower()}) if login else None
    # Count attempts against the account itself, so that alternating between its
    # username and its email address does not double the guesses allowed.
    account = user.username_key if user else login
    throttle.check(account=account, address=address)
    valid = await passwords.verify_password(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        throttle.failed(account=account, address=address)
        raise ValidationFailed({"__all__": SIGN_IN_FAILED})
    throttle.succeeded(account=account)
    check_can_sign_in(user)
    return user


class AccountHeld(DomainError):
    """The right credentials for an account that is not let in yet."""

    status_code = 403

    def __init__(self, user: User) -> None:
        if user.held_reason == HOLD_UNCONFIRMED:
            message = (
                "Please confirm your email address first: we've sent a new link to "
                f"{user.email}. It can take a few minutes to arrive."
            )
        else:
            message = "Your account is waiting for an administrator's approval. We'll email you when it's ready."
        super().__init__(message)
        self.user = user


def check_can_sign_in(user: User) -> None:
    """AccountHeld when `user` (whose credentials were right) must wait."""
    if user.held_reason:
        raise AccountHeld(user)


@dataclass
class SignUp:
    """The outcome of a sign-up. `user` is None when the address already had an account
    (`existing`): the visitor sees the same page either way, and only the address's
    owner learns, by email, that it was already registered."""

    user: User | None
    existing: User | None = None


async def usable_invitation_or_error(code: str) -> Invitation | None:
    if not code:
        return None
    try:
        return await invitations.usable_invitation(code)
    except NotFound as exc:
        raise ValidationFailed({"__all__": exc.message}) from None


def admission_hold(policy: Policy, email: str, invitation: Invitation | None,
                   *, email_verified: bool) -> str:
    """Why a new account waits: for its email confirmation, or for an administrator."""
    if policy.mode == Mode.INVITATION and invitation is None:
        raise NotAllowed(INVITATION_ONLY)
    if policy.mode == Mode.DOMAINS and invitation is None and not policy.allows_domain(email):
        return HOLD_DOMAIN
    return "" if email_verified else HOLD_UNCONFIRMED


async def sign_up(
    *, username: str, display_name: str, email: str, password: str, policy: Policy,
    invitation_code: str = "",
) -> SignUp:
    """A visitor's sign-up under `policy`: the account waits for its email confirmation
    (and, for a domain off the allow-list, for an administrator)."""
    username, display_name, email = username.strip(), display_name.strip(), email.strip().lower()
    invitation = await usable_invitation_or_error(invitation_code)
    hold = admission_hold(policy, email, invitation, email_verified=False)
    errors = check_identity_fields(username, display_name, email)
    if problem := passwords.password_problem(password, username=username, email=email):
        errors["password"] = problem
    if "username" not in errors and await User.filter(username_key=username.lower()).exists():
        errors["username"] = "That username is taken. Please choose another."
    if errors:
        raise ValidationFailed(errors)
    # Hashed whether or not the address is registered: both answers take as long.
    password_hash = await passwords.hash_password(password)
    existing = await User.get_or_none(email=email)
    if existing is not None:
        return SignUp(user=None, existing=existing)
    try:
        async with write_transaction():
            if invitation is not None:
                invitation = await invitations.use_invitation(invitation.id)
            user = await User.create(
                username=username, username_key=username.lower(), display_name=display_name,
                email=email, password_hash=password_hash,
                role=invitation.role if invitation else Role.MEMBER,
                organisation_id=invitation.organisation_id if invitation else None,  # type: ignore[attr-defined]
                held_reason=hold,
            )
    except NotFound as exc:
        raise ValidationFailed({"__all__": exc.message}) from None
    except IntegrityError:
        existing = await User.get_or_none(email=email)
        if existing is not None:
            return SignUp(user=None, existing=existing)
        raise ValidationFailed({"username": "That username is taken. Please choose another."}) from None
    return SignUp(user=user)


async def create_admin(*, username: str, email: str, password: str, display_name: str = "") -> User:
    """Create an administrator, or promote an existing account with that username."""
    existing = await User.get_or_none(username_key=username.lower())
    if existing is not None:
        async with write_transaction():  # the badge shows on pages: the content stamp moves
            existing.role = Role.ADMIN
            await existing.save(update_fields=["role"])
        return existing
    return await register(
        username=username, display_name=display_name or username, email=email,
        password=password, role=Role.ADMIN, allow_reserved=True,
    )


async def set_role(*, actor: User, username: str, role: Role) -> User:
    """An administrator gives `username` a role."""
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only administrators can change roles.")
    async with write_transaction():  # the badge shows on pages: the content stamp moves
        user = await User.get(username_key=username.lower())
        user.role = role
        await user.save(update_fields=["role"])
    return user
