"""Security plumbing: headers, cookies, error pages, settings, rate limits, redirects."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from forum.accounts.models import Role
from forum.app import create_app
from forum.http.ratelimit import RateLimiter
from forum.http.redirects import safe_next
from forum.settings import DEVELOPMENT_SECRET, Settings
from forum.threads.models import Thread
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.web import SESSION_COOKIE, csrf_from, post_form, sign_in

SECRET = "a-real-secret-key-for-production-0123456789"


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    """A client over `app` with its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def assert_security_headers(response: httpx2.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    csp = response.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "script-src" in directives or "default-src" in directives, where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") in {
        "same-origin", "strict-origin", "strict-origin-when-cross-origin", "no-referrer"
    }, where


def assert_no_inline_script_or_style(page: str, where: str) -> None:
    """What the CSP forbids must not be in the page either, or it would break."""
    for tag in re.findall(r"<script\b[^>]*>", page, flags=re.I):
        assert "src=" in tag, f"inline script on {where}: {tag}"
    assert not re.search(r"<style\b", page, flags=re.I), f"<style> on {where}"
    assert not re.search(r"\sstyle\s*=", page, flags=re.I), f"style attribute on {where}"
    assert not re.search(r"\son[a-z]+\s*=", page, flags=re.I), f"event handler on {where}"
    assert "javascript:" not in page.lower(), where


def session_cookie_header(response: httpx2.Response) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie")
               if c.startswith(f"{SESSION_COOKIE}=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def cookie_attributes(header: str) -> dict[str, str]:
    attributes = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value.lower()
    return attributes


# Headers


async def test_every_page_has_the_security_headers_and_no_inline_code(client):
    moderator = await make_user("moira", role=Role.MODERATOR)
    member = await make_user("bob")
    topic = await make_topic("tupe-pensions")
    thread = await make_thread(member, topic)
    reply = await make_reply(thread, moderator)
    anonymous = [
        "/", "/signin", "/signup", "/topics/tupe-pensions", thread.url, f"/t/{thread.id}",
        f"/t/{thread.id}/p/2", "/u/bob", f"/posts/{reply.id}/history", "/new", "/no-such-page",
        "/topics/no-such-topic", f"/t/{thread.id + 100}/x", "/healthz", "/static/css/site.css",
    ]
    for url in anonymous:
        response = await client.get(url)
        assert_security_headers(response)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_no_inline_script_or_style(response.text, url)

    await sign_in(client, moderator)
    signed_in = ["/", "/new", thread.url, f"/posts/{reply.id}/edit", "/signout"]
    for url in signed_in:
        response = await client.get(url)
        assert_security_headers(response)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_no_inline_script_or_style(response.text, url)

    posts = [
        await post_form(client, "/new", {"title": "x"}, from_url="/new"),  # 422
        await post_form(client, f"/t/{thread.id}/reply", {"body": "A useful answer."}),  # 303
        await client.post(f"/t/{thread.id}/reply", data={"body": "no token"}),  # 403
    ]
    assert [r.status_code for r in posts] == [422, 303, 403]
    for response in posts:
        assert_security_headers(response)


async def test_html_pages_vary_on_htmx_and_cookie(client):
    response = await client.get("/signin")
    vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
    assert {"hx-request", "cookie"} <= vary


async def test_hsts_is_sent_only_over_https(settings):
    async with running(create_app(settings)) as plain:
        assert "strict-transport-security" not in (await plain.get("/signin")).headers
    secure = settings.model_copy(update={"base_url": "https://forum.example.org"})
    async with running(create_app(secure)) as https:
        response = await https.get("/signin")
        assert response.headers["strict-transport-security"].startswith("max-age=")


# Cookies


async def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    response = await client.get("/signin")
    attributes = cookie_attributes(session_cookie_header(response))
    assert "httponly" in attributes
    assert attributes.get("samesite") == "lax"
    assert attributes.get("path") == "/"
    assert "secure" not in attributes  # plain http in tests


async def test_pages_without_a_form_set_no_cookie(client):
    response = await client.get("/")
    assert not response.headers.get_list("set-cookie")


@pytest.mark.parametrize("changes", [
    {"base_url": "https://forum.example.org"},
    {"environment": "production", "secret_key": SECRET, "smtp_url": "smtp://127.0.0.1:25"},
])
async def test_the_session_cookie_is_secure_over_https_and_in_production(settings, changes):
    secure = Settings(**{**settings.model_dump(), **changes})
    async with running(create_app(secure)) as client:
        response = await client.get("/signin")
        attributes = cookie_attributes(session_cookie_header(response))
        assert "secure" in attributes and "httponly" in attributes
        assert attributes.get("samesite") == "lax"


async def test_the_session_cookie_stays_httponly_after_sign_in(client):
    user = await make_user("alice")
    response = await sign_in(client, user)
    attributes = cookie_attributes(session_cookie_header(response))
    assert "httponly" in attributes and attributes.get("samesite") == "lax"


# Error pages


async def test_a_missing_page_is_a_friendly_404(client):
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1" in response.text and "Page not found" in response.text
    assert 'href="/"' in response.text
    assert "Traceback" not in response.text


async def test_a_missing_thread_is_a_friendly_404(client):
    response = await client.get("/t/999/whatever")
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_a_forbidden_action_is_a_friendly_403(client):
    member = await make_user("bob")
    thread = await make_thread()
    await sign_in(client, member)
    response = await post_form(client, f"/t/{thread.id}/moderate", {"locked": "1"}, from_url="/")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "You can&#39;t do that" in response.text
    assert "Only moderators can do that." in response.text
    assert_security_headers(response)
    assert not (await Thread.get(id=thread.id)).is_locked


async def test_a_wrong_method_is_a_friendly_405(client):
    response = await client.get("/signout")
    assert response.status_code == 405
    assert "<h1" in response.text and "Traceback" not in response.text


async def test_an_htmx_error_is_a_fragment_aimed_at_the_flash_area(client):
    response = await client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text and "Page not found" in response.text
    assert response.headers["HX-Retarget"] == "#flash"


async def boom(request: Request):
    raise RuntimeError("secret database password is hunter2")


async def test_an_unexpected_error_is_a_friendly_500_without_a_traceback(settings, caplog):
    app = create_app(settings)
    app.router.routes.append(Route("/boom", boom))
    async with running(app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong on our side" in response.text
    for leak in ("Traceback", "RuntimeError", "hunter2", "boom"):
        assert leak not in response.text
    assert_security_headers(response)
    # The details go to the log instead.
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)


async def test_an_unexpected_error_for_a_signed_in_member_is_still_friendly(settings):
    app = create_app(settings)
    app.router.routes.append(Route("/boom", boom, methods=["GET", "POST"]))
    async with running(app) as client:
        await make_user("alice")
        await sign_in(client, "alice")
        response = await post_form(client, "/boom", {}, from_url="/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "hunter2" not in response.text
    assert_security_headers(response)


# Settings


def test_production_refuses_the_default_secret_key():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=DEVELOPMENT_SECRET)


def test_production_refuses_a_short_secret_key():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="too-short")


def test_production_refuses_to_start_without_a_mail_server():
    with pytest.raises(ValidationError, match="SMTP_URL"):
        Settings(environment="production", secret_key=SECRET)


def test_production_accepts_a_long_random_secret_key():
    settings = Settings(environment="production", secret_key=SECRET, smtp_url="smtp://127.0.0.1:25")
    assert settings.is_production and settings.secure_cookies


def test_development_may_use_the_default_secret_key():
    assert Settings(environment="development", secret_key=DEVELOPMENT_SECRET).secret_key


def test_production_reads_the_secret_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:25")
    assert Settings(_env_file=None).secret_key == SECRET


# RateLimiter


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_rate_limiter_allows_up_to_the_limit():
    limiter = RateLimiter(3, 60, clock=FakeClock())
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.hit("a")
    assert limiter.retry_after("a") > 0


def test_the_rate_limiter_says_how_long_to_wait():
    clock = FakeClock()
    limiter = RateLimiter(2, 60, clock=clock)
    limiter.hit("a")
    clock.now += 20
    limiter.hit("a")
    # The first hit leaves the window 40 seconds from now.
    assert 40 <= limiter.retry_after("a") <= 41
    clock.now += 39
    assert 1 <= limiter.retry_after("a") <= 2
    clock.now += 1.5
    assert limiter.retry_after("a") == 0


def test_the_rate_limiter_window_slides():
    clock = FakeClock()
    limiter = RateLimiter(2, 60, clock=clock)
    limiter.hit("a")
    clock.now += 30
    limiter.hit("a")
    clock.now += 31  # the first hit has left the window, the second has not
    assert limiter.retry_after("a") == 0
    limiter.hit("a")
    assert limiter.retry_after("a") > 0
    clock.now += 60
    assert limiter.retry_after("a") == 0


def test_the_rate_limiter_counts_each_key_separately():
    limiter = RateLimiter(1, 60, clock=FakeClock())
    limiter.hit("a")
    assert limiter.retry_after("a") > 0
    assert limiter.retry_after("b") == 0


def test_resetting_a_key_clears_its_count():
    limiter = RateLimiter(1, 60, clock=FakeClock())
    limiter.hit("a")
    limiter.reset("a")
    assert limiter.retry_after("a") == 0
    limiter.reset("never-seen")  # harmless


def test_the_rate_limiter_forgets_idle_keys():
    clock = FakeClock()
    limiter = RateLimiter(5, 60, clock=clock)
    for n in range(1000):
        limiter.hit(f"address-{n}")
    clock.now += 61
    for n in range(1000):
        assert limiter.retry_after(f"address-{n}") == 0
    assert len(limiter._hits) == 0


def test_retry_after_is_always_a_whole_positive_number_of_seconds_when_limited():
    clock = FakeClock(0.25)
    limiter = RateLimiter(1, 0.5, clock=clock)
    limiter.hit("a")
    clock.now += 0.49
    wait = limiter.retry_after("a")
    assert isinstance(wait, int) and wait >= 1


# safe_next


@pytest.mark.parametrize("target", [
    "/", "/new", "/t/12/admitted-body-status?page=2#post-31", "/topics/tupe-pensions",
    "/search?q=pension+bond", "/u/alice",
])
def test_safe_next_keeps_paths_on_this_site(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "//evil.example", "///evil.example", "https://evil.example", "http:evil.example",
    "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "JavaScript:alert(1)",
    "data:text/html,hi", "evil.example", " /new", "/\t/evil.example", "/\r\nSet-Cookie:x=1",
    "/new\\..\\", "mailto:a@example.org",
])
def test_safe_next_refuses_anything_that_could_leave_the_site(target):
    assert safe_next(target) == "/"


def test_safe_next_uses_the_given_default():
    assert safe_next("//evil.example", default="/home") == "/home"
    assert safe_next(None, default="/signin") == "/signin"


async def test_csrf_from_helper_reads_the_token_of_the_current_session(client):
    first = await csrf_from(client, "/signin")
    assert first == await csrf_from(client, "/signup")


async def test_a_file_upload_is_refused_and_writes_nothing(client):
    member = await make_user()
    await sign_in(client, member)
    thread = await make_thread()
    token = await csrf_from(client, thread.url)
    response = await client.post(
        f"/t/{thread.id}/reply",
        data={"csrf_token": token, "body": "Here is our business case."},
        files={"attachment": ("case.txt", b"forty pages", "text/plain")},
    )
    assert response.status_code == 400
    assert (await Thread.get(id=thread.id)).reply_count == 0


async def test_a_multipart_form_without_files_is_read_like_any_other(client):
    member = await make_user()
    await sign_in(client, member)
    thread = await make_thread()
    token = await csrf_from(client, thread.url)
    response = await client.post(
        f"/t/{thread.id}/reply",
        headers={"content-type": "multipart/form-data; boundary=b"},
        content=(
            b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            + token.encode()
            + b'\r\n--b\r\nContent-Disposition: form-data; name="body"\r\n\r\nOnly text here.\r\n--b--\r\n'
        ),
    )
    assert response.status_code == 303
    assert (await Thread.get(id=thread.id)).reply_count == 1
