"""Password hashing with argon2, always off the event loop (it takes ~100 ms)."""

from __future__ import annotations

import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so that "no such user"
# costs the same time as "wrong password".
_DUMMY_HASH = _hasher.hash("a password nobody has")

MIN_LENGTH = 10
MAX_LENGTH = 256
COMMON = frozenset(
    {
        "password123", "password1234", "1234567890", "qwertyuiop", "letmein123",
        "welcome123", "iloveyou12", "administrator", "passw0rd123", "0123456789",
    }
)


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why `password` is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) < 4:
        return "That password is too easy to guess."
    # Parts shorter than a username (3) would rule out ordinary words ("jo@...").
    names = [username.lower(), email.split("@")[0].lower()]
    if any(len(name) >= 3 and name in lowered for name in names):
        return "Don't use your username or email address in your password."
    return None


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; takes as long whether or not a hash exists."""
    if not password_hash:
        await anyio.to_thread.run_sync(_hasher.verify, password, _DUMMY_HASH)
        return False
    try:
        return await anyio.to_thread.run_sync(_hasher.verify, password, password_hash)
    except UnknownHashError:  # e.g. an imported bcrypt hash: refuse, don't crash
        return False
