"""What views read from a request again and again: the member, ids in the path, the time."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request

from forum.accounts.models import User
from forum.errors import NotFound, SignInRequired


def viewer(request: Request) -> User | None:
    """The signed-in member, or None."""
    return request.scope.get("user")


def signed_in(request: Request) -> User:
    """The signed-in member; anyone else is sent to sign in first."""
    user = request.scope.get("user")
    if user is None:
        raise SignInRequired()
    return user


def path_int(request: Request, name: str) -> int:
    """An integer path parameter; anything else is a page that doesn't exist."""
    try:
        return int(str(request.path_params[name]))
    except (KeyError, ValueError):
        raise NotFound("Nothing here.") from None


def now(request: Request) -> datetime:
    """The application's clock (tests move it)."""
    return request.app.state.clock()
