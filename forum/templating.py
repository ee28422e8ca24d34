"""The Jinja2 environment, its filters, and the context every template gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from forum.caching.pages import PERSONAL
from forum.http.csrf import csrf_token
from forum.http.static import STATIC
from forum.http.htmx import is_htmx
from forum.pagination import pagination
from forum.settings import PROJECT_ROOT, Settings


# strftime("%b") costs several times an f-string, and lists of twenty dated items
# (search results) format a date for each; these are its names in the C locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def timesince(value: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', '2 days ago', or a date for anything older than a month."""
    if value is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            if unit == "day" and count > 30:
                break
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def isodate(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else ""


def longdate(value: datetime | None) -> str:
    return value.strftime("%-d %B %Y at %H:%M") if value else ""


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def duration(value: timedelta) -> str:
    """'40 minutes', '5 hours', '3 days': a span of time in its largest whole unit."""
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "under a minute"


def build_templates(settings: Settings) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROJECT_ROOT / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined if settings.environment == "test" else jinja2.Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Checking every template file's date on every include costs a system call
        # per post of a thread page: only development edits templates while running.
        auto_reload=not settings.is_production,
    )
    env.filters.update(timesince=timesince, isodate=isodate, longdate=longdate, plural=plural,
                       duration=duration)
    env.globals["site_name"] = settings.site_name
    env.globals["static_url"] = STATIC.url
    env.globals["pagination"] = pagination

    def context(request: Request) -> dict[str, Any]:
        scope = request.scope

        def token() -> str:
            # Called only by templates that have a form, so pages without one set no
            # cookie; a page holding a visitor's token is never shared (forum.caching.pages).
            scope[PERSONAL] = True
            session = scope.get("session")
            return csrf_token(session) if session is not None else ""

        return {
            "user": scope.get("user"), "csrf_token": token, "htmx": is_htmx(request),
            "unread": scope.get("unread", 0),
            # A one-time message set by the previous request (e.g. "Password changed").
            "flash": _flash(scope),
        }

    return Jinja2Templates(env=env, context_processors=[context])


def _flash(scope: dict[str, Any]) -> str | None:
    session = scope.get("session")
    message = session.pop("flash", None) if session else None
    if message is not None:
        scope[PERSONAL] = True  # this visitor's message: the page is theirs alone
    return message


def flash(request: Request, message: str) -> None:
    """Show `message` on the next page this browser gets (after a 303, typically)."""
    request.session["flash"] = message


def render(
    request: Request, name: str, status_code: int = 200, **context: Any
) -> Response:
    """Render template `name` with the shared context; views pick a fragment template
    themselves for htmx swaps (see `forum.http.htmx.is_htmx`)."""
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response
