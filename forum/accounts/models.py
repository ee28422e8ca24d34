"""Member accounts and their server-side sessions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    MEMBER = "member"
    MENTOR = "mentor"
    MODERATOR = "moderator"
    ADMIN = "admin"


class RoleChecks:
    """What a role allows, for anything with a `role`: a member, or a stand-in for many."""

    role: str

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_mentor(self) -> bool:
        return self.role == Role.MENTOR


class User(RoleChecks, Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=30)
    # Usernames are unique regardless of case: lookups go through this key.
    username_key = fields.CharField(max_length=30, unique=True)
    display_name = fields.CharField(max_length=60)
    email = fields.CharField(max_length=254, unique=True)
    # Empty when the account was imported without a password: it can only
    # sign in after a password reset.
    password_hash = fields.CharField(max_length=255, default="")
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    bio = fields.TextField(default="")
    organisation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Organisation", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    # An organisation admin edits their organisation's page.
    is_organisation_admin = fields.BooleanField(default=False, db_default=False)
    region = fields.CharField(max_length=80, default="", db_default="")
    is_active = fields.BooleanField(default=True)
    thread_count = fields.IntField(default=0)
    reply_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Identity (sign-in, verification, approval, deletion).
    email_verified_at = fields.DatetimeField(null=True)
    # Not empty while the account waits for an administrator's approval: says why.
    held_reason = fields.CharField(max_length=200, default="", db_default="")
    # Set when the member deleted their account: the row stays, anonymised, so
    # that the posts they chose to keep still have an author.
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return self.username

    @property
    def url(self) -> str:
        return f"/u/{self.username_key}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_held(self) -> bool:
        return bool(self.held_reason)


class Session(Model):
    """A signed-in browser. The cookie holds only `key`, so sessions can be revoked."""

    key = fields.CharField(max_length=64, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now_add=True)
    ip_address = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=255, default="")

    class Meta:
        table = "sessions"
        indexes = (("user_id", "created_at"),)


class Identity(Model):
    """An account at an OpenID Connect or OAuth 2 provider that signs a member in."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="identities", on_delete=fields.CASCADE
    )
    # The provider's slug from OIDC_PROVIDERS, and its stable id for the person (`sub`).
    provider = fields.CharField(max_length=40)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user_identities"
        unique_together = (("provider", "subject"),)
        indexes = (("user_id", "provider"),)


class Invitation(Model):
    """A link that lets people join, whatever the registration policy."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "forum.User", related_name="invitations", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    organisation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Organisation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    note = fields.CharField(max_length=200, default="")
    max_uses = fields.IntField(default=1)
    use_count = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invitations"
        indexes = (("created_by_id", "created_at"),)

    @property
    def url(self) -> str:
        return f"/invite/{self.code}"


class SiteSetting(Model):
    """A setting administrators change in the app (e.g. the registration policy)."""

    key = fields.CharField(max_length=64, primary_key=True)
    value: Any = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "site_settings"
