"""Sign-up, sign-in and sign-out pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import services, sessions
from forum.accounts.models import User
from forum.errors import RateLimited, ValidationFailed
from forum.http.csrf import rotate_csrf_token
from forum.http.forms import read_form
from forum.http.redirects import safe_next
from forum.templating import render


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _sign_in(request: Request, user: User, next_url: str) -> Response:
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


async def signup(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/signup.html", values={}, errors={},
                      next=safe_next(request.query_params.get("next")))
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("username", "display_name", "email")}
    next_url = safe_next(form.get("next", ""))
    limiter = request.app.state.signup_limiter
    address = client_address(request)
    try:
        if wait := limiter.retry_after(address):
            raise RateLimited("Too many new accounts from your network. Try again later.", wait)
        user = await services.register(password=form.get("password", ""), **values)
    except ValidationFailed as exc:
        return render(request, "accounts/signup.html", status_code=422, values=values,
                      errors=exc.errors, next=next_url)
    limiter.hit(address)
    return await _sign_in(request, user, next_url)


async def signin(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/signin.html", values={}, errors={},
                      next=safe_next(request.query_params.get("next")))
    form = await read_form(request)
    login = form.get("login", "")
    next_url = safe_next(form.get("next", ""))
    try:
        user = await services.authenticate(
            login=login, password=form.get("password", ""),
            address=client_address(request), throttle=request.app.state.login_throttle,
        )
    except ValidationFailed as exc:
        return render(request, "accounts/signin.html", status_code=422,
                      values={"login": login}, errors=exc.errors, next=next_url)
    return await _sign_in(request, user, next_url)


async def signout(request: Request) -> Response:
    key = request.session.get("sid")
    if key:
        await sessions.end_session(key)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
