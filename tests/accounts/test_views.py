"""Sign-up, sign-in and sign-out through HTTP, as a browser does them."""

from __future__ import annotations

import base64
import json

import httpx2
import pytest
from markupsafe import escape

from forum.accounts.models import Session, User
from forum.accounts.services import SIGN_IN_FAILED
from forum.accounts.throttle import LoginThrottle
from forum.http.ratelimit import RateLimiter
from tests.factories import PASSWORD, make_thread, make_user
from tests.mailbox import link_in
from tests.web import SESSION_COOKIE, csrf_from, csrf_in, post_form, sign_in

SIGNUP = {
    "username": "jo_smith",
    "display_name": "Jo Smith",
    "email": "jo.smith@council.gov.uk",
    "password": "rivers and lighthouses",
}
EVIL_NEXTS = [
    "//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)",
    "http:evil.example", "///evil.example", "/\t/evil.example", " //evil.example",
]


def escaped(text: str) -> str:
    """`text` as Jinja2 autoescaping writes it."""
    return str(escape(text))


# Sign-up


async def confirm_by_email(client, inbox, address: str) -> httpx2.Response:
    """Open the confirmation link emailed to `address` and press its button."""
    link = link_in(inbox.last_to(address), "/verify-email?token=")
    page = await client.get(link)
    assert page.status_code == 200 and "Confirm my address" in page.text
    return await post_form(client, "/verify-email", {"token": link.partition("token=")[2]},
                           from_url=link)


async def test_sign_up_creates_the_account_and_signs_in_from_the_confirmation_link(client, inbox):
    response = await post_form(client, "/signup", {**SIGNUP, "next": "/topics/tupe"},
                               from_url="/signup")
    assert response.status_code == 303
    assert response.headers["location"] == "/signup/check-email"
    user = await User.get(username_key="jo_smith")
    assert user.password_hash.startswith("$argon2")
    assert user.held_reason == "unconfirmed-email" and user.email_verified_at is None
    assert await Session.filter(user_id=user.id).count() == 0
    confirmed = await confirm_by_email(client, inbox, SIGNUP["email"])
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/topics/tupe"
    await user.refresh_from_db()
    assert user.email_verified_at is not None and user.held_reason == ""
    assert await Session.filter(user_id=user.id).count() == 1
    page = (await client.get("/")).text
    assert "Sign out" in page and "Jo Smith" in page


async def test_confirming_a_sign_up_without_next_goes_home(client, inbox):
    response = await post_form(client, "/signup", SIGNUP, from_url="/signup")
    assert response.status_code == 303
    confirmed = await confirm_by_email(client, inbox, SIGNUP["email"])
    assert confirmed.headers["location"] == "/"


async def test_sign_up_errors_are_shown_next_to_fields_and_keep_the_input(client):
    await make_user("taken")
    response = await post_form(client, "/signup", {
        "username": "Taken", "display_name": "Jo <Smith>", "email": "not-an-email",
        "password": "secret-pw-9",  # acceptable alone: the page stops before uniqueness
    }, from_url="/signup")
    assert response.status_code == 422
    page = response.text
    assert 'id="email-error"' in page
    assert escaped("Enter an email address like name@council.gov.uk.") in page
    assert 'aria-invalid="true"' in page
    assert 'value="Taken"' in page
    assert f'value="{escaped("Jo <Smith>")}"' in page
    assert 'value="not-an-email"' in page
    assert "secret-pw-9" not in page
    assert await User.all().count() == 1
    assert await Session.all().count() == 0


async def test_sign_up_with_a_taken_username_says_so_next_to_the_username(client):
    await make_user("Jo_Smith")
    response = await post_form(client, "/signup", {**SIGNUP, "username": "jo_smith"},
                               from_url="/signup")
    assert response.status_code == 422
    assert 'id="username-error"' in response.text
    assert "That username is taken" in response.text
    assert SIGNUP["password"] not in response.text
    assert await User.all().count() == 1
    assert await Session.all().count() == 0


async def test_sign_up_with_a_weak_password_never_echoes_it(client):
    response = await post_form(client, "/signup", {**SIGNUP, "password": "password123"},
                               from_url="/signup")
    assert response.status_code == 422
    assert 'id="password-error"' in response.text
    assert "password123" not in response.text
    assert f'value="{SIGNUP["email"]}"' in response.text
    assert await User.all().count() == 0


async def test_too_many_sign_ups_from_one_address_get_429(app, client):
    app.state.signup_limiter = RateLimiter(1, 3600)
    first = await post_form(client, "/signup", SIGNUP, from_url="/signup")
    assert first.status_code == 303
    second = await post_form(client, "/signup", {
        **SIGNUP, "username": "another_one", "email": "another@example.org",
    }, from_url="/signup")
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert await User.all().count() == 1


async def test_sign_up_and_sign_in_pages_link_to_each_other_keeping_next(client):
    signup = (await client.get("/signup?next=/t/4/some-thread")).text
    signin = (await client.get("/signin?next=/t/4/some-thread")).text
    assert 'href="/signin?next=/t/4/some-thread"' in signup
    assert 'href="/signup?next=/t/4/some-thread"' in signin


# Sign-in


async def test_sign_in_redirects_to_next_and_starts_a_session(client):
    user = await make_user("alice")
    token = await csrf_from(client, "/signin?next=/topics/tupe")
    response = await client.post("/signin", data={
        "login": "ALICE", "password": PASSWORD, "csrf_token": token, "next": "/topics/tupe",
    })
    assert response.status_code == 303
    assert response.headers["location"] == "/topics/tupe"
    assert await Session.filter(user_id=user.id).count() == 1


async def test_the_sign_in_page_carries_next_into_its_form(client):
    page = (await client.get("/signin?next=/t/4/some-thread")).text
    assert 'name="next" value="/t/4/some-thread"' in page


async def test_sign_in_rotates_the_session_cookie_and_csrf_token(client):
    await make_user("alice")
    before_token = await csrf_from(client, "/signin")
    before_cookie = client.cookies[SESSION_COOKIE]
    response = await client.post(
        "/signin", data={"login": "alice", "password": PASSWORD, "csrf_token": before_token}
    )
    assert response.status_code == 303
    after_cookie = client.cookies[SESSION_COOKIE]
    after_token = await csrf_from(client, "/")
    assert after_cookie != before_cookie
    assert after_token != before_token

    # The token an attacker could have planted or seen before sign-in is now useless.
    session = await Session.get()
    refused = await client.post("/signout", data={"csrf_token": before_token})
    assert refused.status_code == 403
    assert await Session.filter(key=session.key).exists()
    accepted = await client.post("/signout", data={"csrf_token": after_token})
    assert accepted.status_code == 303


async def test_signing_in_again_ends_the_previous_session(client):
    user = await make_user("alice")
    await sign_in(client, user)
    first = await Session.get()
    await sign_in(client, user)
    sessions = await Session.all()
    assert len(sessions) == 1 and sessions[0].key != first.key


@pytest.mark.parametrize("login,password", [
    ("nobody", PASSWORD), ("alice", "the wrong password"), ("nobody@example.org", PASSWORD),
])
async def test_sign_in_with_bad_credentials_gives_one_message(client, login, password):
    await make_user("alice")
    response = await post_form(client, "/signin", {"login": login, "password": password})
    assert response.status_code == 422
    assert escaped(SIGN_IN_FAILED) in response.text
    assert f'value="{login}"' in response.text
    assert password not in response.text
    assert await Session.all().count() == 0
    assert "Sign out" not in (await client.get("/")).text


async def test_an_inactive_member_cannot_sign_in(client):
    await make_user("gone", is_active=False)
    response = await post_form(client, "/signin", {"login": "gone", "password": PASSWORD})
    assert response.status_code == 422
    assert escaped(SIGN_IN_FAILED) in response.text
    assert await Session.all().count() == 0


async def test_too_many_sign_in_failures_get_429_with_retry_after(app, client):
    app.state.login_throttle = LoginThrottle(
        per_account=RateLimiter(2, 300), per_address=RateLimiter(100, 300)
    )
    await make_user("alice")
    for _ in range(2):
        response = await post_form(client, "/signin", {"login": "alice", "password": "nope nope"})
        assert response.status_code == 422
    response = await post_form(client, "/signin", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 301
    assert "Too many sign-in attempts" in response.text
    assert await Session.all().count() == 0


# Sign-out and sessions


async def test_sign_out_deletes_the_session_and_later_requests_are_anonymous(client):
    user = await make_user("alice")
    await sign_in(client, user)
    assert await Session.filter(user_id=user.id).count() == 1
    response = await post_form(client, "/signout", from_url="/")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert await Session.filter(user_id=user.id).count() == 0
    page = (await client.get("/")).text
    assert "Sign out" not in page and "Sign in" in page
    assert (await client.get("/new")).status_code == 303


async def test_a_deleted_session_row_signs_the_browser_out(client):
    user = await make_user("alice")
    await sign_in(client, user)
    assert "Sign out" in (await client.get("/")).text
    await Session.filter(user_id=user.id).delete()  # e.g. "sign out everywhere"
    assert "Sign out" not in (await client.get("/")).text
    response = await client.get("/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/new"


async def test_the_session_cookie_holds_only_the_session_key_and_csrf_token(client):
    user = await make_user("alice", email="alice@council.gov.uk")
    await sign_in(client, user)
    await csrf_from(client, "/")
    payload = client.cookies[SESSION_COOKIE].split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}
    assert data["sid"] == (await Session.get(user_id=user.id)).key


# Redirects


@pytest.mark.parametrize("target", EVIL_NEXTS)
async def test_sign_in_never_redirects_off_site(client, target):
    await make_user("alice")
    page = (await client.get("/signin", params={"next": target})).text
    token = csrf_in(page)
    assert 'name="next" value="/"' in page
    response = await client.post("/signin", data={
        "login": "alice", "password": PASSWORD, "csrf_token": token, "next": target,
    })
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("target", EVIL_NEXTS)
async def test_sign_up_never_redirects_off_site(client, inbox, target):
    response = await post_form(client, "/signup", {**SIGNUP, "next": target}, from_url="/signup")
    assert response.status_code == 303
    assert response.headers["location"] == "/signup/check-email"
    confirmed = await confirm_by_email(client, inbox, SIGNUP["email"])
    assert confirmed.headers["location"] == "/"


async def test_a_signed_out_visitor_asking_a_question_is_sent_to_sign_in(client):
    response = await client.get("/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/new"


async def test_the_sign_in_redirect_keeps_the_query_string(client):
    response = await client.get("/new?topic=tupe-pensions")
    assert response.status_code == 303
    page = (await client.get(response.headers["location"])).text
    assert 'name="next" value="/new?topic=tupe-pensions"' in page


async def test_a_signed_out_visitor_replying_is_sent_to_sign_in_and_back(client):
    thread = await make_thread()
    response = await post_form(
        client, f"/t/{thread.id}/reply", {"body": "Talk to the pension fund early."},
        headers={"referer": f"http://testserver{thread.url}"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")
    assert response.headers["location"] == f"/signin?next={thread.url}"
    assert await thread.posts.all().count() == 1  # only the opening post


async def test_signing_in_from_the_redirect_returns_to_the_page(client):
    user = await make_user("alice")
    first = await client.get("/new")
    sign_in_page = await client.get(first.headers["location"])
    token = csrf_in(sign_in_page.text)
    response = await client.post("/signin", data={
        "login": user.username, "password": PASSWORD, "csrf_token": token, "next": "/new",
    })
    assert response.headers["location"] == "/new"
    assert (await client.get("/new")).status_code == 200
