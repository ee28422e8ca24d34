"""A notification: something happened that one member should know about.

Each row is one message to one recipient, with its kind and the object it is
about (`subject_type` and `subject_id`), a sentence and a link. The in-app list
reads them; an email sender can later pick rows whose `emailed_at` is empty,
choosing by `kind` which ones a member wants by email.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Kind(StrEnum):
    MENTOR_REQUEST = "mentor-request"
    REQUEST_ACCEPTED = "request-accepted"
    REQUEST_DECLINED = "request-declined"
    REQUEST_WITHDRAWN = "request-withdrawn"
    REQUEST_EXPIRED = "request-expired"
    SPACE_MESSAGE = "space-message"
    MENTORSHIP_CLOSED = "mentorship-closed"
    MENTOR_INVITED = "mentor-invited"
    QUESTION_OFFERED = "question-offered"
    MENTOR_APPLICATION = "mentor-application"
    APPLICATION_DECIDED = "application-decided"
    MESSAGE_FLAGGED = "message-flagged"


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    recipient: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(Kind, max_length=32)
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # What it is about, e.g. ("mentor_request", 12): lets a later change find or retract it.
    subject_type = fields.CharField(max_length=32)
    subject_id = fields.IntField()
    text = fields.CharField(max_length=300)
    url = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    emailed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("recipient_id", "read_at"), ("recipient_id", "created_at"))
