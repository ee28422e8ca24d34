"""Playbooks: stage-by-stage guides, their revisions, suggestions, outcome reports and progress.

A playbook's current content lives on the playbook row (what every page reads);
each saved change also writes a full snapshot of that content as a numbered
revision, so history, comparison and restoring never depend on the head row.
Steps are JSON: `{"key", "title", "body", "body_html", "checklist": [str]}`, the
markdown rendered once on save; `key` stays with a step across edits so that
outcome reports and progress ticks keep pointing at it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from forum.playbooks.stages import STAGE_LABELS, Stage

# The fields a revision snapshots, restoring copies back and a suggestion proposes.
CONTENT_FIELDS = (
    "title", "summary", "body_source", "body_html", "stage", "topic_id", "tags", "steps",
    "resources",
)  # fmt: skip
# What a suggested edit may change: the classification (stage, topic, tags) stays the maintainers'.
SUGGESTED_FIELDS = ("title", "summary", "body_source", "body_html", "steps", "resources")


class Playbook(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    title = fields.CharField(max_length=200)
    summary = fields.TextField()
    # An optional introduction above the steps, in markdown; rendered once on save.
    body_source = fields.TextField(default="")
    body_html = fields.TextField(default="")
    stage = fields.CharEnumField(Stage, max_length=32)
    topic: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Topic", related_name="playbooks", null=True, on_delete=fields.SET_NULL
    )
    tags: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    steps: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    # [{"title", "url", "note"}]: links and templates, with what each is for.
    resources: list[dict[str, str]] = fields.JSONField(default=list)  # type: ignore[assignment]
    # The number of the revision the content above is; edits must start from it.
    revision_number = fields.IntField(default=1)
    review_by = fields.DateField()
    last_verified_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    last_verified_at = fields.DatetimeField(null=True)
    created_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="playbooks_created", on_delete=fields.RESTRICT
    )
    updated_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # The solved question this playbook was promoted from, if any.
    source_thread: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Thread", related_name="promoted_playbooks", null=True, on_delete=fields.SET_NULL
    )
    outcome_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    # Changed by content edits only (not by verifying), so the search document stays put.
    updated_at = fields.DatetimeField()

    class Meta:
        table = "playbooks"
        indexes = (
            ("stage", "updated_at"),
            ("topic_id", "updated_at"),
            ("updated_at", "id"),
            ("review_by", "id"),
        )

    def __str__(self) -> str:
        return self.title

    @property
    def url(self) -> str:
        return f"/playbooks/{self.slug}"

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(str(self.stage), str(self.stage))


class PlaybookMaintainer(Model):
    """A member who looks after a playbook: edits it, restores it, answers suggestions."""

    id = fields.IntField(primary_key=True)
    playbook: fields.ForeignKeyRelation[Playbook] = fields.ForeignKeyField(
        "forum.Playbook", related_name="maintainers", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="maintained_playbooks", on_delete=fields.CASCADE
    )
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "playbook_maintainers"
        unique_together = (("playbook", "user"),)
        indexes = (("user_id", "playbook_id"),)


class PlaybookRevision(Model):
    """One saved state of a playbook: who, when, why, and the whole content."""

    id = fields.IntField(primary_key=True)
    playbook: fields.ForeignKeyRelation[Playbook] = fields.ForeignKeyField(
        "forum.Playbook", related_name="revisions", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()
    change_note = fields.CharField(max_length=200)
    # Set when this revision brought back an older one.
    restored_from = fields.IntField(null=True)
    title = fields.CharField(max_length=200)
    summary = fields.TextField()
    body_source = fields.TextField(default="")
    body_html = fields.TextField(default="")
    stage = fields.CharEnumField(Stage, max_length=32)
    topic: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Topic", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    tags: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    steps: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    resources: list[dict[str, str]] = fields.JSONField(default=list)  # type: ignore[assignment]

    class Meta:
        table = "playbook_revisions"
        unique_together = (("playbook", "number"),)
        indexes = (("author_id", "created_at"),)


class SuggestionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class PlaybookSuggestion(Model):
    """A member's proposed edit, waiting for a maintainer to accept or decline it."""

    id = fields.IntField(primary_key=True)
    playbook: fields.ForeignKeyRelation[Playbook] = fields.ForeignKeyField(
        "forum.Playbook", related_name="suggestions", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    # The revision the suggestion was written against, to compare with.
    base_revision = fields.IntField()
    change_note = fields.CharField(max_length=200)
    title = fields.CharField(max_length=200)
    summary = fields.TextField()
    body_source = fields.TextField(default="")
    body_html = fields.TextField(default="")
    steps: list[dict[str, Any]] = fields.JSONField(default=list)  # type: ignore[assignment]
    resources: list[dict[str, str]] = fields.JSONField(default=list)  # type: ignore[assignment]
    status = fields.CharEnumField(SuggestionStatus, max_length=16, default=SuggestionStatus.PENDING)
    decided_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    decision_reason = fields.TextField(default="")
    # The revision accepting it made.
    accepted_revision = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "playbook_suggestions"
        indexes = (("status", "created_at"), ("playbook_id", "status", "created_at"))


class Outcome(StrEnum):
    WORKED = "worked"
    PARTLY = "partly"
    DID_NOT_WORK = "did-not-work"


OUTCOME_LABELS = {
    Outcome.WORKED: "Worked for us",
    Outcome.PARTLY: "Partly worked",
    Outcome.DID_NOT_WORK: "Did not work for us",
}


class OutcomeReport(Model):
    """'Worked for us': what an organisation did with a playbook (or one step) and how it went."""

    id = fields.IntField(primary_key=True)
    playbook: fields.ForeignKeyRelation[Playbook] = fields.ForeignKeyField(
        "forum.Playbook", related_name="outcome_reports", on_delete=fields.CASCADE
    )
    # A step's key, or "" for the playbook as a whole.
    step_key = fields.CharField(max_length=16, default="")
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    organisation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Organisation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # The organisation's context when it happened (kept even if it moves on).
    sector = fields.CharField(max_length=80, default="")
    stage = fields.CharField(max_length=32, default="")
    what_we_did = fields.TextField()
    what_we_did_html = fields.TextField()
    outcome = fields.CharEnumField(Outcome, max_length=16)
    happened_on = fields.DateField(null=True)
    evidence_url = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "playbook_outcomes"
        indexes = (("playbook_id", "created_at"), ("author_id", "created_at"))

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, str(self.outcome))  # type: ignore[call-overload]


class ChecklistTick(Model):
    """One checklist item an organisation has done, ticked by one of its members."""

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.Organisation", related_name=False, on_delete=fields.CASCADE
    )
    playbook: fields.ForeignKeyRelation[Playbook] = fields.ForeignKeyField(
        "forum.Playbook", related_name="ticks", on_delete=fields.CASCADE
    )
    item_key = fields.CharField(max_length=40)
    ticked_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    ticked_at = fields.DatetimeField()

    class Meta:
        table = "playbook_ticks"
        unique_together = (("organisation", "playbook", "item_key"),)
        indexes = (("playbook_id", "organisation_id"),)
