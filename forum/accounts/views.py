"""Sign-up, sign-in and sign-out pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import invitations, mails, policy, services, sessions
from forum.accounts.models import Invitation, User
from forum.accounts.policy import HOLD_UNCONFIRMED, Mode
from forum.errors import NotFound, RateLimited, ValidationFailed
from forum.http.csrf import rotate_csrf_token
from forum.http.forms import read_form
from forum.http.ratelimit import RateLimiter
from forum.http.redirects import safe_next
from forum.templating import render


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def sign_in_as(request: Request, user: User, next_url: str) -> Response:
    """Start a fresh session: a new key and a new CSRF token (no session fixation)."""
    old = request.session.get("sid")
    if old:
        await sessions.end_session(old)
    request.session.clear()
    rotate_csrf_token(request.session)
    request.session["sid"] = await sessions.start_session(
        user, ip_address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    return RedirectResponse(safe_next(next_url), status_code=303)


def enforce_limit(limiter: RateLimiter, key: str, message: str) -> None:
    """Count one attempt for `key`, or refuse (429 with Retry-After) past the limit."""
    if wait := limiter.retry_after(key):
        raise RateLimited(message, wait)
    limiter.hit(key)


async def _invitation_for(request: Request, code: str) -> Invitation | None:
    """The usable invitation `code` names; wrong codes count against the address."""
    if not code:
        return None
    limits = request.app.state.identity_limits
    address = client_address(request)
    if wait := limits.invite_per_address.retry_after(address):
        raise RateLimited("Too many invitation links tried from your network. Try again later.", wait)
    try:
        return await invitations.usable_invitation(code)
    except NotFound:
        limits.invite_per_address.hit(address)
        raise


def _signup_page(request: Request, *, rules: policy.Policy, invitation: Invitation | None,
                 values: dict, errors: dict, next_url: str, status_code: int = 200) -> Response:
    return render(
        request, "accounts/signup.html", status_code=status_code, values=values, errors=errors,
        next=next_url, invitation=invitation, policy=rules, Mode=Mode,
        providers=request.app.state.sso.providers.values(),
        closed=rules.mode == Mode.INVITATION and invitation is None,
    )


async def invite(request: Request) -> Response:
    """An invitation link: check it, then show the sign-up page for it."""
    invitation = await _invitation_for(request, request.path_params["code"])
    assert invitation is not None
    return RedirectResponse(f"/signup?invite={invitation.code}", status_code=303)


async def signup(request: Request) -> Response:
    rules = await policy.current_policy()
    if request.method == "GET":
        invitation = await _invitation_for(request, request.query_params.get("invite", ""))
        return _signup_page(request, rules=rules, invitation=invitation, values={}, errors={},
                            next_url=safe_next(request.query_params.get("next")))
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("username", "display_name", "email")}
    code = form.get("invite", "")
    next_url = safe_next(form.get("next", ""))
    address = client_address(request)
    limits = request.app.state.identity_limits
    enforce_limit(request.app.state.signup_limiter, address, "Too many new accounts from your network. Try again later.")
    enforce_limit(limits.signup_per_email, values["email"].strip().lower(), "Too many sign-ups for that address. Try again later.")
    if code:
        enforce_limit(limits.invite_per_address, address, "Too many invitation links tried from your network. Try again later.")
        enforce_limit(limits.invite_per_invitation, code, "This invitation link has been used a lot just now. Try again later.")
    try:
        outcome = await services.sign_up(
            password=form.get("password", ""), policy=rules, invitation_code=code, **values
        )
    except ValidationFailed as exc:
        invitation = await invitations.usable_invitation(code) if code and "__all__" not in exc.errors else None
        return _signup_page(request, rules=rules, invitation=invitation, values=values,
                            errors=exc.errors, next_url=next_url, status_code=422)
    postman = request.app.state.postman
    if outcome.user is not None:
        await mails.send_verification(request, outcome.user, next_url=next_url)
    elif outcome.existing is not None:
        await postman.send(outcome.existing.email, "account_exists", user=outcome.existing)
    return RedirectResponse("/signup/check-email", status_code=303)


async def check_email(request: Request) -> Response:
    return render(request, "accounts/check_email.html")


async def signin(request: Request) -> Response:
    providers = request.app.state.sso.providers.values()
    if request.method == "GET":
        return render(request, "accounts/signin.html", values={}, errors={}, providers=providers,
                      next=safe_next(request.query_params.get("next")))
    form = await read_form(request)
    login = form.get("login", "")
    next_url = safe_next(form.get("next", ""))
    try:
        user = await services.authenticate(
            login=login, password=form.get("password", ""),
            address=client_address(request), throttle=request.app.state.login_throttle,
        )
    except services.AccountHeld as held:
        if held.user.held_reason == HOLD_UNCONFIRMED:
            await mails.send_verification(request, held.user)
        return render(request, "accounts/signin.html", status_code=403, values={"login": login},
                      errors={"__all__": held.message}, next=next_url, providers=providers)
    except ValidationFailed as exc:
        return render(request, "accounts/signin.html", status_code=422, providers=providers,
                      values={"login": login}, errors=exc.errors, next=next_url)
    return await sign_in_as(request, user, next_url)


async def signout(request: Request) -> Response:
    key = request.session.get("sid")
    if key:
        await sessions.end_session(key)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
