"""Helpers for tests that drive the app through HTTP like a browser does.

    token = await csrf_from(client, "/signin")
    await sign_in(client, user)                       # or sign_in(client, "alice", "pw")
    response = await post_form(client, "/t/1/reply", {"body": "..."}, from_url="/t/1/x")
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import httpx2

from forum.accounts.models import User
from tests.factories import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
SESSION_COOKIE = "mkn_session"


def csrf_in(page: str) -> str:
    """The CSRF token in an HTML page's first form; fails the test when there is none."""
    match = CSRF_FIELD.search(page)
    assert match and match.group(1), "no csrf_token field in the page"
    return html.unescape(match.group(1))


async def csrf_from(client: httpx2.AsyncClient, url: str = "/signin") -> str:
    """GET `url` (following redirects) and return the session's CSRF token from its form."""
    response = await client.get(url, follow_redirects=True)
    assert response.status_code == 200, f"GET {url} gave {response.status_code}"
    return csrf_in(response.text)


async def sign_in(
    client: httpx2.AsyncClient, user_or_username: User | str, password: str = PASSWORD
) -> httpx2.Response:
    """Sign `client` in through the real sign-in form; asserts it worked (303)."""
    login = user_or_username if isinstance(user_or_username, str) else user_or_username.username
    token = await csrf_from(client, "/signin")
    response = await client.post(
        "/signin", data={"login": login, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, f"sign-in failed with {response.status_code}"
    return response


async def post_form(
    client: httpx2.AsyncClient, url: str, data: Mapping[str, Any] | None = None, *,
    from_url: str | None = None, headers: Mapping[str, str] | None = None,
) -> httpx2.Response:
    """POST `data` to `url` with a valid CSRF token taken from `from_url` first.

    `from_url` defaults to /signin, which always has a form; redirects of the POST
    are not followed, so tests can assert 303s and their Location.
    """
    token = await csrf_from(client, from_url or "/signin")
    return await client.post(
        url, data={**(data or {}), "csrf_token": token}, headers=dict(headers or {})
    )
