"""Who may join: registration policy, invitations, the approval queue, no address enumeration."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from tortoise.timezone import now

from forum.accounts.models import Invitation, Role, SiteSetting, User
from forum.accounts.policy import HOLD_DOMAIN, HOLD_UNCONFIRMED, domain_allowed, parse_domains
from forum.http.ratelimit import RateLimiter
from forum.people.models import Organisation
from tests.factories import make_user
from tests.mailbox import body, link_in
from tests.web import post_form, sign_in

PASSWORD_NEW = "rivers and lighthouses"


def signup_form(username: str, email: str, **extra: str) -> dict[str, str]:
    return {"username": username, "display_name": username.title(), "email": email,
            "password": PASSWORD_NEW, **extra}


async def set_policy(mode: str, *domains: str) -> None:
    await SiteSetting.create(key="registration", value={"mode": mode, "domains": list(domains)})


async def confirm(client, inbox, address: str):
    link = link_in(inbox.last_to(address), "/verify-email?token=")
    return await post_form(client, "/verify-email", {"token": link.partition("token=")[2]}, from_url=link)


@pytest.mark.parametrize("email, patterns, allowed", [
    ("jo@leeds.gov.uk", ["*.gov.uk"], True),
    ("jo@gov.uk", ["*.gov.uk"], True),
    ("jo@evilgov.uk", ["*.gov.uk"], False),
    ("jo@nhs.net", ["nhs.net"], True),
    ("jo@mail.nhs.net", ["nhs.net"], False),
    ("jo@example.org", [], False),
])
def test_domain_patterns_match_whole_labels(email, patterns, allowed):
    assert domain_allowed(email, patterns) is allowed


def test_domain_lists_are_checked_and_normalised():
    assert parse_domains("*.gov.uk\n@NHS.net, partner.co.uk") == (["*.gov.uk", "nhs.net", "partner.co.uk"], None)
    assert parse_domains("not a domain")[1] is not None


async def test_signing_up_with_a_registered_address_looks_the_same_and_tells_its_owner(client, inbox):
    await make_user("owner", email="owner@leeds.gov.uk")
    new = await post_form(client, "/signup", signup_form("newbie", "new@leeds.gov.uk"), from_url="/signup")
    taken = await post_form(client, "/signup", signup_form("other_name", "OWNER@leeds.gov.uk"), from_url="/signup")
    assert (new.status_code, new.headers["location"]) == (taken.status_code, taken.headers["location"])
    assert not await User.filter(username_key="other_name").exists()
    message = inbox.last_to("owner@leeds.gov.uk")
    assert message["Subject"] == "You already have an account at Mutuals Knowledge Network"
    assert "/password/forgot" in body(message) and "/verify-email" not in body(message)


async def test_admins_set_the_registration_policy(client):
    admin = await make_user("root", role=Role.ADMIN)
    await sign_in(client, admin)
    page = await client.get("/admin/registration")
    assert page.status_code == 200 and "Invitation only" in page.text
    saved = await post_form(client, "/admin/registration", {"mode": "domains", "domains": "*.gov.uk\nnhs.net"},
                            from_url="/admin/registration")
    assert saved.status_code == 303
    assert (await SiteSetting.get(key="registration")).value == {"mode": "domains", "domains": ["*.gov.uk", "nhs.net"]}


async def test_a_bad_policy_is_refused_next_to_the_field_and_keeps_the_input(client):
    await sign_in(client, await make_user("root", role=Role.ADMIN))
    response = await post_form(client, "/admin/registration", {"mode": "domains", "domains": "nope"},
                               from_url="/admin/registration")
    assert response.status_code == 422 and 'id="domains-error"' in response.text and ">nope</textarea>" in response.text
    response = await post_form(client, "/admin/registration", {"mode": "domains", "domains": ""},
                               from_url="/admin/registration")
    assert response.status_code == 422 and "at least one domain" in response.text
    assert not await SiteSetting.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MENTOR, Role.MODERATOR])
async def test_only_admins_may_change_the_policy(client, role):
    await sign_in(client, await make_user("someone", role=role))
    assert (await client.get("/admin/registration")).status_code == 403
    response = await post_form(client, "/admin/registration", {"mode": "invitation", "domains": ""})
    assert response.status_code == 403 and not await SiteSetting.exists()


async def test_invitation_only_closes_the_sign_up_form(client):
    await set_policy("invitation")
    page = await client.get("/signup")
    assert "Joining is by invitation only" in page.text and 'action="/signup"' not in page.text
    response = await post_form(client, "/signup", signup_form("jo", "jo@leeds.gov.uk"))
    assert response.status_code == 403 and not await User.filter(username_key="jo").exists()


async def test_allowed_domains_join_once_confirmed_and_others_wait_for_approval(client, inbox):
    await set_policy("domains", "*.gov.uk")
    await post_form(client, "/signup", signup_form("council_jo", "jo@leeds.gov.uk"), from_url="/signup")
    await post_form(client, "/signup", signup_form("outsider", "out@example.org"), from_url="/signup")
    assert (await User.get(username_key="council_jo")).held_reason == HOLD_UNCONFIRMED
    assert (await User.get(username_key="outsider")).held_reason == HOLD_DOMAIN
    assert (await confirm(client, inbox, "jo@leeds.gov.uk")).status_code == 303
    assert (await User.get(username_key="council_jo")).held_reason == ""
    await post_form(client, "/signout", from_url="/account")
    waiting = await confirm(client, inbox, "out@example.org")
    assert waiting.status_code == 200 and "waiting for an administrator" in waiting.text
    outsider = await User.get(username_key="outsider")
    assert outsider.email_verified_at is not None and outsider.held_reason == HOLD_DOMAIN
    refused = await post_form(client, "/signin", {"login": "outsider", "password": PASSWORD_NEW})
    assert refused.status_code == 403 and "waiting for an administrator" in refused.text


async def test_the_approval_queue_shows_who_waits_and_why_and_approving_lets_them_in(client, inbox):
    await make_user("outsider", email="out@example.org", held_reason=HOLD_DOMAIN)
    await make_user("slow", email="slow@leeds.gov.uk", held_reason=HOLD_UNCONFIRMED)
    await make_user("fine")
    await sign_in(client, await make_user("moira", role=Role.MODERATOR))
    page = (await client.get("/admin/approvals")).text
    assert "Email domain isn&#39;t on the allow-list (@example.org)" in page
    assert "confirmed their email address yet" in page
    assert page.index("@outsider") < page.index("@slow") and "@fine" not in page
    outsider = await User.get(username_key="outsider")
    response = await post_form(client, f"/admin/approvals/{outsider.id}", {"decision": "approve"}, from_url="/admin/approvals")
    assert response.status_code == 303
    assert (await User.get(id=outsider.id)).held_reason == ""
    assert "approved your account" in body(inbox.last_to("out@example.org"))
    async with httpx2.AsyncClient(transport=client._transport, base_url="http://testserver") as other:
        await sign_in(other, "outsider")


async def test_declining_removes_the_request_and_tells_them(client, inbox):
    waiting = await make_user("outsider", email="out@example.org", held_reason=HOLD_DOMAIN)
    await sign_in(client, await make_user("root", role=Role.ADMIN))
    await post_form(client, f"/admin/approvals/{waiting.id}", {"decision": "decline"}, from_url="/admin/approvals")
    assert not await User.filter(id=waiting.id).exists()
    assert "couldn't\napprove your request" in body(inbox.last_to("out@example.org"))


async def test_members_cannot_see_or_use_the_approval_queue(client):
    waiting = await make_user("outsider", held_reason=HOLD_DOMAIN)
    await sign_in(client, await make_user("member"))
    assert (await client.get("/admin/approvals")).status_code == 403
    response = await post_form(client, f"/admin/approvals/{waiting.id}", {"decision": "approve"})
    assert response.status_code == 403
    assert (await User.get(id=waiting.id)).held_reason == HOLD_DOMAIN


async def test_a_mentor_invites_a_member_who_joins_even_when_joining_is_closed(client, inbox):
    await set_policy("invitation")
    org = await Organisation.create(slug="leeds-youth", name="Leeds Youth Mutual")
    mentor = await make_user("margaret", role=Role.MENTOR)
    await sign_in(client, mentor)
    created = await post_form(client, "/invitations", {"uses": "2", "days": "7", "role": "member",
                                                        "organisation": str(org.id), "note": "Leeds team"},
                              from_url="/invitations")
    assert created.status_code == 303
    invitation = await Invitation.get(created_by_id=mentor.id)
    assert invitation.max_uses == 2 and invitation.organisation_id == org.id
    page = (await client.get("/invitations")).text
    assert invitation.url in page and "Leeds team" in page
    await post_form(client, "/signout", from_url="/invitations")
    landing = await client.get(invitation.url)
    assert landing.status_code == 303
    form = await client.get(landing.headers["location"])
    assert "Margaret invited you to join, with Leeds Youth Mutual" in form.text
    joined = await post_form(client, "/signup", signup_form("newbie", "newbie@example.org", invite=invitation.code),
                             from_url=landing.headers["location"])
    assert joined.status_code == 303
    newbie = await User.get(username_key="newbie")
    assert newbie.organisation_id == org.id and newbie.role == Role.MEMBER
    assert (await Invitation.get(id=invitation.id)).use_count == 1
    assert (await confirm(client, inbox, "newbie@example.org")).status_code == 303


async def test_an_invitation_can_give_a_role_the_inviter_may_grant_only(client):
    await sign_in(client, await make_user("margaret", role=Role.MENTOR))
    response = await post_form(client, "/invitations", {"uses": "1", "days": "7", "role": "moderator"},
                               from_url="/invitations")
    assert response.status_code == 422 and 'id="role-error"' in response.text
    response = await post_form(client, "/invitations", {"uses": "0", "days": "400", "role": "member"},
                               from_url="/invitations")
    assert response.status_code == 422 and 'id="uses-error"' in response.text and 'id="days-error"' in response.text
    assert not await Invitation.exists()


async def test_an_invitation_gives_its_role(client, inbox):
    admin = await make_user("root", role=Role.ADMIN)
    invitation = await Invitation.create(code="mentor-code", created_by=admin, role=Role.MENTOR,
                                         expires_at=now() + timedelta(days=1))
    await post_form(client, "/signup", signup_form("adviser", "adviser@partner.example", invite=invitation.code),
                    from_url="/signup?invite=mentor-code")
    assert (await User.get(username_key="adviser")).role == Role.MENTOR


async def test_members_cannot_invite(client):
    await sign_in(client, await make_user("member"))
    assert (await client.get("/invitations")).status_code == 403
    assert (await post_form(client, "/invitations", {"uses": "1", "days": "1", "role": "member"})).status_code == 403


@pytest.mark.parametrize("change", [
    {"expires_at": now() - timedelta(minutes=1)},
    {"use_count": 1},
    {"revoked_at": now()},
])
async def test_an_expired_used_up_or_revoked_invitation_is_refused(client, change):
    admin = await make_user("root", role=Role.ADMIN)
    fields = {"code": "the-code", "created_by": admin, "expires_at": now() + timedelta(days=1), **change}
    await Invitation.create(**fields)
    response = await client.get("/invite/the-code")
    assert response.status_code == 404 and "isn&#39;t valid any more" in response.text
    signup = await post_form(client, "/signup", signup_form("late", "late@example.org", invite="the-code"))
    assert signup.status_code == 422 and not await User.filter(username_key="late").exists()


async def test_revoking_an_invitation_stops_its_link(client):
    mentor = await make_user("margaret", role=Role.MENTOR)
    invitation = await Invitation.create(code="the-code", created_by=mentor, expires_at=now() + timedelta(days=1))
    await sign_in(client, mentor)
    assert (await post_form(client, f"/invitations/{invitation.id}/revoke", from_url="/invitations")).status_code == 303
    assert (await client.get("/invite/the-code")).status_code == 404


async def test_guessing_invitation_codes_is_limited_per_address(app, client):
    app.state.identity_limits.invite_per_address = RateLimiter(3, 3600)
    for attempt in range(3):
        assert (await client.get(f"/invite/guess-{attempt}")).status_code == 404
    limited = await client.get("/invite/guess-4")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


async def test_one_invitation_is_used_at_most_so_often_per_hour(app, client):
    admin = await make_user("root", role=Role.ADMIN)
    await Invitation.create(code="team-code", created_by=admin, max_uses=50, expires_at=now() + timedelta(days=1))
    app.state.identity_limits.invite_per_invitation = RateLimiter(1, 3600)
    first = await post_form(client, "/signup", signup_form("one", "one@example.org", invite="team-code"))
    second = await post_form(client, "/signup", signup_form("two", "two@example.org", invite="team-code"))
    assert first.status_code == 303 and second.status_code == 429
    assert "retry-after" in second.headers


async def test_sign_ups_for_one_address_are_limited(app, client):
    app.state.identity_limits.signup_per_email = RateLimiter(1, 3600)
    await post_form(client, "/signup", signup_form("one", "same@example.org"))
    limited = await post_form(client, "/signup", signup_form("two", "same@example.org"))
    assert limited.status_code == 429 and "retry-after" in limited.headers


async def test_signed_out_visitors_see_sign_in_links_and_members_an_account_link(client):
    assert 'href="/account"' not in (await client.get("/")).text
    await sign_in(client, await make_user("dana"))
    assert '<a href="/account">Account</a>' in (await client.get("/")).text
    assert (await client.get("/account")).status_code == 200


async def test_the_account_page_asks_visitors_to_sign_in(client):
    response = await client.get("/account")
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=/account"
