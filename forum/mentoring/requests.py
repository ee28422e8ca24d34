"""Mentor requests: send, accept (opening a private space), decline, withdraw, expire.

A request is pending until exactly one of those happens; every transition locks
the request row first, so two clicks (or a click and the sweep) cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F

from forum.accounts.models import User
from forum.content.markdown import render_markdown
from forum.db import write_transaction
from forum.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from forum.http.ratelimit import RateLimiter
from forum.mentoring.documents import message_doc_id
from forum.mentoring.models import (
    HelpSize,
    MentorRequest,
    MentorshipSpace,
    RequestStatus,
    SpaceMember,
    SpaceMessage,
    SpaceStatus,
)
from forum.notifications.models import Kind
from forum.notifications.services import notify
from forum.people.directory import organisation_context, suggest_mentors
from forum.people.mentors import require_user
from forum.people.models import MentorProfile, MentorStatus
from forum.playbooks.stages import STAGE_LABELS
from forum.threads.services import throttle
from search_index import outbox

DEFAULT_EXPIRY_DAYS = 7
GOAL_MIN, GOAL_MAX = 10, 200
CONTEXT_MIN, CONTEXT_MAX = 20, 5000
NOTE_MAX = 2000
MAX_SUGGESTIONS = 3

CLOSED_MESSAGES = {
    RequestStatus.ACCEPTED: "This request has already been accepted.",
    RequestStatus.DECLINED: "This request has already been declined.",
    RequestStatus.WITHDRAWN: "This request was withdrawn.",
    RequestStatus.EXPIRED: "This request has expired.",
}


@dataclass
class RequestInput:
    goal: str = ""
    context: str = ""
    stage: str = ""
    help_size: str = ""


def _check_request(values: RequestInput) -> dict:
    errors: dict[str, str] = {}
    goal = " ".join(values.goal.split())
    if len(goal) < GOAL_MIN:
        errors["goal"] = "Say in a sentence what you want to achieve."
    elif len(goal) > GOAL_MAX:
        errors["goal"] = f"Keep the goal under {GOAL_MAX} characters."
    context = values.context.strip()
    if len(context) < CONTEXT_MIN:
        errors["context"] = "Give the mentor some context: where you are and what you have tried."
    elif len(context) > CONTEXT_MAX:
        errors["context"] = f"Keep it under {CONTEXT_MAX:,} characters."
    if values.stage and values.stage not in STAGE_LABELS:
        errors["stage"] = "Choose a stage from the list."
    if values.help_size not in {h.value for h in HelpSize}:
        errors["help_size"] = "Choose how much help you are looking for."
    if errors:
        raise ValidationFailed(errors)
    return {"goal": goal, "context": context, "stage": values.stage, "help_size": values.help_size}


async def _mentor_profile(mentor_id: int, *, lock: bool) -> MentorProfile:
    query = MentorProfile.filter(user_id=mentor_id, status=MentorStatus.APPROVED, user__is_active=True)
    profile = await (query.select_for_update() if lock else query).first()
    if profile is None:
        raise NotFound("There is no mentor with that name.")
    return profile


async def send_request(
    *, actor: User | None, mentor_id: int, values: RequestInput, now: datetime,
    limiter: RateLimiter | None = None, expiry_days: int = DEFAULT_EXPIRY_DAYS,
) -> MentorRequest:
    """Ask a mentor for help. Refused when they are paused or at capacity."""
    actor = require_user(actor)
    fields = _check_request(values)
    if actor.id == mentor_id:
        raise ValidationFailed({"__all__": "You can't ask yourself for mentoring."})
    async with write_transaction():
        # Locked, so that a request and an acceptance filling the last place can't cross.
        profile = await _mentor_profile(mentor_id, lock=True)
        if not profile.is_open:
            raise Conflict("This mentor has paused new requests. Try another mentor.")
        if not profile.has_room:
            raise Conflict("This mentor is at capacity. Try another mentor.")
        if await MentorRequest.filter(
            requester_id=actor.id, mentor_id=mentor_id, status=RequestStatus.PENDING
        ).exists():
            raise Conflict("You already have a request waiting with this mentor.")
        if await SpaceMember.filter(
            user_id=actor.id, space__mentor_id=mentor_id, space__status=SpaceStatus.ACTIVE
        ).exists():
            raise Conflict("You already have an active mentorship with this mentor.")
        throttle(limiter, actor)
        request = await MentorRequest.create(
            requester_id=actor.id, mentor_id=mentor_id,
            organisation_id=actor.organisation_id,  # type: ignore[attr-defined]
            created_at=now, expires_at=now + timedelta(days=expiry_days), **fields,
        )
        await notify(
            [mentor_id], kind=Kind.MENTOR_REQUEST, subject=("mentor_request", request.id),
            text=f"{actor.display_name} asked you for mentoring: {request.goal}",
            url=request.url, when=now, actor=actor,
        )
    return request


async def _pending_request(request_id: int) -> MentorRequest:
    request = await MentorRequest.filter(id=request_id).select_for_update().first()
    if request is None:
        raise NotFound("That request doesn't exist.")
    return request


def _refuse_unless_pending(request: MentorRequest, now: datetime) -> None:
    if request.status != RequestStatus.PENDING:
        raise Conflict(CLOSED_MESSAGES[request.status])  # type: ignore[index]
    if request.expires_at <= now:
        raise Conflict(CLOSED_MESSAGES[RequestStatus.EXPIRED])


async def accept_request(*, actor: User | None, request_id: int, now: datetime) -> MentorshipSpace:
    """The mentor accepts: a private space opens for the mentor and the requester."""
    actor = require_user(actor)
    async with write_transaction():
        request = await _pending_request(request_id)
        if request.mentor_id != actor.id:  # type: ignore[attr-defined]
            raise NotFound("That request doesn't exist.")
        _refuse_unless_pending(request, now)
        profile = await _mentor_profile(actor.id, lock=True)
        if not profile.has_room:
            raise Conflict(
                "You are at capacity. Close a mentorship or raise your capacity in your "
                "mentor settings first."
            )
        requester_id = request.requester_id  # type: ignore[attr-defined]
        space = await MentorshipSpace.create(
            request=request, mentor_id=actor.id, organisation_id=request.organisation_id,  # type: ignore[attr-defined]
            title=request.goal, last_activity_at=now, created_at=now,
            message_count=1, last_message_number=1,
        )
        await SpaceMember.bulk_create([
            SpaceMember(space_id=space.id, user_id=actor.id, is_mentor=True, added_at=now),
            SpaceMember(space_id=space.id, user_id=requester_id, is_mentor=False, added_at=now),
        ])
        # The request opens the conversation, in the requester's words.
        opening = f"**{request.goal}**\n\n{request.context}"
        message = await SpaceMessage.create(
            space=space, author_id=requester_id, number=1, body_source=opening,
            body_html=render_markdown(opening), created_at=request.created_at,
        )
        await MentorProfile.filter(id=profile.id).update(
            active_mentorships=F("active_mentorships") + 1
        )
        request.status, request.decided_at = RequestStatus.ACCEPTED, now
        await request.save(update_fields=["status", "decided_at"])
        await outbox.enqueue([message_doc_id(message.id)])
        await notify(
            [requester_id], kind=Kind.REQUEST_ACCEPTED, subject=("mentorship_space", space.id),
            text=f"{actor.display_name} accepted your mentoring request: {request.goal}",
            url=space.url, when=now, actor=actor,
        )
    return space


async def decline_request(
    *, actor: User | None, request_id: int, note: str, suggested: list[int], now: datetime
) -> MentorRequest:
    """The mentor declines, with an optional note and other mentors to try."""
    actor = require_user(actor)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed({"note": f"Keep the note under {NOTE_MAX:,} characters."})
    suggested = list(dict.fromkeys(suggested))
    if len(suggested) > MAX_SUGGESTIONS:
        raise ValidationFailed({"suggested": f"Suggest at most {MAX_SUGGESTIONS} mentors."})
    async with write_transaction():
        request = await _pending_request(request_id)
        if request.mentor_id != actor.id:  # type: ignore[attr-defined]
            raise NotFound("That request doesn't exist.")
        _refuse_unless_pending(request, now)
        if suggested:
            known = set(await MentorProfile.filter(
                user_id__in=suggested, status=MentorStatus.APPROVED
            ).values_list("user_id", flat=True))
            if set(suggested) - known or actor.id in suggested or request.requester_id in suggested:  # type: ignore[attr-defined]
                raise ValidationFailed({"suggested": "Suggest mentors from the list."})
        request.status, request.decided_at = RequestStatus.DECLINED, now
        request.response_note, request.suggested = note, suggested
        await request.save(update_fields=["status", "decided_at", "response_note", "suggested"])
        await notify(
            [request.requester_id], kind=Kind.REQUEST_DECLINED,  # type: ignore[attr-defined]
            subject=("mentor_request", request.id),
            text=f"{actor.display_name} can't take on your request this time"
                 + (" and suggested other mentors." if suggested else "."),
            url=request.url, when=now, actor=actor,
        )
    return request


async def withdraw_request(*, actor: User | None, request_id: int, now: datetime) -> MentorRequest:
    """The requester takes a pending request back."""
    actor = require_user(actor)
    async with write_transaction():
        request = await _pending_request(request_id)
        if request.requester_id != actor.id:  # type: ignore[attr-defined]
            raise NotFound("That request doesn't exist.")
        _refuse_unless_pending(request, now)
        request.status, request.decided_at = RequestStatus.WITHDRAWN, now
        await request.save(update_fields=["status", "decided_at"])
        await notify(
            [request.mentor_id], kind=Kind.REQUEST_WITHDRAWN,  # type: ignore[attr-defined]
            subject=("mentor_request", request.id),
            text=f"{actor.display_name} withdrew their mentoring request.", url=request.url,
            when=now, actor=actor,
        )
    return request


async def expire_stale_requests(now: datetime, batch: int = 200) -> int:
    """Expire pending requests past their time; tell each requester and offer other mentors."""
    expired = 0
    stale = await MentorRequest.filter(
        status=RequestStatus.PENDING, expires_at__lte=now
    ).order_by("expires_at").limit(batch).select_related("requester", "mentor")
    for found in stale:
        context = await organisation_context(found.requester)
        others = await suggest_mentors(
            tags=[], exclude={found.requester.id, found.mentor.id}, context=context
        )
        async with write_transaction():
            request = await _pending_request(found.id)
            if request.status != RequestStatus.PENDING:
                continue  # accepted or withdrawn meanwhile
            request.status, request.decided_at = RequestStatus.EXPIRED, now
            request.suggested = [card.mentor.id for card in others]
            await request.save(update_fields=["status", "decided_at", "suggested"])
            await notify(
                [found.requester.id], kind=Kind.REQUEST_EXPIRED,
                subject=("mentor_request", request.id),
                text=f"Your request to {found.mentor.display_name} expired without an answer. "
                     "Here are other mentors who could help.",
                url=request.url, when=now,
            )
            expired += 1
    return expired
