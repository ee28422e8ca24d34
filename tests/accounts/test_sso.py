"""Single sign-on against a real OpenID provider (oidc-provider on 127.0.0.1)."""

from __future__ import annotations

from datetime import timedelta
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from tortoise.timezone import now

from forum.accounts.models import Identity, Session, User
from forum.accounts.policy import Mode
from forum.clock import system_clock
from forum.settings import Settings
from tests.accounts.oidc.provider import OidcProvider
from tests.accounts.oidc.round_trip import RoundTrip
from tests.factories import make_user
from tests.web import SESSION_COOKIE, post_form, sign_in


@pytest.fixture
def settings(settings: Settings, oidc_provider: OidcProvider) -> Settings:
    return settings.model_copy(update={"oidc_providers": [oidc_provider.provider_setting()]})


@pytest.fixture
async def trip(client: httpx2.AsyncClient) -> AsyncIterator[RoundTrip]:
    async with httpx2.AsyncClient(timeout=10) as provider:
        yield RoundTrip(app=client, provider=provider)


async def signed_in_as(client: httpx2.AsyncClient) -> str | None:
    page = (await client.get("/account")).text
    if "Your account" not in page:
        return None
    return page.split("Signed in as <strong>", 1)[1].split("</strong>", 1)[0]


async def onboard(trip: RoundTrip, login: str, password: str, username: str) -> httpx2.Response:
    response = await trip.sign_in(login, password)
    assert response.status_code == 303 and response.headers["location"] == "/auth/onboarding"
    return await post_form(trip.app, "/auth/onboarding", {
        "username": username, "display_name": username.title(), "organisation": "",
    }, from_url="/auth/onboarding")


async def test_the_sign_in_page_offers_the_provider(client):
    page = (await client.get("/signin")).text
    assert "Sign in with Test ID" in page
    assert 'href="/auth/test/start?next=/"' in page


async def test_the_authorization_request_uses_pkce_s256_state_and_nonce(client):
    response = await client.get("/auth/test/start")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == ["http://testserver/auth/test/callback"]


async def test_a_first_sign_in_onboards_a_new_member_then_signs_straight_in(trip):
    response = await trip.sign_in("ada", "ada-pass")
    assert response.status_code == 303 and response.headers["location"] == "/auth/onboarding"
    form = await trip.app.get("/auth/onboarding")
    assert 'value="ada"' in form.text and 'value="Ada Okafor"' in form.text
    assert "ada@leeds.gov.uk" in form.text
    created = await post_form(trip.app, "/auth/onboarding", {
        "username": "ada_o", "display_name": "Ada Okafor", "organisation": "",
    }, from_url="/auth/onboarding")
    assert created.status_code == 303 and created.headers["location"] == "/"
    user = await User.get(username_key="ada_o")
    assert user.email == "ada@leeds.gov.uk" and user.email_verified_at is not None
    assert user.password_hash == "" and user.held_reason == ""
    identity = await Identity.get(user_id=user.id)
    assert (identity.provider, identity.subject) == ("test", "sub-ada")
    assert await signed_in_as(trip.app) == "Ada Okafor"
    await post_form(trip.app, "/signout", from_url="/account")
    again = await trip.sign_in("ada", "ada-pass")
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert await signed_in_as(trip.app) == "Ada Okafor"
    assert await User.all().count() == 1


async def test_onboarding_errors_are_shown_next_to_fields_and_keep_the_input(trip):
    await make_user("taken")
    response = await onboard(trip, "ada", "ada-pass", "Taken")
    assert response.status_code == 422
    assert 'id="username-error"' in response.text and 'value="Taken"' in response.text
    assert not await Identity.exists()


async def test_a_verified_address_links_to_the_member_with_the_same_verified_address(trip):
    cara = await make_user("cara", email="cara@nhs.net", email_verified_at=now())
    response = await trip.sign_in("cara", "cara-pass")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert await signed_in_as(trip.app) == cara.display_name
    assert await Identity.filter(user_id=cara.id, provider="test", subject="sub-cara").exists()


async def test_an_unconfirmed_local_address_is_never_linked(trip):
    await make_user("cara", email="cara@nhs.net")  # not confirmed here
    response = await trip.sign_in("cara", "cara-pass")
    assert response.headers["location"] == "/auth/onboarding"
    refused = await post_form(trip.app, "/auth/onboarding", {
        "username": "cara2", "display_name": "Cara", "organisation": "",
    }, from_url="/auth/onboarding")
    assert refused.status_code == 422
    assert "An account already uses this email address" in refused.text
    assert not await Identity.exists()


async def test_an_address_the_provider_has_not_verified_is_never_linked(trip):
    await make_user("ben", email="ben@example.org", email_verified_at=now())
    response = await trip.sign_in("ben", "ben-pass")
    assert response.headers["location"] == "/auth/onboarding"
    assert not await Identity.exists()


async def test_a_new_member_whose_provider_did_not_verify_the_address_confirms_it_by_email(trip, inbox):
    response = await onboard(trip, "ben", "ben-pass", "ben_p")
    assert response.status_code == 200 and "confirm your email address" in response.text
    user = await User.get(username_key="ben_p")
    assert user.held_reason == "unconfirmed-email"
    assert not await Session.filter(user_id=user.id).exists()
    assert "/verify-email?token=" in inbox.last_to("ben@example.org").get_content()


async def test_a_tampered_state_ends_on_a_friendly_page_and_signs_nobody_in(trip):
    callback = await trip.callback_url("/auth/test/start", "ada", "ada-pass")
    tampered = callback.replace("state=", "state=x", 1)
    response = await trip.app.get(tampered)
    assert response.status_code == 400
    assert "We couldn't sign you in" in response.text
    assert "expired or was opened in another browser" in response.text
    assert await User.all().count() == 0 and await Session.all().count() == 0


async def test_a_replayed_code_is_refused_by_the_provider_and_ends_on_a_friendly_page(trip):
    cara = await make_user("cara", email="cara@nhs.net", email_verified_at=now())
    callback = await trip.callback_url("/auth/test/start", "cara", "cara-pass")
    # Keep the session cookie holding the state, to replay the callback with it later.
    cookie_before = trip.app.cookies[SESSION_COOKIE]
    first = await trip.app.get(callback)
    assert first.status_code == 303 and await signed_in_as(trip.app) == cara.display_name
    async with httpx2.AsyncClient(transport=trip.app._transport, base_url="http://testserver") as attacker:
        attacker.cookies.set(SESSION_COOKIE, cookie_before)
        replay = await attacker.get(callback)
        assert replay.status_code == 400
        assert "didn&#39;t confirm this sign-in" in replay.text
        assert await signed_in_as(attacker) is None
    assert await Session.filter(user_id=cara.id).count() == 1


async def test_an_expired_id_token_is_refused(app, trip):
    await make_user("cara", email="cara@nhs.net", email_verified_at=now())
    callback = await trip.callback_url("/auth/test/start", "cara", "cara-pass")
    # The provider's ID tokens live an hour: three hours on, this one has expired.
    app.state.clock = lambda: system_clock() + timedelta(hours=3)
    response = await trip.app.get(callback)
    assert response.status_code == 400
    assert "didn&#39;t pass our checks" in response.text
    assert await Session.all().count() == 0


async def test_cancelling_at_the_provider_ends_on_a_friendly_page(trip):
    login_page = await trip.to_provider(await trip.app.get("/auth/test/start"))
    response = await trip.app.get(await trip.cancel(login_page))
    assert response.status_code == 400
    assert "You cancelled signing in with Test ID" in response.text


async def test_a_provider_that_is_down_ends_on_a_friendly_page(app, client, settings):
    from forum.accounts.oidc import SsoClients
    from forum.accounts.providers import parse_providers

    down = {"slug": "test", "name": "Test ID", "discovery_url": "http://127.0.0.1:9/.well-known/openid-configuration",
            "client_id": "x", "client_secret": "y"}
    app.state.sso = SsoClients(parse_providers([down]))
    response = await client.get("/auth/test/start")
    assert response.status_code == 502
    assert "couldn&#39;t reach Test ID" in response.text


async def test_an_unknown_provider_is_not_found(client):
    assert (await client.get("/auth/nope/start")).status_code == 404


async def test_a_provider_limited_to_some_domains_refuses_other_addresses(app, trip, oidc_provider):
    from forum.accounts.oidc import SsoClients
    from forum.accounts.providers import parse_providers

    app.state.sso = SsoClients(parse_providers([oidc_provider.provider_setting(domains=["*.gov.uk"])]))
    refused = await trip.sign_in("cara", "cara-pass")
    assert refused.status_code == 400 and "is for addresses at *.gov.uk" in refused.text
    trip.provider.cookies.clear()  # sign out at the provider, to come back as someone else
    allowed = await trip.sign_in("ada", "ada-pass")
    assert allowed.headers["location"] == "/auth/onboarding"


async def test_invitation_only_turns_away_a_new_provider_identity(trip):
    from forum.accounts.models import SiteSetting

    await SiteSetting.create(key="registration", value={"mode": Mode.INVITATION.value, "domains": []})
    response = await onboard(trip, "ada", "ada-pass", "ada_o")
    assert response.status_code == 403 and "by invitation only" in response.text
    assert not await User.exists()


async def test_a_member_links_a_provider_from_the_account_page_and_unlinks_it(trip):
    member = await make_user("dana")
    await sign_in(trip.app, member)
    start = await post_form(trip.app, "/account/link/test", from_url="/account")
    login_page = await trip.to_provider(start)
    response = await trip.app.get(await trip.log_in(login_page, "ben", "ben-pass"))
    assert response.status_code == 303 and response.headers["location"] == "/account#sign-in-methods"
    identity = await Identity.get(user_id=member.id)
    assert identity.subject == "sub-ben"
    page = (await trip.app.get("/account")).text
    assert "you can now sign in with Test ID" in page and "Unlink" in page
    unlinked = await post_form(trip.app, f"/account/identities/{identity.id}/unlink", from_url="/account")
    assert unlinked.status_code == 303
    assert not await Identity.exists()
    # The identity now signs in nobody: its next use starts onboarding.
    await post_form(trip.app, "/signout", from_url="/account")
    assert (await trip.sign_in("ben", "ben-pass")).headers["location"] == "/auth/onboarding"


async def test_an_identity_linked_to_another_member_cannot_be_linked_again(trip):
    owner = await make_user("cara", email="cara@nhs.net", email_verified_at=now())
    await Identity.create(user=owner, provider="test", subject="sub-cara")
    member = await make_user("dana")
    await sign_in(trip.app, member)
    login_page = await trip.to_provider(await post_form(trip.app, "/account/link/test", from_url="/account"))
    response = await trip.app.get(await trip.log_in(login_page, "cara", "cara-pass"))
    assert response.status_code == 400
    assert "already linked to another member" in response.text
    assert await Identity.filter(user_id=member.id).count() == 0


async def test_the_last_way_to_sign_in_cannot_be_unlinked(trip):
    await onboard(trip, "ada", "ada-pass", "ada_o")
    identity = await Identity.get(subject="sub-ada")
    response = await post_form(trip.app, f"/account/identities/{identity.id}/unlink", from_url="/account")
    assert response.status_code == 403
    assert "only way you can sign in" in response.text
    assert await Identity.exists()


async def test_a_member_who_signs_in_with_a_provider_can_set_a_password(trip):
    await onboard(trip, "ada", "ada-pass", "ada_o")
    page = (await trip.app.get("/account")).text
    assert "Set password" in page and "Current password" not in page
    response = await post_form(trip.app, "/account/password", {"new_password": "lanterns over the harbour"},
                               from_url="/account")
    assert response.status_code == 303
    assert (await User.get(username_key="ada_o")).password_hash.startswith("$argon2")
