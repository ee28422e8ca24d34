"""Dataset members signed in through the real sign-in form, for signed-in load.

The standard dataset gives the first ten members a password (see
``../shared/dataset/make_dataset.py``: "Bench-pass-123"); every other imported
account can only sign in after a password reset. Each member here signs in once,
as a browser would: GET /signin for the form's CSRF token, POST the form, then
GET a page with a reply form, which binds a CSRF token to the new session. The
session cookie and that token are then sent with every request of a signed-in
scenario (wrk cannot run a form per connection; the session is the same one a
browser would keep).
"""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

SESSION_COOKIE = "mkn_session"
_TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')
SIGNED_IN_MARK = b'action="/signout"'


@dataclass(frozen=True)
class Member:
    username: str
    password: str


@dataclass(frozen=True)
class SignedIn:
    """A member's session: the Cookie header value and the CSRF token bound to it."""

    username: str
    cookie: str
    csrf_token: str

    @property
    def header(self) -> str:
        return f"Cookie: {self.cookie}"


def members_with_passwords(dataset: Path, limit: int = 10) -> list[Member]:
    """Members (not admins) whose password the dataset gives, in dataset order.

    Users come first in the file: reading stops at the first line of another type.
    """
    found: list[Member] = []
    with dataset.open("rb") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("type") != "user":
                if found:
                    break
                continue
            if record.get("password") and record.get("role", "member") != "admin":
                found.append(Member(record["username"], record["password"]))
                if len(found) == limit:
                    break
    if not found:
        raise SystemExit(f"bench: no member with a password in {dataset}: cannot sign in")
    return found


class _Browser:
    """One keep-alive connection that keeps the session cookie, like a browser tab."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name_value = value.split(";", 1)[0].strip()
            if name_value.startswith(SESSION_COOKIE + "="):
                self.cookie = name_value
        return response.status, dict(response.headers), payload

    def close(self) -> None:
        self.connection.close()


def sign_in(base_url: str, member: Member, form_page: str) -> SignedIn:
    """Sign `member` in through the form; `form_page` is a page with a form (a thread)."""
    browser = _Browser(base_url)
    try:
        status, _, page = browser.request("GET", "/signin")
        token = _TOKEN.search(page)
        if status != 200 or token is None:
            raise SystemExit(f"bench: GET /signin gave {status} without a CSRF token")
        status, headers, _ = browser.request("POST", "/signin", {
            "csrf_token": token.group(1).decode(), "login": member.username,
            "password": member.password, "next": form_page,
        })
        if status != 303:
            raise SystemExit(f"bench: signing in {member.username} gave {status}, not 303 "
                             "(wrong password, or sign-in throttled?)")
        status, _, page = browser.request("GET", form_page)
        token = _TOKEN.search(page)
        if status != 200 or SIGNED_IN_MARK not in page or token is None:
            raise SystemExit(f"bench: {member.username} is not signed in on {form_page} "
                             f"(status {status})")
        return SignedIn(member.username, browser.cookie, token.group(1).decode())
    finally:
        browser.close()
