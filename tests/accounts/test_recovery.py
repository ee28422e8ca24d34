"""Email confirmation, email change and password reset: signed, single-use, expiring links."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer
from tortoise.timezone import now

from forum.accounts.models import Session, User
from forum.accounts.recovery import verification_token
from forum.accounts.tokens import LinkSigner
from forum.http.ratelimit import RateLimiter
from tests.factories import PASSWORD, make_user
from tests.mailbox import body, link_in
from tests.web import post_form, sign_in

NEW_PASSWORD = "lanterns over the harbour"


async def request_reset(client, email: str):
    return await post_form(client, "/password/forgot", {"email": email}, from_url="/password/forgot")


async def test_password_reset_sends_a_link_that_sets_a_new_password_and_signs_out_everywhere(client, inbox):
    member = await make_user("dana", email="dana@leeds.gov.uk")
    await sign_in(client, member)
    response = await request_reset(client, "Dana@Leeds.gov.uk")
    assert response.status_code == 303 and response.headers["location"] == "/password/forgot/sent"
    message = inbox.last_to("dana@leeds.gov.uk")
    assert message["Subject"] == "Choose a new password for Mutuals Knowledge Network"
    link = link_in(message, "/password/reset?token=")
    form = await client.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.text
    token = link.partition("token=")[2]
    done = await post_form(client, "/password/reset", {"token": token, "password": NEW_PASSWORD}, from_url=link)
    assert done.status_code == 303 and done.headers["location"] == "/signin"
    assert not await Session.filter(user_id=member.id).exists()
    await sign_in(client, "dana", NEW_PASSWORD)
    member = await User.get(id=member.id)
    assert member.email_verified_at is not None  # opening the link proved the mailbox
    assert "was just changed" in body(inbox.last_to("dana@leeds.gov.uk"))


async def test_a_reset_link_works_only_once(client, inbox):
    await make_user("dana", email="dana@leeds.gov.uk")
    await request_reset(client, "dana@leeds.gov.uk")
    link = link_in(inbox.last_to("dana@leeds.gov.uk"), "/password/reset?token=")
    token = link.partition("token=")[2]
    first = await post_form(client, "/password/reset", {"token": token, "password": NEW_PASSWORD}, from_url=link)
    assert first.status_code == 303
    again = await client.get(link)
    assert again.status_code == 400 and "already been used" in again.text
    second = await post_form(client, "/password/reset", {"token": token, "password": "another long passphrase"})
    assert second.status_code == 400
    await sign_in(client, "dana", NEW_PASSWORD)


async def test_an_expired_reset_link_is_refused(app, client, inbox):
    await make_user("dana", email="dana@leeds.gov.uk")
    await request_reset(client, "dana@leeds.gov.uk")
    link = link_in(inbox.last_to("dana@leeds.gov.uk"), "/password/reset?token=")
    app.state.settings = app.state.settings.model_copy(update={"reset_link_minutes": -1})
    response = await client.get(link)
    assert response.status_code == 400 and "expired" in response.text


async def test_a_tampered_reset_link_is_refused(client, inbox):
    await make_user("dana", email="dana@leeds.gov.uk")
    await request_reset(client, "dana@leeds.gov.uk")
    link = link_in(inbox.last_to("dana@leeds.gov.uk"), "/password/reset?token=")
    forged = URLSafeTimedSerializer("not-our-secret", salt="mkn-reset-password").dumps({"uid": 1, "fp": "x"})
    for bad in (link[:-3] + "abc", f"/password/reset?token={forged}", "/password/reset?token="):
        response = await client.get(bad)
        assert response.status_code == 400 and "This link isn&#39;t valid" in response.text


async def test_a_weak_new_password_is_refused_next_to_the_field(client, inbox):
    await make_user("dana", email="dana@leeds.gov.uk")
    await request_reset(client, "dana@leeds.gov.uk")
    link = link_in(inbox.last_to("dana@leeds.gov.uk"), "/password/reset?token=")
    response = await post_form(client, "/password/reset", {"token": link.partition("token=")[2], "password": "short"},
                               from_url=link)
    assert response.status_code == 422 and 'id="password-error"' in response.text
    await sign_in(client, "dana", PASSWORD)


async def test_a_reset_for_an_unknown_address_looks_exactly_the_same_and_sends_nothing(client, inbox):
    await make_user("dana", email="dana@leeds.gov.uk")
    known = await request_reset(client, "dana@leeds.gov.uk")
    unknown = await request_reset(client, "nobody@leeds.gov.uk")
    assert (known.status_code, known.headers["location"]) == (unknown.status_code, unknown.headers["location"])
    assert len(inbox.messages) == 1
    page_known = (await client.get("/password/forgot/sent")).text
    assert "Check your email" in page_known


async def test_password_resets_are_limited_per_address_and_per_account_with_retry_after(app, client, inbox):
    await make_user("dana", email="dana@leeds.gov.uk")
    app.state.identity_limits.reset_per_account = RateLimiter(2, 3600)
    app.state.identity_limits.reset_per_address = RateLimiter(4, 3600)
    for _ in range(2):
        assert (await request_reset(client, "dana@leeds.gov.uk")).status_code == 303
    limited = await request_reset(client, "dana@leeds.gov.uk")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert len(inbox.messages) == 2
    assert (await request_reset(client, "someone@else.example")).status_code == 303
    limited = await request_reset(client, "another@else.example")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


async def test_a_verification_link_works_once_and_then_says_so(client, inbox):
    await post_form(client, "/signup", {"username": "jo_smith", "display_name": "Jo", "email": "jo@leeds.gov.uk",
                                        "password": "rivers and lighthouses"}, from_url="/signup")
    link = link_in(inbox.last_to("jo@leeds.gov.uk"), "/verify-email?token=")
    token = link.partition("token=")[2]
    first = await post_form(client, "/verify-email", {"token": token}, from_url=link)
    assert first.status_code == 303
    await post_form(client, "/signout", from_url="/account")
    again = await post_form(client, "/verify-email", {"token": token})
    assert again.status_code == 400 and "already been used" in again.text
    assert await Session.filter(user_id=(await User.get(username_key="jo_smith")).id).count() == 0


async def test_opening_the_link_only_shows_a_button_so_mail_scanners_confirm_nothing(client, inbox):
    await post_form(client, "/signup", {"username": "jo_smith", "display_name": "Jo", "email": "jo@leeds.gov.uk",
                                        "password": "rivers and lighthouses"}, from_url="/signup")
    link = link_in(inbox.last_to("jo@leeds.gov.uk"), "/verify-email?token=")
    await client.get(link)
    await client.get(link)
    assert (await User.get(username_key="jo_smith")).email_verified_at is None


async def test_an_expired_verification_link_is_refused(app, client):
    user = await make_user("jo", held_reason="unconfirmed-email")
    token = verification_token(app.state.link_signer, user)
    app.state.settings = app.state.settings.model_copy(update={"verify_link_hours": -1})
    response = await client.get(f"/verify-email?token={token}")
    assert response.status_code == 400 and "expired" in response.text


async def test_signing_in_before_confirming_sends_a_new_link_and_says_so(client, inbox):
    await make_user("jo", email="jo@leeds.gov.uk", held_reason="unconfirmed-email")
    response = await post_form(client, "/signin", {"login": "jo", "password": PASSWORD})
    assert response.status_code == 403
    assert "Please confirm your email address first" in response.text
    assert "/verify-email?token=" in body(inbox.last_to("jo@leeds.gov.uk"))
    assert not await Session.exists()


async def test_a_held_account_with_a_wrong_password_gets_the_usual_answer(client, inbox):
    await make_user("jo", email="jo@leeds.gov.uk", held_reason="unconfirmed-email")
    response = await post_form(client, "/signin", {"login": "jo", "password": "not the password"})
    assert response.status_code == 422 and "confirm your email" not in response.text
    assert not inbox.messages


async def test_changing_email_takes_effect_only_from_the_link_sent_to_the_new_address(client, inbox):
    member = await make_user("dana", email="dana@leeds.gov.uk", email_verified_at=now())
    await sign_in(client, member)
    response = await post_form(client, "/account/email", {"new_email": "Dana@Bradford.gov.uk", "email_password": PASSWORD},
                               from_url="/account")
    assert response.status_code == 303
    assert (await User.get(id=member.id)).email == "dana@leeds.gov.uk"
    assert "We&#39;ve sent a link to dana@bradford.gov.uk" in (await client.get("/account")).text
    link = link_in(inbox.last_to("dana@bradford.gov.uk"), "/verify-email?token=")
    confirmed = await post_form(client, "/verify-email", {"token": link.partition("token=")[2]}, from_url=link)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/account"
    assert (await User.get(id=member.id)).email == "dana@bradford.gov.uk"
    notice = inbox.last_to("dana@leeds.gov.uk")
    assert "changed from\ndana@leeds.gov.uk to dana@bradford.gov.uk" in body(notice)


async def test_an_email_change_link_needs_the_member_signed_in(client, inbox):
    member = await make_user("dana", email="dana@leeds.gov.uk")
    await sign_in(client, member)
    await post_form(client, "/account/email", {"new_email": "typo@example.org", "email_password": PASSWORD},
                    from_url="/account")
    await post_form(client, "/signout", from_url="/account")
    link = link_in(inbox.last_to("typo@example.org"), "/verify-email?token=")
    response = await post_form(client, "/verify-email", {"token": link.partition("token=")[2]}, from_url=link)
    assert response.status_code == 400 and "Sign in to your account" in response.text
    assert (await User.get(id=member.id)).email == "dana@leeds.gov.uk"
    assert not await Session.filter(user_id=member.id).exists()


async def test_changing_email_asks_for_the_current_password(client, inbox):
    member = await make_user("dana")
    await sign_in(client, member)
    response = await post_form(client, "/account/email", {"new_email": "new@example.org", "email_password": "wrong"},
                               from_url="/account")
    assert response.status_code == 422
    assert 'id="email_password-error"' in response.text and 'value="new@example.org"' in response.text
    assert not inbox.messages


async def test_changing_to_a_registered_address_answers_the_same_and_tells_its_owner(client, inbox):
    await make_user("owner", email="taken@example.org")
    member = await make_user("dana")
    await sign_in(client, member)
    response = await post_form(client, "/account/email", {"new_email": "taken@example.org", "email_password": PASSWORD},
                               from_url="/account")
    assert response.status_code == 303
    message = inbox.last_to("taken@example.org")
    assert "already has an account" in body(message) and "/verify-email" not in body(message)


async def test_links_for_one_purpose_do_not_work_for_another(app, client):
    user = await make_user("dana")
    token = verification_token(app.state.link_signer, user)
    response = await client.get(f"/password/reset?token={token}")
    assert response.status_code == 400


def test_link_tokens_are_signed_with_the_secret_key():
    signer = LinkSigner("one-secret-key-that-is-long-enough")
    token = signer.make("verify-email", {"uid": 1})
    with pytest.raises(Exception, match="isn't valid"):
        LinkSigner("another-secret-key-that-is-long").read("verify-email", token, max_age=60)
    assert signer.read("verify-email", token, max_age=60) == {"uid": 1}
