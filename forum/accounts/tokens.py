"""Signed, expiring, single-use links for email verification and password reset.

A link carries the member's id and a fingerprint of the account state it is
meant to change (the password hash for a reset, the address for a
verification). Using the link changes that state, so the same link can never
work twice, and no table of used tokens is needed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from forum.errors import DomainError

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"


class BadLink(DomainError):
    """The link is malformed, tampered with, expired or already used."""

    status_code = 400


def fingerprint(*parts: str) -> str:
    """A short digest of account state; changes whenever any part changes."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class LinkSigner:
    """Makes and checks the tokens in emailed links, one salt per purpose."""

    secret_key: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=f"mkn-{purpose}")

    def make(self, purpose: str, payload: dict[str, Any]) -> str:
        return self._serializer(purpose).dumps(payload)

    def read(self, purpose: str, token: str, *, max_age: int) -> dict[str, Any]:
        """The payload of a valid token, or BadLink (expired links say so)."""
        try:
            payload = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise BadLink("This link has expired. Ask for a new one below.") from None
        except BadSignature:
            raise BadLink("This link isn't valid. Check it was copied in full, or ask for a new one.") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("uid"), int):
            raise BadLink("This link isn't valid.")
        return payload
