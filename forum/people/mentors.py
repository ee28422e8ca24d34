"""Mentor applications, approval and mentor settings: values in, a profile or a domain error out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from forum.accounts.models import Role, User
from forum.db import write_transaction
from forum.errors import Conflict, NotAllowed, NotFound, SignInRequired, ValidationFailed
from forum.notifications.models import Kind
from forum.notifications.services import notify
from forum.people.models import SECTORS, MentorProfile, MentorStatus, ResponseTime
from forum.playbooks.stages import STAGE_LABELS
from forum.threads.models import Topic
from forum.threads.services import TAG_RE

MAX_EXPERTISE = 8
BACKGROUND_MIN, BACKGROUND_MAX = 20, 5000
CAPACITY_MAX = 20


@dataclass
class MentorInput:
    """What a mentor says about themselves, as typed into the form."""

    expertise: str = ""
    sectors: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    background: str = ""


@dataclass
class SettingsInput:
    capacity: str = "3"
    is_open: bool = True
    response_time: str = ResponseTime.FEW_DAYS.value


def require_user(actor: User | None) -> User:
    if actor is None:
        raise SignInRequired("Please sign in to do that.")
    return actor


def parse_expertise(raw: str, errors: dict[str, str]) -> list[str]:
    """Expertise tags from a comma- or space-separated string: lowercase, hyphenated, at most 8."""
    tags: list[str] = []
    for item in re.split(r"[,\s]+", raw):
        tag = item.strip().lower().lstrip("#")
        if tag and tag not in tags:
            tags.append(tag)
    if not tags:
        errors["expertise"] = "Name at least one thing you can help with, e.g. lgps or tupe."
    elif len(tags) > MAX_EXPERTISE:
        errors["expertise"] = f"Use at most {MAX_EXPERTISE} tags."
    elif bad := [t for t in tags if not TAG_RE.match(t)]:
        errors["expertise"] = f"Tags use lowercase letters, digits and hyphens: {bad[0]!r} doesn't."
    return tags


async def _check_profile(values: MentorInput, errors: dict[str, str]) -> dict:
    expertise = parse_expertise(values.expertise, errors)
    sectors = [s for s in dict.fromkeys(values.sectors) if s]
    if not sectors:
        errors["sectors"] = "Choose at least one sector you know."
    elif any(s not in SECTORS for s in sectors):
        errors["sectors"] = "Choose sectors from the list."
    stages = [s for s in dict.fromkeys(values.stages) if s]
    if any(s not in STAGE_LABELS for s in stages):
        errors["stages"] = "Choose stages from the list."
    topics = [t for t in dict.fromkeys(values.topics) if t]
    if topics:
        known = set(await Topic.filter(slug__in=topics).values_list("slug", flat=True))
        if set(topics) - known:
            errors["topics"] = "Choose topics from the list."
    background = values.background.strip()
    if len(background) < BACKGROUND_MIN:
        errors["background"] = "Say in a few sentences what you have done that others can learn from."
    elif len(background) > BACKGROUND_MAX:
        errors["background"] = f"Keep it under {BACKGROUND_MAX:,} characters."
    return {"expertise": expertise, "sectors": sectors, "stages": stages, "topics": topics,
            "background": background}


async def apply_to_mentor(*, actor: User | None, values: MentorInput, now: datetime) -> MentorProfile:
    """A member applies to be a mentor; administrators are told."""
    actor = require_user(actor)
    errors: dict[str, str] = {}
    fields = await _check_profile(values, errors)
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        profile = await MentorProfile.filter(user_id=actor.id).select_for_update().first()
        if profile is not None and profile.status != MentorStatus.DECLINED:
            raise Conflict("You have already applied to be a mentor.")
        if profile is None:
            profile = await MentorProfile.create(user_id=actor.id, applied_at=now, **fields)
        else:
            # A declined applicant may apply again with a new story.
            await MentorProfile.filter(id=profile.id).update(
                status=MentorStatus.PENDING, applied_at=now, decided_at=None, decided_by_id=None,
                decision_note="", **fields,
            )
            await profile.refresh_from_db()
        admins = await User.filter(role=Role.ADMIN, is_active=True).values_list("id", flat=True)
        await notify(
            admins, kind=Kind.MENTOR_APPLICATION, subject=("mentor_profile", profile.id),
            text=f"{actor.display_name} applied to be a mentor.", url="/mentors/applications",
            when=now, actor=actor,
        )
    return profile


async def decide_application(
    *, actor: User | None, profile_id: int, approve: bool, note: str, now: datetime
) -> MentorProfile:
    """An administrator approves (the member becomes a mentor) or declines an application."""
    actor = require_user(actor)
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only administrators decide mentor applications.")
    note = note.strip()
    if len(note) > 1000:
        raise ValidationFailed({"note": "Keep the note under 1,000 characters."})
    async with write_transaction():
        profile = await MentorProfile.filter(id=profile_id).select_for_update().first()
        if profile is None:
            raise NotFound("That application doesn't exist.")
        if profile.status != MentorStatus.PENDING:
            raise Conflict("That application has already been decided.")
        profile.status = MentorStatus.APPROVED if approve else MentorStatus.DECLINED
        profile.decided_at, profile.decided_by_id, profile.decision_note = now, actor.id, note  # type: ignore[attr-defined]
        await profile.save(update_fields=["status", "decided_at", "decided_by_id", "decision_note"])
        applicant = await User.get(id=profile.user_id)  # type: ignore[attr-defined]
        if approve and applicant.role == Role.MEMBER:
            # Moderators and admins keep their role; their profile alone lists them.
            await User.filter(id=applicant.id).update(role=Role.MENTOR)
        text = ("Your mentor application was approved: you now appear in the mentor directory."
                if approve else "Your mentor application was not approved this time.")
        await notify(
            [applicant.id], kind=Kind.APPLICATION_DECIDED, subject=("mentor_profile", profile.id),
            text=text, url="/mentors/settings" if approve else "/mentors/apply", when=now,
            actor=actor,
        )
    return profile


async def update_mentor(
    *, actor: User | None, values: MentorInput, settings: SettingsInput
) -> MentorProfile:
    """An approved mentor changes what they offer and how much: capacity, open or paused."""
    actor = require_user(actor)
    errors: dict[str, str] = {}
    fields = await _check_profile(values, errors)
    try:
        capacity = int(settings.capacity)
    except ValueError:
        capacity = -1
    if not 1 <= capacity <= CAPACITY_MAX:
        errors["capacity"] = f"Give a number from 1 to {CAPACITY_MAX}; pause instead of 0."
    if settings.response_time not in {r.value for r in ResponseTime}:
        errors["response_time"] = "Choose how quickly you usually reply."
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        profile = await MentorProfile.filter(user_id=actor.id).select_for_update().first()
        if profile is None or not profile.is_approved:
            raise NotAllowed("Only approved mentors have mentor settings.")
        await MentorProfile.filter(id=profile.id).update(
            capacity=capacity, is_open=settings.is_open, response_time=settings.response_time,
            **fields,
        )
        await profile.refresh_from_db()
    return profile
