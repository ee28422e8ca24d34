"""Ask a mentor: the asker of a question invites up to three mentors to answer it, and
questions left unanswered are offered to available mentors of their topic."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import Subquery

from forum.accounts.models import User
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.mentoring.models import InvitationKind, MentorInvitation, QuestionOffer
from forum.notifications.models import Kind
from forum.notifications.services import notify
from forum.people.directory import MentorCard, suggest_mentors
from forum.people.mentors import require_user
from forum.people.models import MentorProfile, MentorStatus
from forum.threads import permissions
from forum.threads.models import Thread, ThreadKind

MAX_INVITES = 3
DEFAULT_UNANSWERED_HOURS = 48


async def _question(thread_id: int, viewer: User | None) -> Thread:
    thread = await Thread.get_or_none(id=thread_id).select_related("topic")
    if thread is None or not permissions.can_see_thread(viewer, thread):
        raise NotFound("That thread doesn't exist or was deleted.")
    return thread


async def ask_page(*, viewer: User | None, thread_id: int) -> tuple[Thread, list[MentorCard], list[MentorInvitation]]:
    """The question, mentors to suggest and the mentors already invited."""
    viewer = require_user(viewer)
    thread = await _question(thread_id, viewer)
    if not can_ask(viewer, thread):
        raise NotAllowed("Only the asker of a question can invite mentors to answer it.")
    invited = list(await MentorInvitation.filter(thread_id=thread.id).select_related("mentor"))
    suggestions = await suggest_mentors(
        tags=list(thread.tags), topic_slug=thread.topic.slug, limit=8,
        exclude={viewer.id} | {i.mentor_id for i in invited},  # type: ignore[attr-defined]
    )
    return thread, suggestions, invited


def can_ask(user: User | None, thread: Thread) -> bool:
    """The asker of an open question may invite mentors."""
    return (
        user is not None and thread.kind == ThreadKind.QUESTION and thread.deleted_at is None
        and thread.author_id == user.id  # type: ignore[attr-defined]
    )


async def invite_mentors(
    *, actor: User | None, thread_id: int, mentor_ids: list[int], now: datetime
) -> list[MentorInvitation]:
    """Invite mentors (three at most per question) to answer; each is notified."""
    actor = require_user(actor)
    wanted = list(dict.fromkeys(mentor_ids))
    if not wanted:
        raise ValidationFailed({"mentors": "Choose at least one mentor."})
    async with write_transaction():
        thread = await _question(thread_id, actor)
        if not can_ask(actor, thread):
            raise NotAllowed("Only the asker of a question can invite mentors to answer it.")
        already = set(await MentorInvitation.filter(
            thread_id=thread.id, kind=InvitationKind.INVITED
        ).values_list("mentor_id", flat=True))
        fresh = [m for m in wanted if m not in already]
        if len(already) + len(fresh) > MAX_INVITES:
            left = MAX_INVITES - len(already)
            raise ValidationFailed({"mentors": f"You can invite {left} more mentor{'s' if left != 1 else ''} to this question."})
        approved = set(await MentorProfile.filter(
            user_id__in=fresh, status=MentorStatus.APPROVED, user__is_active=True
        ).values_list("user_id", flat=True))
        if set(fresh) - approved or actor.id in fresh:
            raise ValidationFailed({"mentors": "Choose mentors from the list."})
        # A mentor the question was offered to may still be invited by name.
        await MentorInvitation.filter(thread_id=thread.id, mentor_id__in=fresh).delete()
        invitations = [
            await MentorInvitation.create(
                thread_id=thread.id, mentor_id=m, invited_by=actor, kind=InvitationKind.INVITED,
                created_at=now,
            )
            for m in fresh
        ]
        await notify(
            fresh, kind=Kind.MENTOR_INVITED, subject=("thread", thread.id),
            text=f"{actor.display_name} asked you to answer: {thread.title}", url=thread.url,
            when=now, actor=actor,
        )
    return invitations


async def offer_unanswered_questions(
    now: datetime, *, after_hours: int = DEFAULT_UNANSWERED_HOURS, batch: int = 100
) -> int:
    """Offer questions unanswered after `after_hours` to available mentors of their topic.

    Each question is offered once (QuestionOffer marks it), to up to three
    mentors who know its tags or cover its topic, leaving out those already invited.
    """
    offered = 0
    waiting = await Thread.filter(
        kind=ThreadKind.QUESTION, reply_count=0, deleted_at=None,
        created_at__lte=now - timedelta(hours=after_hours),
    ).exclude(
        id__in=Subquery(QuestionOffer.all().values("thread_id"))
    ).order_by("created_at").limit(batch).select_related("topic")
    for thread in waiting:
        invited = set(await MentorInvitation.filter(thread_id=thread.id).values_list("mentor_id", flat=True))
        cards = await suggest_mentors(
            tags=list(thread.tags), topic_slug=thread.topic.slug, relevant_only=True,
            exclude={thread.author_id} | invited,  # type: ignore[attr-defined]
        )
        async with write_transaction():
            if await QuestionOffer.filter(thread_id=thread.id).exists():
                continue  # another sweep got there first
            await QuestionOffer.create(thread_id=thread.id, offered_at=now, mentor_count=len(cards))
            for card in cards:
                await MentorInvitation.create(
                    thread_id=thread.id, mentor_id=card.mentor.id, kind=InvitationKind.OFFERED,
                    created_at=now,
                )
            await notify(
                [card.mentor.id for card in cards], kind=Kind.QUESTION_OFFERED,
                subject=("thread", thread.id),
                text=f"A question in {thread.topic.name} has waited {after_hours} hours for an "
                     f"answer: {thread.title}",
                url=thread.url, when=now,
            )
        offered += 1
    return offered
