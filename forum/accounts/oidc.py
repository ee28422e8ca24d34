"""The sign-in round trip to a provider, with Authlib's Starlette client.

Authorization code flow with PKCE (S256); Authlib keeps `state`, `nonce` and the
code verifier in the (signed) session and checks them on the way back, and
validates the ID token's signature against the provider's published keys, its
issuer, audience, nonce and times. Every way the round trip can fail ends in
`SignInFailed` with a message for people, never in an exception page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from forum.accounts.providers import Provider
from forum.errors import DomainError

log = logging.getLogger("forum.sso")
TIMEOUT = 10


class SignInFailed(DomainError):
    """The provider round trip did not end in a trustworthy identity."""

    status_code = 400


@dataclass(frozen=True)
class ProviderProfile:
    """What a provider vouches for about the person signing in."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str = ""
    username_hint: str = ""


def _clocked_id_token(clock: Callable[[], float]) -> type[CodeIDToken]:
    """ID token claims checked against `clock` (the app's, so tests can move it)."""

    class ClockedIDToken(CodeIDToken):
        def validate(self, now: Any = None, leeway: int = 0) -> None:
            super().validate(now=int(clock()), leeway=leeway)

    return ClockedIDToken


class SsoClients:
    """One Authlib client per configured provider."""

    def __init__(self, providers: list[Provider], *, leeway: int = 120,
                 clock: Callable[[], float] = time.time) -> None:
        self.providers = {p.slug: p for p in providers}
        self.leeway = leeway
        self.clock = clock
        self.oauth = OAuth()
        for provider in providers:
            options: dict[str, Any] = {
                "client_id": provider.client_id, "client_secret": provider.client_secret,
                "client_kwargs": {
                    "scope": provider.scope, "code_challenge_method": "S256", "timeout": TIMEOUT,
                },
            }
            if provider.kind == "github":
                options.update(
                    authorize_url=provider.authorize_url, access_token_url=provider.token_url,
                    api_base_url=provider.api_base_url,
                )
            else:
                options["server_metadata_url"] = provider.discovery_url
            self.oauth.register(provider.slug, **options)

    def get(self, slug: str) -> Provider | None:
        return self.providers.get(slug)

    async def redirect(self, request: Request, provider: Provider, redirect_uri: str) -> Response:
        """Send the browser to the provider's sign-in page."""
        client = self.oauth.create_client(provider.slug)
        try:
            return await client.authorize_redirect(request, redirect_uri)
        except (httpx2.HTTPError, OAuthError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("Could not start sign-in with %s: %r", provider.slug, exc)
            raise SignInFailed(
                f"We couldn't reach {provider.name} just now. Please try again in a few minutes."
            ) from None

    async def finish(self, request: Request, provider: Provider) -> ProviderProfile:
        """Check the provider's answer and return who signed in, or SignInFailed."""
        error = request.query_params.get("error")
        if error:
            if error == "access_denied":
                raise SignInFailed(f"You cancelled signing in with {provider.name}, so nothing changed.")
            raise SignInFailed(f"{provider.name} couldn't sign you in ({error[:60]}).")
        client = self.oauth.create_client(provider.slug)
        try:
            token = await client.authorize_access_token(
                request, leeway=self.leeway, claims_cls=_clocked_id_token(self.clock)
            )
            if provider.kind == "github":
                return await _github_profile(client, provider, token)
            claims = token.get("userinfo")
            if not claims:
                raise SignInFailed(f"{provider.name} didn't send an ID token, so we can't sign you in.")
            return _oidc_profile(provider, claims)
        except OAuthError as exc:
            log.info("Sign-in with %s refused: %s", provider.slug, exc)
            if exc.error == "mismatching_state":
                raise SignInFailed(
                    "This sign-in link has expired or was opened in another browser. Please start again."
                ) from None
            raise SignInFailed(
                f"{provider.name} didn't confirm this sign-in (it may have been used already). Please start again."
            ) from None
        except JoseError as exc:
            log.warning("ID token from %s rejected: %r", provider.slug, exc)
            raise SignInFailed(
                f"The sign-in answer from {provider.name} didn't pass our checks. Please start again."
            ) from None
        except (httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("Sign-in with %s failed: %r", provider.slug, exc)
            raise SignInFailed(
                f"We couldn't reach {provider.name} just now. Please try again in a few minutes."
            ) from None


def _oidc_profile(provider: Provider, claims: dict[str, Any]) -> ProviderProfile:
    verified = claims.get("email_verified")
    return ProviderProfile(
        provider=provider.slug, subject=str(claims["sub"]),
        email=str(claims.get("email") or "").strip().lower(),
        # Some providers send "true" as a string.
        email_verified=verified is True or str(verified).lower() == "true",
        name=str(claims.get("name") or ""),
        username_hint=str(claims.get("preferred_username") or claims.get("nickname") or ""),
    )


async def _github_profile(client: Any, provider: Provider, token: dict[str, Any]) -> ProviderProfile:
    user = (await client.get("user", token=token)).raise_for_status().json()
    emails = (await client.get("user/emails", token=token)).raise_for_status().json()
    return github_profile(provider, user, emails)


def github_profile(provider: Provider, user: dict[str, Any], emails: list[dict[str, Any]]) -> ProviderProfile:
    """GitHub's /user and /user/emails answers as a profile: the primary address, if verified."""
    primary = next((e for e in emails if e.get("primary")), None) or {}
    return ProviderProfile(
        provider=provider.slug, subject=str(user["id"]),
        email=str(primary.get("email") or "").strip().lower(),
        email_verified=bool(primary.get("verified")),
        name=str(user.get("name") or ""), username_hint=str(user.get("login") or ""),
    )
