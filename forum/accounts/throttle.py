"""Sign-in throttling per account and per client address."""

from __future__ import annotations

from dataclasses import dataclass

from forum.errors import RateLimited
from forum.http.ratelimit import RateLimiter


@dataclass
class LoginThrottle:
    per_account: RateLimiter
    per_address: RateLimiter

    def check(self, *, account: str, address: str) -> None:
        """Raise RateLimited when either the account or the address tried too often."""
        wait = max(
            self.per_account.retry_after(account.lower()),
            self.per_address.retry_after(address),
        )
        if wait:
            raise RateLimited(
                "Too many sign-in attempts. Please wait a few minutes and try again.", wait
            )

    def failed(self, *, account: str, address: str) -> None:
        self.per_account.hit(account.lower())
        self.per_address.hit(address)

    def succeeded(self, *, account: str) -> None:
        self.per_account.reset(account.lower())
