"""Confirming an email address and resetting a forgotten password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import recovery
from forum.accounts.services import EMAIL_RE, check_can_sign_in
from forum.accounts.tokens import VERIFY_EMAIL, BadLink
from forum.accounts.views import enforce_limit, client_address, sign_in_as
from forum.errors import DomainError, ValidationFailed
from forum.http.forms import read_form
from forum.http.redirects import safe_next
from forum.templating import flash, render


def _verify_age(request: Request) -> int:
    return request.app.state.settings.verify_link_hours * 3600


def _reset_age(request: Request) -> int:
    return request.app.state.settings.reset_link_minutes * 60


async def verify_email(request: Request) -> Response:
    """GET shows a button (mail scanners follow links; only a person presses buttons);
    POST confirms the address."""
    state = request.app.state
    if request.method == "GET":
        token = request.query_params.get("token", "")
        try:
            payload = state.link_signer.read(VERIFY_EMAIL, token, max_age=_verify_age(request))
        except BadLink as exc:
            return render(request, "accounts/link_problem.html", status_code=400, message=exc.message)
        return render(request, "accounts/verify.html", token=token, address=payload.get("email", ""))
    form = await read_form(request)
    current = request.scope.get("user")
    try:
        confirmed = await recovery.confirm_email(
            signer=state.link_signer, token=form.get("token", ""), max_age=_verify_age(request),
            actor_id=current.id if current else None,
        )
    except BadLink as exc:
        return render(request, "accounts/link_problem.html", status_code=400, message=exc.message)
    user = confirmed.user
    if confirmed.changed_address:
        await state.postman.send(confirmed.previous_email, "email_changed", user=user,
                                 previous=confirmed.previous_email)
    if current is not None:
        flash(request, f"Thank you: {user.email} is confirmed.")
        return RedirectResponse("/account" if current.id == user.id else "/", status_code=303)
    try:
        check_can_sign_in(user)
    except DomainError as held:
        return render(request, "accounts/held.html", message=held.message)
    # Opening the link proves the member reads that mailbox: as good as a password reset.
    response = await sign_in_as(request, user, safe_next(confirmed.next_url))
    flash(request, f"Thank you: {user.email} is confirmed. Welcome to {state.settings.site_name}!")
    return response


async def forgot_password(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/forgot.html", values={}, errors={})
    form = await read_form(request)
    email = form.get("email", "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        return render(request, "accounts/forgot.html", status_code=422, values={"email": email},
                      errors={"email": "Enter an email address like name@council.gov.uk."})
    state = request.app.state
    limits = state.identity_limits
    # Counted whether or not the address is registered, so the limit itself tells nothing.
    enforce_limit(limits.reset_per_address, client_address(request),
           "Too many password reset requests from your network. Try again later.")
    enforce_limit(limits.reset_per_account, email,
           "Too many password reset requests for that address. Check your inbox (and spam folder), or try again later.")
    found = await recovery.reset_token(state.link_signer, email)
    if found is not None:
        user, token = found
        await state.postman.send(
            user.email, "password_reset", user=user, minutes=state.settings.reset_link_minutes,
            link=f"{state.settings.base_url.rstrip('/')}/password/reset?token={token}",
        )
    flash(request, f"If an account uses {email}, we've sent it a link to choose a new password. "
                   "It works once, within the hour.")
    return RedirectResponse("/password/forgot/sent", status_code=303)


async def reset_sent(request: Request) -> Response:
    return render(request, "accounts/reset_sent.html")


async def reset_password(request: Request) -> Response:
    state = request.app.state
    if request.method == "GET":
        token = request.query_params.get("token", "")
        try:
            user = await recovery.user_for_reset(signer=state.link_signer, token=token, max_age=_reset_age(request))
        except BadLink as exc:
            return render(request, "accounts/link_problem.html", status_code=400, message=exc.message, reset=True)
        return render(request, "accounts/reset.html", token=token, errors={}, username=user.username)
    form = await read_form(request)
    token = form.get("token", "")
    try:
        user = await recovery.reset_password(
            signer=state.link_signer, token=token, max_age=_reset_age(request),
            password=form.get("password", ""),
        )
    except BadLink as exc:
        return render(request, "accounts/link_problem.html", status_code=400, message=exc.message, reset=True)
    except ValidationFailed as exc:
        return render(request, "accounts/reset.html", status_code=422, token=token, errors=exc.errors, username="")
    await state.postman.send(user.email, "password_changed", user=user)
    request.session.clear()
    flash(request, "Your password is changed, and every browser was signed out. Sign in with your new password.")
    return RedirectResponse("/signin", status_code=303)
