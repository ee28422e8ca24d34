"""The account emails the views send, with their signed links."""

from __future__ import annotations

from starlette.requests import Request

from forum.accounts.models import User
from forum.accounts.recovery import verification_token


async def send_verification(request: Request, user: User, *, address: str | None = None,
                            next_url: str = "/") -> bool:
    """Email a link confirming `address` (the account's own by default).

    At most a few per account per hour: past that nothing is sent and False is
    returned; callers' answers do not change, so they reveal nothing.
    """
    state = request.app.state
    limiter = state.identity_limits.verification_per_account
    key = f"user:{user.id}"
    if limiter.retry_after(key):
        return False
    limiter.hit(key)
    token = verification_token(state.link_signer, user, address, next_url)
    return await state.postman.send(
        address or user.email, "verify_email", user=user, address=address or user.email,
        link=f"{state.settings.base_url.rstrip('/')}/verify-email?token={token}",
        hours=state.settings.verify_link_hours, held=user.held_reason,
    )
