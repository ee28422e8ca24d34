"""Member accounts and their server-side sessions."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    MEMBER = "member"
    MENTOR = "mentor"
    MODERATOR = "moderator"
    ADMIN = "admin"


class User(Model):
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
    is_organisation_admin = fields.BooleanField(default=False)
    region = fields.CharField(max_length=80, default="")
    is_active = fields.BooleanField(default=True)
    thread_count = fields.IntField(default=0)
    reply_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return self.username

    @property
    def url(self) -> str:
        return f"/u/{self.username_key}"

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_mentor(self) -> bool:
        return self.role == Role.MENTOR


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
