"""Identity rows and form data for the CSRF tests (tests/http/test_csrf.py), which cover
every POST route in the URL table: these make each account route change something."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tortoise.timezone import now

from forum.accounts.account import session_handle
from forum.accounts.models import Identity, Invitation, Session, User
from forum.accounts.policy import HOLD_DOMAIN
from forum.accounts.recovery import reset_token, verification_token
from forum.accounts.tokens import LinkSigner
from tests.factories import PASSWORD, make_user

# A provider that needs no network to start signing in (GitHub's endpoints are fixed).
GITHUB = {"slug": "github", "preset": "github", "client_id": "csrf-id", "client_secret": "csrf-secret"}

IDENTITY_PATHS = {
    "/verify-email", "/password/reset", "/account/password", "/account/sessions/end",
    "/account/sessions/end-all", "/account/identities/{identity_id}/unlink", "/account/delete",
    "/admin/registration", "/admin/approvals/{user_id}", "/invitations",
    "/invitations/{invitation_id}/revoke",
}


@dataclass
class IdentityScene:
    actor: User
    waiting: User
    identity: Identity
    invitation: Invitation
    other_session: str
    verify_token: str
    reset_token: str

    def path_values(self, path: str) -> dict[str, object]:
        return {
            "user_id": self.waiting.id, "invitation_id": self.invitation.id,
            "identity_id": self.identity.id, "provider": "github",
        }

    def forms(self) -> dict[str, dict[str, str]]:
        return {
            "/verify-email": {"token": self.verify_token},
            "/password/forgot": {"email": self.actor.email},
            "/password/reset": {"token": self.reset_token, "password": "a brand new lighthouse"},
            "/account/password": {"current_password": PASSWORD, "new_password": "a brand new lighthouse"},
            "/account/email": {"new_email": "moved@example.org", "email_password": PASSWORD},
            "/account/sessions/end": {"session": session_handle(self.other_session)},
            "/account/delete": {"posts": "keep", "confirm_username": self.actor.username, "password": PASSWORD},
            "/admin/registration": {"mode": "domains", "domains": "*.gov.uk\nnhs.net"},
            "/admin/approvals/{user_id}": {"decision": "approve"},
            "/invitations": {"uses": "3", "days": "7", "role": "mentor"},
        }


async def identity_scene(actor: User, signer: LinkSigner) -> IdentityScene:
    """Rows for every identity route; `actor` must be an administrator."""
    waiting = await make_user("waiting", held_reason=HOLD_DOMAIN, email="waiting@elsewhere.example")
    identity = await Identity.create(user=actor, provider="github", subject="12345", email=actor.email)
    invitation = await Invitation.create(
        code="csrf-invitation", created_by=actor, expires_at=now() + timedelta(days=3)
    )
    other = await Session.create(key="another-browser-session-key", user=actor)
    found = await reset_token(signer, actor.email)
    assert found is not None
    return IdentityScene(
        actor=actor, waiting=waiting, identity=identity, invitation=invitation,
        other_session=other.key, verify_token=verification_token(signer, actor),
        reset_token=found[1],
    )
