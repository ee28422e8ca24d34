"""Organisations (the public service mutuals members belong to) and mentor profiles."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

SECTORS = (
    "Adult social care", "Community health", "Youth services", "Children's services",
    "School support services", "Leisure and culture", "Libraries", "Housing and homelessness",
    "Environmental services", "Public health",
)
STAFF_SIZES = ("1-49", "50-249", "250-999", "1000+")
OWNERSHIP_MODELS = (
    "Employee-owned (shares held by staff)", "Employee ownership trust",
    "Co-operative (staff members)", "Multi-stakeholder co-operative",
    "Community benefit society", "Company limited by guarantee with staff membership",
)


class Organisation(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name = fields.CharField(max_length=160)
    sector = fields.CharField(max_length=80, default="")
    stage = fields.CharField(max_length=40, default="")
    parent_body = fields.CharField(max_length=160, default="")
    spin_out_date = fields.DateField(null=True)
    legal_form = fields.CharField(max_length=80, default="")
    ownership_model = fields.CharField(max_length=80, default="", db_default="")
    staff_size = fields.CharField(max_length=16, default="", db_default="")
    website = fields.CharField(max_length=255, default="")
    description = fields.TextField(default="")
    # Commercially sensitive: shown only to the organisation's members and its mentors.
    contract_renewal_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organisations"

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"/orgs/{self.slug}"


class MentorStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class ResponseTime(StrEnum):
    DAY = "day"
    FEW_DAYS = "few-days"
    WEEK = "week"


RESPONSE_TIME_LABELS = {
    ResponseTime.DAY: "usually within a day",
    ResponseTime.FEW_DAYS: "usually within two or three days",
    ResponseTime.WEEK: "usually within a week",
}


class MentorProfile(Model):
    """A member's application to mentor and, once approved, their mentoring settings."""

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation = fields.OneToOneField(
        "forum.User", related_name="mentor_profile", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(MentorStatus, max_length=16, default=MentorStatus.PENDING)
    expertise: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    sectors: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    stages: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    topics: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]  # topic slugs
    background = fields.TextField(default="")
    capacity = fields.IntField(default=3)
    is_open = fields.BooleanField(default=True)
    response_time = fields.CharEnumField(ResponseTime, max_length=16, default=ResponseTime.FEW_DAYS)
    # Kept in the same transaction as the mentorship spaces that open and close.
    active_mentorships = fields.IntField(default=0)
    applied_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decision_note = fields.TextField(default="")

    class Meta:
        table = "mentor_profiles"
        indexes = (("status", "applied_at"),)

    @property
    def is_approved(self) -> bool:
        return self.status == MentorStatus.APPROVED

    @property
    def has_room(self) -> bool:
        return self.active_mentorships < self.capacity

    @property
    def is_available(self) -> bool:
        """Approved, open and below capacity: can be sent a request."""
        return self.is_approved and self.is_open and self.has_room

    @property
    def availability_label(self) -> str:
        if not self.is_open:
            return "Paused: not taking requests"
        if not self.has_room:
            return "Full: at capacity"
        places = self.capacity - self.active_mentorships
        return f"Open: {places} place{'s' if places != 1 else ''} free"

    @property
    def response_time_label(self) -> str:
        return RESPONSE_TIME_LABELS.get(self.response_time, "")  # type: ignore[call-overload]
