"""The read side of mentoring: the dashboard, a request, a space, the flagged messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Q

from forum.accounts.models import User
from forum.db import read_rows
from forum.errors import NotFound
from forum.mentoring.models import (
    MentorRequest,
    MentorshipSpace,
    RequestStatus,
    SpaceGoal,
    SpaceMember,
    SpaceMessage,
    SpacePlaybook,
)
from forum.pagination import Pages
from forum.people.directory import MentorCard, organisation_context, suggest_mentors
from forum.people.models import MentorProfile
from forum.playbooks.models import Playbook


async def space_ids_of(user_id: int) -> list[int]:
    """The spaces a member takes part in (their search principals): one query, written
    out because every search a member makes asks it (see `forum.db.read_rows`)."""
    rows = await read_rows("SELECT space_id FROM mentorship_space_members WHERE user_id = ?", [user_id])
    return [space_id for (space_id,) in rows]


@dataclass
class Dashboard:
    received: list[MentorRequest]
    sent: list[MentorRequest]
    spaces: list[MentorshipSpace]
    pages: Pages
    profile: MentorProfile | None


async def dashboard(viewer: User, *, page: int, size: int) -> Dashboard:
    """The member's mentoring: requests waiting for them, requests they sent, their spaces.

    Requests to answer are few (pending, limited by capacity); sent requests and
    spaces are paged together by `page`. Six queries.
    """
    received = await MentorRequest.filter(
        mentor_id=viewer.id, status=RequestStatus.PENDING
    ).order_by("created_at").limit(50).select_related("requester", "organisation")
    mine = MentorshipSpace.filter(members__user_id=viewer.id)
    total = max(await mine.count(), await MentorRequest.filter(requester_id=viewer.id).count())
    pages = Pages(number=page, size=size, total_items=total)
    sent = await MentorRequest.filter(requester_id=viewer.id).order_by("-created_at").offset(
        pages.offset
    ).limit(size).select_related("mentor")
    spaces = await mine.order_by("-last_activity_at").offset(pages.offset).limit(size).select_related(
        "mentor", "organisation"
    )
    profile = await MentorProfile.get_or_none(user_id=viewer.id)
    return Dashboard(list(received), list(sent), list(spaces), pages, profile)


@dataclass
class RequestPage:
    request: MentorRequest
    suggested: list[User]
    others: list[MentorCard] = field(default_factory=list)
    space_id: int | None = None


async def request_page(viewer: User, request_id: int, now: datetime) -> RequestPage:
    """A request, for its requester or its mentor only."""
    request = await MentorRequest.get_or_none(id=request_id).select_related(
        "requester", "mentor", "organisation"
    )
    if request is None or viewer.id not in (request.requester.id, request.mentor.id):
        raise NotFound("That request doesn't exist.")
    suggested = list(await User.filter(id__in=request.suggested, is_active=True)) if request.suggested else []
    others: list[MentorCard] = []
    if request.mentor.id == viewer.id and request.status == RequestStatus.PENDING:
        # Mentors the mentor could point to when declining.
        others = await suggest_mentors(
            tags=[], exclude={viewer.id, request.requester.id}, limit=12,
            context=await organisation_context(request.requester),
        )
    space = await MentorshipSpace.get_or_none(request_id=request.id).only("id")
    return RequestPage(request, suggested, others, space.id if space else None)


@dataclass
class SpacePage:
    space: MentorshipSpace
    members: list[SpaceMember]
    messages: list[SpaceMessage]
    pages: Pages
    goals: list[SpaceGoal]
    playbooks: list[SpacePlaybook]
    all_playbooks: list[Playbook]
    viewer_is_mentor: bool


async def space_page(viewer: User | None, space_id: int, *, page: int | None, size: int) -> SpacePage:
    """A space, for its participants only: seven queries whatever the number of messages.

    Without a page number the latest page shows, as in any conversation.
    """
    members = list(await SpaceMember.filter(space_id=space_id).select_related("user"))
    if viewer is None or viewer.id not in {m.user.id for m in members}:
        raise NotFound("That page doesn't exist.")
    space = await MentorshipSpace.get(id=space_id).select_related("mentor", "organisation", "closed_by")
    pages = Pages(number=1, size=size, total_items=space.last_message_number)
    pages = Pages(number=min(page or pages.count, pages.count), size=size,
                  total_items=space.last_message_number)
    first = pages.offset + 1
    messages = await SpaceMessage.filter(
        Q(space_id=space.id) & Q(number__gte=first, number__lt=first + size)
    ).order_by("number").select_related("author")
    goals = await SpaceGoal.filter(space_id=space.id).order_by("id")
    linked = await SpacePlaybook.filter(space_id=space.id).order_by("added_at").select_related("playbook")
    choices = await Playbook.all().order_by("title").only("id", "slug", "title")
    mentor = next(m for m in members if m.user.id == viewer.id).is_mentor
    return SpacePage(space, members, list(messages), pages, list(goals), list(linked),
                     list(choices), mentor)


def message_page(number: int, size: int) -> int:
    """The page of a space's conversation that shows message `number`."""
    return max(1, (number - 1) // size + 1)


@dataclass
class FlaggedList:
    messages: list[SpaceMessage]
    pages: Pages


async def flagged_messages(*, page: int, size: int) -> FlaggedList:
    """Moderators: flagged mentorship messages, newest flag first (two queries)."""
    flagged = SpaceMessage.filter(flagged_at__not_isnull=True)
    pages = Pages(number=page, size=size, total_items=await flagged.count())
    rows = await flagged.order_by("-flagged_at").offset(pages.offset).limit(size).select_related(
        "author", "flagged_by"
    )
    return FlaggedList(list(rows), pages)
