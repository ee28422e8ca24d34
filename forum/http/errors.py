"""Every error becomes a friendly page (or a short fragment for htmx), never a trace."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import DomainError, RateLimited, SignInRequired
from forum.http.headers import add_security_headers
from forum.http.htmx import is_htmx
from forum.http.redirects import safe_next
from forum.templating import render

log = logging.getLogger("forum")

TITLES = {
    400: "That request didn't make sense",
    401: "Please sign in",
    403: "You can't do that",
    404: "Page not found",
    405: "That isn't allowed here",
    409: "Someone else changed this",
    413: "That's too large",
    422: "Please check what you entered",
    429: "Slow down a little",
    500: "Something went wrong on our side",
}


def error_page(request: Request, status_code: int, message: str = "") -> Response:
    swap = is_htmx(request)
    response = render(
        request, "errors/_message.html" if swap else "errors/error.html",
        status_code=status_code, title=TITLES.get(status_code, "Something went wrong"),
        message=message, status=status_code,
    )
    if swap:
        # Let htmx show the message where it expected its swap.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def sign_in_redirect(request: Request) -> Response:
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        # After signing in, go back to the page the form was on (its path only).
        referer = urlsplit(request.headers.get("referer", ""))
        target = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": f"/signin?next={quote(target)}"})
    return RedirectResponse(f"/signin?next={quote(target, safe='/')}", status_code=303)


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, SignInRequired):
        return sign_in_redirect(request)
    response = error_page(request, exc.status_code, exc.message)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_page(request, exc.status_code, exc.detail if exc.status_code != 404 else "")


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    try:
        response = error_page(request, 500)
    except Exception:  # the error page itself failed: plain text, still no trace
        response = Response("Something went wrong on our side.", status_code=500)
    # Starlette sends this response from its outermost middleware, outside
    # SecurityHeadersMiddleware: add the headers here.
    add_security_headers(response.headers, hsts=request.app.state.settings.secure_cookies)
    return response


async def csrf_failure(request: Request) -> Response:
    """Refuse the request; a signed-out visitor is sent to sign in, since every write needs it."""
    if not request.session.get("sid"):
        return sign_in_redirect(request)
    return error_page(
        request, 403,
        "Your session has expired or the form was sent from somewhere else. "
        "Go back, reload the page and try again.",
    )
