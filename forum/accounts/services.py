"""Account services: sign-up, sign-in, administrators."""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError

from forum.accounts import passwords
from forum.accounts.models import Role, User
from forum.accounts.throttle import LoginThrottle
from forum.db import write_transaction
from forum.errors import NotAllowed, ValidationFailed

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
RESERVED = frozenset({"admin", "administrator", "moderator", "system", "support", "me", "new"})
SIGN_IN_FAILED = "That username or email and password don't match an account."


def _clean_identity(username: str, display_name: str, email: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = "Use 3 to 30 letters, digits, hyphens or underscores."
    elif username.lower() in RESERVED:
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
    errors = _clean_identity(username, display_name, email)
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
    return user


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
