"""Wiring the identity pieces into the app: mail, link signing, providers, limits."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from forum.accounts.oidc import SsoClients
from forum.accounts.providers import parse_providers
from forum.accounts.tokens import LinkSigner
from forum.accounts.trust import NewMemberLimits
from forum.http.ratelimit import RateLimiter
from forum.mail.mailer import build_mailer
from forum.mail.postman import Postman
from forum.settings import Settings

HOUR = 3600


@dataclass
class IdentityLimits:
    """Rate limits on the ways in, per client address and per account (or link)."""

    signup_per_email: RateLimiter
    reset_per_address: RateLimiter
    reset_per_account: RateLimiter
    invite_per_address: RateLimiter
    invite_per_invitation: RateLimiter
    verification_per_account: RateLimiter


def build_postman(settings: Settings) -> Postman:
    return Postman(
        mailer=build_mailer(settings.smtp_url, settings.mail_from, settings.mail_dir),
        base_url=settings.base_url, site_name=settings.site_name,
    )


def configure(app: Starlette, settings: Settings) -> None:
    """Put the identity services on `app.state` (the mailer is built in the lifespan)."""
    app.state.link_signer = LinkSigner(settings.secret_key)
    # ID tokens are checked against the app's clock (forum.clock): tests move it
    # to expire a token.
    app.state.sso = SsoClients(
        parse_providers(settings.oidc_providers), leeway=settings.oidc_leeway_seconds,
        clock=lambda: app.state.clock().timestamp(),
    )
    app.state.identity_limits = IdentityLimits(
        signup_per_email=RateLimiter(settings.signups_per_email_per_hour, HOUR),
        reset_per_address=RateLimiter(settings.password_resets_per_address_per_hour, HOUR),
        reset_per_account=RateLimiter(settings.password_resets_per_account_per_hour, HOUR),
        invite_per_address=RateLimiter(settings.invitation_uses_per_address_per_hour, HOUR),
        invite_per_invitation=RateLimiter(settings.invitation_uses_per_invitation_per_hour, HOUR),
        verification_per_account=RateLimiter(settings.verification_emails_per_account_per_hour, HOUR),
    )
    app.state.new_member_limits = NewMemberLimits(
        days=settings.new_member_days, min_posts=settings.new_member_min_posts,
        posts_per_day=settings.new_member_posts_per_day,
        links_per_day=settings.new_member_links_per_day,
    )
