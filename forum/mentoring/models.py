"""Mentor requests, mentorship spaces (private to their participants), goals, invitations."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class HelpSize(StrEnum):
    QUICK = "quick"
    FEW = "few"
    REGULAR = "regular"


HELP_LABELS = {
    HelpSize.QUICK: "A quick question or a single call",
    HelpSize.FEW: "A few conversations over a month or two",
    HelpSize.REGULAR: "Regular support over several months",
}


class MentorRequest(Model):
    id = fields.IntField(primary_key=True)
    requester: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="mentor_requests_sent", on_delete=fields.CASCADE
    )
    mentor: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="mentor_requests_received", on_delete=fields.CASCADE
    )
    organisation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Organisation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    goal = fields.CharField(max_length=200)
    context = fields.TextField()
    stage = fields.CharField(max_length=40, default="")
    help_size = fields.CharEnumField(HelpSize, max_length=16)
    status = fields.CharEnumField(RequestStatus, max_length=16, default=RequestStatus.PENDING)
    response_note = fields.TextField(default="")
    # User ids of other mentors the mentor suggested when declining.
    suggested: list[int] = fields.JSONField(default=list)  # type: ignore[assignment]
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mentor_requests"
        indexes = (
            ("status", "expires_at"), ("mentor_id", "status", "created_at"),
            ("requester_id", "created_at"),
        )

    @property
    def url(self) -> str:
        return f"/mentoring/requests/{self.id}"

    @property
    def help_label(self) -> str:
        return HELP_LABELS.get(self.help_size, "")  # type: ignore[call-overload]

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING


class SpaceStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class MentorshipSpace(Model):
    """A private place for one mentorship: messages, goals and playbooks.

    Nobody but its participants (SpaceMember) may see any of it.
    """

    id = fields.IntField(primary_key=True)
    request: fields.OneToOneNullableRelation = fields.OneToOneField(
        "forum.MentorRequest", related_name="space", null=True, on_delete=fields.SET_NULL
    )
    mentor: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="mentoring_spaces", on_delete=fields.CASCADE
    )
    organisation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Organisation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=200)
    status = fields.CharEnumField(SpaceStatus, max_length=16, default=SpaceStatus.ACTIVE)
    message_count = fields.IntField(default=0)
    last_message_number = fields.IntField(default=0)
    last_activity_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    achieved = fields.TextField(default="")
    achieved_html = fields.TextField(default="")

    class Meta:
        table = "mentorship_spaces"
        indexes = (("mentor_id", "status"),)

    @property
    def url(self) -> str:
        return f"/mentoring/spaces/{self.id}"

    @property
    def is_active(self) -> bool:
        return self.status == SpaceStatus.ACTIVE


class SpaceMember(Model):
    """One participant of a space: its mentor, or a mentee."""

    id = fields.IntField(primary_key=True)
    space: fields.ForeignKeyRelation[MentorshipSpace] = fields.ForeignKeyField(
        "forum.MentorshipSpace", related_name="members", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="space_memberships", on_delete=fields.CASCADE
    )
    is_mentor = fields.BooleanField(default=False)
    added_at = fields.DatetimeField()

    class Meta:
        table = "mentorship_space_members"
        unique_together = (("space", "user"),)
        indexes = (("user_id", "space_id"),)


class SpaceMessage(Model):
    id = fields.IntField(primary_key=True)
    space: fields.ForeignKeyRelation[MentorshipSpace] = fields.ForeignKeyField(
        "forum.MentorshipSpace", related_name="messages", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    number = fields.IntField()
    body_source = fields.TextField()
    body_html = fields.TextField()
    created_at = fields.DatetimeField()
    # A participant flags a message: moderators may then see that one message.
    flagged_at = fields.DatetimeField(null=True)
    flagged_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    flag_reason = fields.CharField(max_length=300, default="")

    class Meta:
        table = "mentorship_messages"
        unique_together = (("space", "number"),)
        indexes = (("flagged_at", "id"),)

    @property
    def url(self) -> str:
        return f"/mentoring/messages/{self.id}"


class GoalStatus(StrEnum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    DONE = "done"


GOAL_LABELS = {
    GoalStatus.NOT_STARTED: "Not started",
    GoalStatus.IN_PROGRESS: "In progress",
    GoalStatus.DONE: "Done",
}


class SpaceGoal(Model):
    id = fields.IntField(primary_key=True)
    space: fields.ForeignKeyRelation[MentorshipSpace] = fields.ForeignKeyField(
        "forum.MentorshipSpace", related_name="goals", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=200)
    status = fields.CharEnumField(GoalStatus, max_length=16, default=GoalStatus.NOT_STARTED)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "mentorship_goals"
        indexes = (("space_id", "id"),)

    @property
    def status_label(self) -> str:
        return GOAL_LABELS.get(self.status, "")  # type: ignore[call-overload]


class SpacePlaybook(Model):
    """A playbook a mentorship works through."""

    id = fields.IntField(primary_key=True)
    space: fields.ForeignKeyRelation[MentorshipSpace] = fields.ForeignKeyField(
        "forum.MentorshipSpace", related_name="playbooks", on_delete=fields.CASCADE
    )
    playbook: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.Playbook", related_name=False, on_delete=fields.CASCADE
    )
    added_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    added_at = fields.DatetimeField()

    class Meta:
        table = "mentorship_playbooks"
        unique_together = (("space", "playbook"),)


class InvitationKind(StrEnum):
    INVITED = "invited"  # the asker chose this mentor
    OFFERED = "offered"  # the question waited unanswered and was offered to them


class MentorInvitation(Model):
    """Ask a mentor: a mentor asked to answer a public question."""

    id = fields.IntField(primary_key=True)
    thread: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.Thread", related_name=False, on_delete=fields.CASCADE
    )
    mentor: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    invited_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharEnumField(InvitationKind, max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "mentor_invitations"
        unique_together = (("thread", "mentor"),)


class QuestionOffer(Model):
    """Marks a question the sweep has offered to mentors, so it is offered once."""

    id = fields.IntField(primary_key=True)
    thread: fields.OneToOneRelation = fields.OneToOneField(
        "forum.Thread", related_name=False, on_delete=fields.CASCADE
    )
    offered_at = fields.DatetimeField()
    mentor_count = fields.IntField(default=0)

    class Meta:
        table = "question_offers"
