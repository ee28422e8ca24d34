"""Private mentorship spaces: messages, goals, playbooks, colleagues, closing, flags.

Every function checks that the actor takes part in the space; to anyone else the
space does not exist (NotFound), whatever their role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F

from forum.accounts.models import Role, User
from forum.content.markdown import render_markdown
from forum.db import write_transaction
from forum.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from forum.http.ratelimit import RateLimiter
from forum.mentoring.documents import message_doc_id
from forum.mentoring.models import (
    GoalStatus,
    MentorshipSpace,
    SpaceGoal,
    SpaceMember,
    SpaceMessage,
    SpacePlaybook,
    SpaceStatus,
)
from forum.notifications.models import Kind
from forum.notifications.services import notify
from forum.people.mentors import require_user
from forum.people.models import MentorProfile
from forum.playbooks.models import OutcomeReport, Playbook
from forum.playbooks.practice import OutcomeInput, report_outcome
from forum.threads.services import BODY_MAX, BODY_MIN, throttle
from search_index import outbox

GOAL_MIN, GOAL_MAX = 3, 200
ACHIEVED_MIN, ACHIEVED_MAX = 10, 2000
REASON_MAX = 300
MAX_GOALS = 30


async def participant_ids(space_id: int) -> list[int]:
    return list(await SpaceMember.filter(space_id=space_id).values_list("user_id", flat=True))


async def is_participant(user: User | None, space_id: int) -> bool:
    return user is not None and await SpaceMember.filter(space_id=space_id, user_id=user.id).exists()


async def _space_for(actor: User, space_id: int, *, lock: bool = False, active: bool = False) -> MentorshipSpace:
    """The space, if `actor` takes part in it; otherwise it does not exist for them."""
    if not await is_participant(actor, space_id):
        raise NotFound("That page doesn't exist.")
    query = MentorshipSpace.filter(id=space_id)
    space = await (query.select_for_update() if lock else query).first()
    if space is None:
        raise NotFound("That page doesn't exist.")
    if active and not space.is_active:
        raise Conflict("This mentorship is closed.")
    return space


async def post_message(
    *, actor: User | None, space_id: int, body: str, now: datetime,
    limiter: RateLimiter | None = None,
) -> SpaceMessage:
    """Add a message to the space's conversation; the other participants are told."""
    actor = require_user(actor)
    body = body.strip()
    if len(body) < BODY_MIN:
        raise ValidationFailed({"body": "Write a little more: the message is empty."})
    if len(body) > BODY_MAX:
        raise ValidationFailed({"body": f"Keep it under {BODY_MAX:,} characters."})
    html = render_markdown(body)
    async with write_transaction():
        space = await _space_for(actor, space_id, lock=True, active=True)
        throttle(limiter, actor)
        number = space.last_message_number + 1
        message = await SpaceMessage.create(
            space=space, author=actor, number=number, body_source=body, body_html=html,
            created_at=now,
        )
        await MentorshipSpace.filter(id=space.id).update(
            last_message_number=number, message_count=F("message_count") + 1,
            last_activity_at=now,
        )
        await outbox.enqueue([message_doc_id(message.id)])
        await notify(
            await participant_ids(space.id), kind=Kind.SPACE_MESSAGE,
            subject=("mentorship_space", space.id),
            text=f"{actor.display_name} wrote in your mentorship “{space.title}”.",
            url=f"{space.url}#m-{number}", when=now, actor=actor,
        )
    return message


def _goal_title(title: str) -> str:
    title = " ".join(title.split())
    if not GOAL_MIN <= len(title) <= GOAL_MAX:
        raise ValidationFailed({"goal": f"Give the goal in {GOAL_MIN} to {GOAL_MAX} characters."})
    return title


async def add_goal(*, actor: User | None, space_id: int, title: str, now: datetime) -> SpaceGoal:
    """Add a goal to the space's shared list."""
    actor = require_user(actor)
    title = _goal_title(title)
    async with write_transaction():
        space = await _space_for(actor, space_id, lock=True, active=True)
        if await SpaceGoal.filter(space_id=space.id).count() >= MAX_GOALS:
            raise ValidationFailed({"goal": f"A mentorship keeps at most {MAX_GOALS} goals."})
        return await SpaceGoal.create(
            space=space, title=title, created_by=actor, created_at=now, updated_at=now
        )


async def set_goal_status(
    *, actor: User | None, space_id: int, goal_id: int, status: str, now: datetime
) -> SpaceGoal:
    """Move a goal to not started, in progress or done."""
    actor = require_user(actor)
    if status not in {s.value for s in GoalStatus}:
        raise ValidationFailed({"status": "Choose not started, in progress or done."})
    async with write_transaction():
        space = await _space_for(actor, space_id, active=True)
        goal = await SpaceGoal.get_or_none(id=goal_id, space_id=space.id)
        if goal is None:
            raise NotFound("That goal doesn't exist.")
        goal.status, goal.updated_at = GoalStatus(status), now
        await goal.save(update_fields=["status", "updated_at"])
    return goal


async def add_playbook(
    *, actor: User | None, space_id: int, playbook_slug: str, now: datetime
) -> SpacePlaybook:
    """Link a playbook the mentorship will work through."""
    actor = require_user(actor)
    playbook = await Playbook.get_or_none(slug=playbook_slug.strip())
    if playbook is None:
        raise ValidationFailed({"playbook": "Choose a playbook from the list."})
    async with write_transaction():
        space = await _space_for(actor, space_id, active=True)
        link = await SpacePlaybook.get_or_none(space_id=space.id, playbook_id=playbook.id)
        if link is None:
            link = await SpacePlaybook.create(
                space=space, playbook=playbook, added_by=actor, added_at=now
            )
    return link


async def add_colleague(*, actor: User | None, space_id: int, username: str, now: datetime) -> User:
    """A mentee brings in a colleague from the same organisation."""
    actor = require_user(actor)
    async with write_transaction():
        space = await _space_for(actor, space_id, active=True)
        colleague = await User.get_or_none(username_key=username.strip().lower(), is_active=True)
        organisation_id = space.organisation_id  # type: ignore[attr-defined]
        if (colleague is None or organisation_id is None
                or colleague.organisation_id != organisation_id):  # type: ignore[attr-defined]
            raise ValidationFailed({"username": "Give the username of a colleague in your organisation."})
        if await SpaceMember.filter(space_id=space.id, user_id=colleague.id).exists():
            raise ValidationFailed({"username": f"{colleague.display_name} already takes part."})
        await SpaceMember.create(space=space, user=colleague, is_mentor=False, added_at=now)
        await notify(
            [colleague.id], kind=Kind.SPACE_MESSAGE, subject=("mentorship_space", space.id),
            text=f"{actor.display_name} added you to the mentorship “{space.title}”.",
            url=space.url, when=now, actor=actor,
        )
    return colleague


async def close_space(*, actor: User | None, space_id: int, achieved: str, now: datetime) -> MentorshipSpace:
    """Either side closes the mentorship with a short note of what it achieved."""
    actor = require_user(actor)
    achieved = achieved.strip()
    if not ACHIEVED_MIN <= len(achieved) <= ACHIEVED_MAX:
        raise ValidationFailed(
            {"achieved": f"Say what you achieved together in {ACHIEVED_MIN} to {ACHIEVED_MAX:,} characters."}
        )
    async with write_transaction():
        space = await _space_for(actor, space_id, lock=True, active=True)
        space.status, space.closed_at, space.closed_by = SpaceStatus.CLOSED, now, actor  # type: ignore[assignment]
        space.achieved, space.achieved_html = achieved, render_markdown(achieved)
        await space.save(update_fields=["status", "closed_at", "closed_by_id", "achieved", "achieved_html"])
        await MentorProfile.filter(user_id=space.mentor_id).update(  # type: ignore[attr-defined]
            active_mentorships=F("active_mentorships") - 1
        )
        await notify(
            await participant_ids(space.id), kind=Kind.MENTORSHIP_CLOSED,
            subject=("mentorship_space", space.id),
            text=f"{actor.display_name} closed the mentorship “{space.title}”.", url=space.url,
            when=now, actor=actor,
        )
    return space


@dataclass
class PublishInput:
    playbook: str = ""
    outcome: str = ""
    what_we_did: str = ""
    happened_on: str = ""


async def publish_outcome(*, actor: User | None, space_id: int, values: PublishInput) -> OutcomeReport:
    """A mentee publishes (part of) what a closed mentorship achieved as an outcome report."""
    actor = require_user(actor)
    space = await _space_for(actor, space_id)
    if space.is_active:
        raise Conflict("Close the mentorship before publishing what it achieved.")
    if space.mentor_id == actor.id:  # type: ignore[attr-defined]
        raise NotAllowed("The mentee publishes the outcome: it is their organisation's story.")
    playbook = await Playbook.get_or_none(slug=values.playbook.strip())
    if playbook is None:
        raise ValidationFailed({"playbook": "Choose the playbook this outcome is about."})
    return await report_outcome(actor=actor, playbook_id=playbook.id, values=OutcomeInput(
        outcome=values.outcome, what_we_did=values.what_we_did, happened_on=values.happened_on,
    ))


async def message_for(viewer: User | None, message_id: int) -> SpaceMessage:
    """One message, for a participant of its space, or a moderator once it is flagged."""
    message = await SpaceMessage.get_or_none(id=message_id).select_related("space", "author")
    if message is None or viewer is None:
        raise NotFound("That page doesn't exist.")
    if await is_participant(viewer, message.space_id):  # type: ignore[attr-defined]
        return message
    if viewer.is_moderator and message.flagged_at is not None:
        return message
    raise NotFound("That page doesn't exist.")


async def flag_message(*, actor: User | None, message_id: int, reason: str, now: datetime) -> SpaceMessage:
    """A participant flags a message: moderators may then read that one message."""
    actor = require_user(actor)
    reason = " ".join(reason.split())
    if not 3 <= len(reason) <= REASON_MAX:
        raise ValidationFailed({"reason": f"Say in a few words what is wrong (up to {REASON_MAX} characters)."})
    async with write_transaction():
        message = await SpaceMessage.get_or_none(id=message_id)
        if message is None or not await is_participant(actor, message.space_id):  # type: ignore[attr-defined]
            raise NotFound("That page doesn't exist.")
        if message.flagged_at is None:
            message.flagged_at, message.flagged_by, message.flag_reason = now, actor, reason  # type: ignore[assignment]
            await message.save(update_fields=["flagged_at", "flagged_by_id", "flag_reason"])
            moderators = await User.filter(
                role__in=[Role.MODERATOR, Role.ADMIN], is_active=True
            ).values_list("id", flat=True)
            await notify(
                moderators, kind=Kind.MESSAGE_FLAGGED, subject=("mentorship_message", message.id),
                text="A message in a private mentorship was flagged for review.",
                url=message.url, when=now, actor=actor,
            )
    return message
