"""Members and their provider identities: sign in, link on first use, onboard."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.timezone import now

from forum.accounts import invitations
from forum.accounts.models import Identity, Role, User
from forum.accounts.oidc import ProviderProfile, SignInFailed
from forum.accounts.policy import Policy, domain_allowed
from forum.accounts.providers import Provider
from forum.accounts.services import (
    check_identity_fields,
    admission_hold,
    usable_invitation_or_error,
)
from forum.db import write_transaction
from forum.errors import Conflict, NotFound, ValidationFailed
from forum.people.models import Organisation


def check_provider_domain(provider: Provider, profile: ProviderProfile) -> None:
    """Refuse an address outside the provider's allowed domains (when it has any)."""
    if not profile.email:
        raise SignInFailed(f"{provider.name} didn't tell us your email address, so we can't sign you in.")
    if provider.domains and not domain_allowed(profile.email, provider.domains):
        raise SignInFailed(
            f"Signing in with {provider.name} is for addresses at {', '.join(provider.domains)}. "
            "Please sign in another way."
        )


async def user_for_profile(profile: ProviderProfile) -> User | None:
    """The member this provider identity signs in: already linked, or linked now when
    the provider and the member have both verified the same address; else None."""
    identity = await Identity.get_or_none(
        provider=profile.provider, subject=profile.subject
    ).select_related("user")
    if identity is not None:
        user = identity.user
        if not user.is_active or user.deleted_at is not None:
            raise SignInFailed("That account can't sign in.")
        await Identity.filter(id=identity.id).update(last_used_at=now(), email=profile.email[:254])
        return user
    if not profile.email_verified or not profile.email:
        return None
    user = await User.get_or_none(email=profile.email, is_active=True, deleted_at=None)
    if user is None or user.email_verified_at is None:
        return None
    await link_identity(user=user, profile=profile)
    return user


async def link_identity(*, user: User, profile: ProviderProfile) -> Identity:
    """Link a provider identity to `user` (Conflict if another member has it)."""
    try:
        async with write_transaction():
            existing = await Identity.get_or_none(provider=profile.provider, subject=profile.subject)
            if existing is not None:
                if existing.user_id != user.id:  # type: ignore[attr-defined]
                    raise Conflict("That account is already linked to another member of the network.")
                return existing
            return await Identity.create(
                user=user, provider=profile.provider, subject=profile.subject,
                email=profile.email[:254], last_used_at=now(),
            )
    except IntegrityError:
        raise Conflict("That account is already linked to another member of the network.") from None


async def create_from_profile(
    *, profile: ProviderProfile, username: str, display_name: str, organisation_id: str,
    policy: Policy, invitation_code: str = "",
) -> User:
    """The onboarding step: a new account signed in by this provider identity."""
    username, display_name = username.strip(), display_name.strip()
    invitation = await usable_invitation_or_error(invitation_code)
    hold = admission_hold(policy, profile.email, invitation, email_verified=profile.email_verified)
    errors = check_identity_fields(username, display_name, profile.email)
    errors.pop("email", None)  # the provider's, not typed here
    if "username" not in errors and await User.filter(username_key=username.lower()).exists():
        errors["username"] = "That username is taken. Please choose another."
    organisation = None
    if organisation_id.strip():
        if organisation_id.strip().isdigit():
            organisation = await Organisation.get_or_none(id=int(organisation_id))
        if organisation is None:
            errors["organisation"] = "Choose an organisation from the list, or none."
    if await User.filter(email=profile.email).exists():
        errors["__all__"] = (
            "An account already uses this email address. Sign in with your password, then "
            "link this provider from your account page."
        )
    if errors:
        raise ValidationFailed(errors)
    try:
        async with write_transaction():
            if invitation is not None:
                invitation = await invitations.use_invitation(invitation.id)
                organisation = organisation or invitation.organisation
            user = await User.create(
                username=username, username_key=username.lower(), display_name=display_name,
                email=profile.email, password_hash="",
                role=invitation.role if invitation else Role.MEMBER, organisation=organisation,
                email_verified_at=now() if profile.email_verified else None, held_reason=hold,
            )
            await Identity.create(
                user=user, provider=profile.provider, subject=profile.subject,
                email=profile.email[:254], last_used_at=now(),
            )
    except NotFound as exc:
        raise ValidationFailed({"__all__": exc.message}) from None
    except IntegrityError:
        raise ValidationFailed({"username": "That username or account is already taken."}) from None
    return user
