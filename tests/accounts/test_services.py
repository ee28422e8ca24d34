"""Account services: registration, authentication and its throttle, administrators."""

from __future__ import annotations

import pytest

from forum.accounts import services
from forum.accounts.models import Role, User
from forum.accounts.throttle import LoginThrottle
from forum.errors import RateLimited, ValidationFailed
from forum.http.ratelimit import RateLimiter
from tests.factories import PASSWORD, make_user

GOOD = {
    "username": "jo_smith",
    "display_name": "Jo Smith",
    "email": "jo.smith@council.gov.uk",
    "password": "rivers and lighthouses",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_throttle(*, per_account: int = 3, per_address: int = 10, clock=None) -> LoginThrottle:
    clock = clock or FakeClock()
    return LoginThrottle(
        per_account=RateLimiter(per_account, 300, clock=clock),
        per_address=RateLimiter(per_address, 300, clock=clock),
    )


async def register_errors(**changes: str) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        await services.register(**{**GOOD, **changes})
    return caught.value.errors


async def authenticate(login: str, password: str = PASSWORD, *, address: str = "10.0.0.1",
                       throttle: LoginThrottle | None = None) -> User:
    return await services.authenticate(
        login=login, password=password, address=address, throttle=throttle or make_throttle()
    )


# Registration


async def test_register_creates_a_member_with_a_normalised_identity(db):
    user = await services.register(**{**GOOD, "email": "  Jo.Smith@Council.GOV.uk "})
    stored = await User.get(id=user.id)
    assert (stored.username, stored.username_key) == ("jo_smith", "jo_smith")
    assert stored.email == "jo.smith@council.gov.uk"
    assert stored.role == Role.MEMBER
    assert stored.is_active


async def test_register_hashes_the_password_with_argon2(db):
    user = await services.register(**GOOD)
    stored = await User.get(id=user.id)
    assert stored.password_hash.startswith("$argon2")
    assert GOOD["password"] not in stored.password_hash


@pytest.mark.parametrize("username", ["jo", "a" * 31, "jo smith", "jo@home", "<b>jo</b>", ""])
async def test_register_refuses_a_badly_formed_username(db, username):
    errors = await register_errors(username=username)
    assert errors["username"] == "Use 3 to 30 letters, digits, hyphens or underscores."
    assert await User.all().count() == 0


@pytest.mark.parametrize("username", ["admin", "Moderator", "SYSTEM", "support"])
async def test_register_refuses_a_reserved_username_whatever_its_case(db, username):
    errors = await register_errors(username=username)
    assert errors == {"username": "That username is reserved. Please choose another."}
    assert await User.all().count() == 0


async def test_register_refuses_a_username_taken_in_another_case(db):
    await make_user("Jo_Smith")
    errors = await register_errors(username="jo_SMITH")
    assert errors == {"username": "That username is taken. Please choose another."}
    assert await User.all().count() == 1


@pytest.mark.parametrize("email", ["", "jo", "jo@", "@council.gov.uk", "jo@council", "jo smith@x.org",
                                   "a@b@c.org", "x" * 250 + "@x.org"])
async def test_register_refuses_a_badly_formed_email(db, email):
    errors = await register_errors(email=email)
    assert errors["email"] == "Enter an email address like name@council.gov.uk."
    assert await User.all().count() == 0


async def test_register_refuses_an_email_already_used_whatever_its_case(db):
    await make_user("someone", email="jo.smith@council.gov.uk")
    errors = await register_errors(email="JO.Smith@Council.gov.uk")
    assert errors == {"email": "An account already uses that email address. Try signing in."}
    assert await User.all().count() == 1


async def test_register_refuses_a_short_password(db):
    errors = await register_errors(password="short1")
    assert errors == {"password": "Use at least 10 characters."}
    assert await User.all().count() == 0


@pytest.mark.parametrize("password", ["password123", "Password1234", "aaaaaaaaaaaa", "abababababab"])
async def test_register_refuses_an_easily_guessed_password(db, password):
    errors = await register_errors(password=password)
    assert errors == {"password": "That password is too easy to guess."}
    assert await User.all().count() == 0


async def test_register_refuses_a_very_long_password(db):
    errors = await register_errors(password="correct horse " * 20)
    assert errors == {"password": "Use at most 256 characters."}


@pytest.mark.parametrize("password", ["my JO_SMITH password", "jo.smith is the best"])
async def test_register_refuses_a_password_containing_the_username_or_email(db, password):
    errors = await register_errors(password=password)
    assert errors == {"password": "Don't use your username or email address in your password."}
    assert await User.all().count() == 0


async def test_a_very_short_email_name_does_not_rule_out_ordinary_passwords(db):
    user = await services.register(**{**GOOD, "email": "jo@council.gov.uk",
                                      "password": "enjoy the journey"})
    assert user.email == "jo@council.gov.uk"


async def test_register_reports_every_bad_field_at_once(db):
    errors = await register_errors(username="x", display_name=" ", email="nope", password="short")
    assert set(errors) == {"username", "display_name", "email", "password"}
    assert errors["display_name"] == "Tell people what to call you."


# Authentication


async def test_authenticate_accepts_the_username_in_any_case(db):
    user = await make_user("Alice")
    assert (await authenticate("aLICE")).id == user.id
    assert (await authenticate("  alice ")).id == user.id


async def test_authenticate_accepts_the_email_in_any_case(db):
    user = await make_user("alice", email="alice@council.gov.uk")
    assert (await authenticate("Alice@Council.GOV.UK")).id == user.id


async def test_wrong_password_and_unknown_account_give_the_same_message(db):
    await make_user("alice")
    with pytest.raises(ValidationFailed) as wrong_password:
        await authenticate("alice", "not the password at all")
    with pytest.raises(ValidationFailed) as unknown:
        await authenticate("nobody-here")
    with pytest.raises(ValidationFailed) as unknown_email:
        await authenticate("nobody@example.org")
    assert wrong_password.value.errors == unknown.value.errors == unknown_email.value.errors
    assert wrong_password.value.errors == {"__all__": services.SIGN_IN_FAILED}


async def test_an_empty_login_is_refused_with_the_same_message(db):
    with pytest.raises(ValidationFailed) as caught:
        await authenticate("", "")
    assert caught.value.errors == {"__all__": services.SIGN_IN_FAILED}


async def test_an_account_without_a_password_cannot_sign_in(db):
    await make_user("imported")
    await User.filter(username_key="imported").update(password_hash="")
    with pytest.raises(ValidationFailed):
        await authenticate("imported", "")


async def test_an_account_with_an_unknown_kind_of_hash_is_refused_not_crashed(db):
    await make_user("imported")
    await User.filter(username_key="imported").update(password_hash="$2b$12$" + "a" * 53)
    with pytest.raises(ValidationFailed) as caught:
        await authenticate("imported")
    assert caught.value.errors == {"__all__": services.SIGN_IN_FAILED}


async def test_an_inactive_member_cannot_sign_in_even_with_the_right_password(db):
    await make_user("gone", is_active=False)
    with pytest.raises(ValidationFailed) as caught:
        await authenticate("gone")
    assert caught.value.errors == {"__all__": services.SIGN_IN_FAILED}


# Throttling


async def test_too_many_failures_lock_the_account_even_for_the_right_password(db):
    await make_user("alice")
    throttle = make_throttle(per_account=3)
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            await authenticate("alice", "wrong password!", throttle=throttle)
    with pytest.raises(RateLimited) as caught:
        await authenticate("alice", throttle=throttle)
    assert caught.value.retry_after > 0
    # From another address too: the limit belongs to the account.
    with pytest.raises(RateLimited):
        await authenticate("ALICE", address="10.9.9.9", throttle=throttle)


async def test_switching_between_username_and_email_does_not_get_more_guesses(db):
    await make_user("alice", email="alice@example.org")
    throttle = make_throttle(per_account=3)
    for login in ("alice", "alice@example.org", "Alice"):
        with pytest.raises(ValidationFailed):
            await authenticate(login, "wrong password!", throttle=throttle)
    with pytest.raises(RateLimited):
        await authenticate("alice@example.org", throttle=throttle)


async def test_the_account_lock_lifts_when_the_window_has_passed(db):
    await make_user("alice")
    clock = FakeClock()
    throttle = make_throttle(per_account=2, clock=clock)
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            await authenticate("alice", "wrong password!", throttle=throttle)
    with pytest.raises(RateLimited):
        await authenticate("alice", throttle=throttle)
    clock.now += 301
    assert (await authenticate("alice", throttle=throttle)).username == "alice"


async def test_too_many_failures_from_one_address_lock_it_across_accounts(db):
    await make_user("alice")
    throttle = make_throttle(per_account=100, per_address=4)
    for name in ("bob", "carol", "dave", "erin"):
        with pytest.raises(ValidationFailed):
            await authenticate(name, "guess guess guess", address="203.0.113.7", throttle=throttle)
    with pytest.raises(RateLimited):
        await authenticate("alice", address="203.0.113.7", throttle=throttle)
    # Another address is not affected.
    assert (await authenticate("alice", address="198.51.100.1", throttle=throttle)).username == "alice"


async def test_a_successful_sign_in_resets_the_account_counter(db):
    await make_user("alice")
    throttle = make_throttle(per_account=3, per_address=100)
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            await authenticate("alice", "wrong password!", throttle=throttle)
    await authenticate("alice", throttle=throttle)
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            await authenticate("alice", "wrong password!", throttle=throttle)
    # Two failures since the success: still allowed.
    assert (await authenticate("alice", throttle=throttle)).username == "alice"


# Administrators


async def test_create_admin_creates_an_administrator(db):
    user = await services.create_admin(
        username="admin", email="Admin@Example.org", password="rivers and lighthouses"
    )
    stored = await User.get(id=user.id)
    assert stored.role == Role.ADMIN
    assert stored.username == "admin"  # reserved names are allowed here
    assert stored.email == "admin@example.org"
    assert stored.password_hash.startswith("$argon2")
    assert (await authenticate("admin", "rivers and lighthouses")).id == user.id


async def test_create_admin_promotes_an_existing_member_whatever_the_case(db):
    member = await make_user("Alice")
    user = await services.create_admin(
        username="alice", email="other@example.org", password="rivers and lighthouses"
    )
    assert user.id == member.id
    stored = await User.get(id=member.id)
    assert stored.role == Role.ADMIN
    assert stored.email == "alice@example.org"
    assert await User.all().count() == 1


async def test_create_admin_validates_a_new_account(db):
    with pytest.raises(ValidationFailed) as caught:
        await services.create_admin(username="root", email="root@example.org", password="short")
    assert "password" in caught.value.errors
    assert await User.all().count() == 0


async def test_a_taken_username_is_reported_together_with_a_weak_password(db):
    from tests.factories import make_user

    await make_user("dana")
    with pytest.raises(ValidationFailed) as caught:
        await services.register(
            username="Dana", display_name="Dana", email="new@example.org", password="short"
        )
    assert set(caught.value.errors) == {"username", "password"}
