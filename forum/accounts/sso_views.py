"""Single sign-on pages: off to the provider, back, and the first-time onboarding step."""

from __future__ import annotations

import re
import time
from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import identities, mails, policy
from forum.accounts.account_views import require_user
from forum.accounts.oidc import ProviderProfile, SignInFailed
from forum.accounts.providers import Provider
from forum.accounts.services import AccountHeld, check_can_sign_in
from forum.accounts.views import sign_in_as
from forum.errors import Conflict, DomainError, NotFound, ValidationFailed
from forum.http.forms import read_form
from forum.http.redirects import safe_next
from forum.people.models import Organisation
from forum.templating import flash, render

INTENT = "sso_intent"
PENDING = "sso_pending"
ONBOARDING_SECONDS = 30 * 60


def _provider(request: Request) -> Provider:
    provider = request.app.state.sso.get(request.path_params["provider"])
    if provider is None:
        raise NotFound("There is no such way to sign in.")
    return provider


def _callback_url(request: Request, provider: Provider) -> str:
    # From BASE_URL, not the request: behind a proxy the request's own address may differ.
    return f"{request.app.state.settings.base_url.rstrip('/')}/auth/{provider.slug}/callback"


def _failure(request: Request, message: str, status_code: int = 400) -> Response:
    return render(request, "accounts/sso_error.html", status_code=status_code, message=message,
                  providers=request.app.state.sso.providers.values())


async def _go_to_provider(request: Request, provider: Provider, intent: dict) -> Response:
    request.session[INTENT] = {"provider": provider.slug, **intent}
    try:
        return await request.app.state.sso.redirect(request, provider, _callback_url(request, provider))
    except SignInFailed as exc:
        return _failure(request, exc.message, 502)


async def start(request: Request) -> Response:
    """Sign in (or join) with a provider."""
    return await _go_to_provider(request, _provider(request), {
        "link_to": None, "next": safe_next(request.query_params.get("next")),
        "invite": request.query_params.get("invite", "")[:64],
    })


async def link(request: Request) -> Response:
    """A signed-in member adds a provider to their account (POST from the account page)."""
    user = require_user(request)
    return await _go_to_provider(request, _provider(request), {"link_to": user.id, "next": "/account", "invite": ""})


async def callback(request: Request) -> Response:
    provider = _provider(request)
    intent = request.session.pop(INTENT, None)
    try:
        if not isinstance(intent, dict) or intent.get("provider") != provider.slug:
            raise SignInFailed("This sign-in has expired or was started in another browser. Please start again.")
        profile = await request.app.state.sso.finish(request, provider)
        identities.check_provider_domain(provider, profile)
        if intent.get("link_to"):
            return await _link(request, provider, profile, intent["link_to"])
        user = await identities.user_for_profile(profile)
    except SignInFailed as exc:
        return _failure(request, exc.message)
    if user is None:
        request.session[PENDING] = {
            **asdict(profile), "next": intent.get("next", "/"), "invite": intent.get("invite", ""),
            "expires": time.time() + ONBOARDING_SECONDS,
        }
        return RedirectResponse("/auth/onboarding", status_code=303)
    try:
        check_can_sign_in(user)
    except AccountHeld as held:
        return render(request, "accounts/held.html", status_code=403, message=held.message)
    return await sign_in_as(request, user, intent.get("next", "/"))


async def _link(request: Request, provider: Provider, profile: ProviderProfile, user_id: int) -> Response:
    user = request.scope.get("user")
    if user is None or user.id != user_id:
        raise SignInFailed("Please sign in again, then link your account from your account page.")
    try:
        await identities.link_identity(user=user, profile=profile)
    except Conflict as exc:
        raise SignInFailed(exc.message) from None
    flash(request, f"Done: you can now sign in with {provider.name}.")
    return RedirectResponse("/account#sign-in-methods", status_code=303)


def _pending(request: Request) -> dict | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("expires", 0) < time.time():
        request.session.pop(PENDING, None)
        return None
    return pending


def _suggested_username(hint: str, email: str) -> str:
    base = hint or email.partition("@")[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-")[:30]


async def onboarding(request: Request) -> Response:
    """First sign-in with a provider: choose a username and say who you are."""
    pending = _pending(request)
    if pending is None:
        flash(request, "Your sign-in took too long and has expired. Please start again.")
        return RedirectResponse("/signin", status_code=303)
    provider = request.app.state.sso.get(pending["provider"])
    organisations = await Organisation.all().order_by("name").limit(500)
    if request.method == "GET":
        values = {
            "username": _suggested_username(pending.get("username_hint", ""), pending["email"]),
            "display_name": pending.get("name", ""), "organisation": "",
        }
        return render(request, "accounts/onboarding.html", values=values, errors={}, pending=pending,
                      provider=provider, organisations=organisations)
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("username", "display_name", "organisation")}
    profile = ProviderProfile(**{k: pending[k] for k in ProviderProfile.__dataclass_fields__})
    try:
        user = await identities.create_from_profile(
            profile=profile, username=values["username"], display_name=values["display_name"],
            organisation_id=values["organisation"], policy=await policy.current_policy(),
            invitation_code=pending.get("invite", ""),
        )
    except ValidationFailed as exc:
        return render(request, "accounts/onboarding.html", status_code=422, values=values,
                      errors=exc.errors, pending=pending, provider=provider, organisations=organisations)
    except DomainError as exc:  # e.g. joining is by invitation only
        request.session.pop(PENDING, None)
        return _failure(request, exc.message, exc.status_code)
    request.session.pop(PENDING, None)
    try:
        check_can_sign_in(user)
    except AccountHeld as held:
        if not user.email_verified:
            await mails.send_verification(request, user)
        return render(request, "accounts/held.html", message=held.message)
    return await sign_in_as(request, user, pending.get("next", "/"))
