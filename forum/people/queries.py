"""The read side of people: member profiles and organisation pages."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from forum.accounts.models import Role, User
from forum.errors import NotFound
from forum.mentoring.models import MentorshipSpace
from forum.pagination import Pages
from forum.people.models import MentorProfile, MentorStatus, Organisation
from forum.playbooks.models import ChecklistTick, OutcomeReport, Playbook
from forum.threads.models import Post, Thread, ThreadKind

# The replies a mentor's response time is measured over: the latest ones.
RESPONSE_SAMPLE = 500


@dataclass
class MentorStats:
    answers: int
    accepted: int
    median_first_reply: timedelta | None


@dataclass
class ProfilePage:
    member: User
    threads: list[Thread]
    answers: list[Post]
    mentor: MentorProfile | None = None
    stats: MentorStats | None = None


async def mentor_stats(user_id: int) -> MentorStats:
    """Answers to questions, accepted answers, and the median time from a question being
    asked to this mentor's first reply in it: three queries."""
    answers = await Post.filter(
        author_id=user_id, number__gt=1, deleted_at=None, thread__deleted_at=None,
        thread__kind=ThreadKind.QUESTION,
    ).count()
    accepted = await Thread.filter(
        accepted_post__author_id=user_id, deleted_at=None, kind=ThreadKind.QUESTION
    ).count()
    rows = await Post.filter(
        author_id=user_id, number__gt=1, deleted_at=None, thread__deleted_at=None,
    ).exclude(thread__author_id=user_id).order_by("-created_at").limit(RESPONSE_SAMPLE).values_list(
        "thread_id", "created_at", "thread__created_at"
    )
    first: dict[int, float] = {}
    for thread_id, replied, asked in rows:
        seconds = max((replied - asked).total_seconds(), 0.0)
        first[thread_id] = min(seconds, first.get(thread_id, seconds))
    median = timedelta(seconds=statistics.median(first.values())) if first else None
    return MentorStats(answers=answers, accepted=accepted, median_first_reply=median)


async def profile_page(username: str, limit: int = 20) -> ProfilePage:
    """A member's profile; for an approved mentor also their mentoring and stats."""
    member = await User.get_or_none(username_key=username.lower()).select_related("organisation")
    if member is None or not member.is_active:
        raise NotFound("There is no member with that username.")
    threads = await Thread.filter(deleted_at=None).filter(author_id=member.id).order_by(
        "-created_at"
    ).limit(limit).select_related("topic")
    answers = await Post.filter(
        author_id=member.id, number__gt=1, deleted_at=None, thread__deleted_at=None
    ).order_by("-created_at").limit(limit).select_related("thread")
    page = ProfilePage(member=member, threads=list(threads), answers=list(answers))
    if member.role != Role.MEMBER:
        # Only mentors (and staff who mentor) can have an approved profile.
        profile = await MentorProfile.get_or_none(user_id=member.id, status=MentorStatus.APPROVED)
        if profile is not None:
            page.mentor, page.stats = profile, await mentor_stats(member.id)
    return page


@dataclass
class PlaybookProgress:
    playbook: Playbook
    ticked: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.ticked / self.total) if self.total else 0


@dataclass
class OrganisationPage:
    organisation: Organisation
    members: list[User]
    pages: Pages
    threads: list[Thread]
    progress: list[PlaybookProgress]
    outcomes: list[OutcomeReport]
    can_see_contract: bool
    can_edit: bool


RECENT = 10


def can_edit_organisation(user: User | None, organisation: Organisation) -> bool:
    """The organisation's admins and site administrators edit its page."""
    if user is None:
        return False
    if user.role == Role.ADMIN:
        return True
    return user.is_organisation_admin and user.organisation_id == organisation.id  # type: ignore[attr-defined]


async def get_organisation(slug: str) -> Organisation:
    organisation = await Organisation.get_or_none(slug=slug)
    if organisation is None:
        raise NotFound("There is no organisation at this address.")
    return organisation


async def organisation_page(slug: str, viewer: User | None, *, page: int, size: int) -> OrganisationPage:
    """An organisation with its members (paged), recent threads, playbook progress and
    outcome reports: at most nine queries, whatever their numbers."""
    organisation = await get_organisation(slug)
    people = User.filter(organisation_id=organisation.id, is_active=True)
    pages = Pages(number=page, size=size, total_items=await people.count())
    members = await people.order_by("display_name", "id").offset(pages.offset).limit(size)
    threads = await Thread.filter(
        author__organisation_id=organisation.id, deleted_at=None
    ).order_by("-last_activity_at").limit(RECENT).select_related("topic", "author")
    ticks = await ChecklistTick.filter(organisation_id=organisation.id).values_list("playbook_id", "item_key")
    ticked: dict[int, int] = {}
    for playbook_id, _ in ticks:
        ticked[playbook_id] = ticked.get(playbook_id, 0) + 1
    progress = []
    if ticked:
        for playbook in await Playbook.filter(id__in=list(ticked)).order_by("title"):
            total = sum(len(step.get("checklist", [])) for step in playbook.steps)
            progress.append(PlaybookProgress(playbook, min(ticked[playbook.id], total), total))
    outcomes = await OutcomeReport.filter(organisation_id=organisation.id).order_by(
        "-created_at"
    ).limit(RECENT).select_related("playbook", "author")
    is_member = viewer is not None and viewer.organisation_id == organisation.id  # type: ignore[attr-defined]
    # Which mentors work with an organisation is private to it: asked only to decide
    # whether this viewer sees the contract date, never shown.
    is_their_mentor = (
        viewer is not None and not is_member and viewer.role != Role.MEMBER
        and await MentorshipSpace.filter(organisation_id=organisation.id, mentor_id=viewer.id).exists()
    )
    return OrganisationPage(
        organisation=organisation, members=list(members), pages=pages, threads=list(threads),
        progress=progress, outcomes=list(outcomes),
        can_see_contract=is_member or is_their_mentor,
        can_edit=can_edit_organisation(viewer, organisation),
    )


async def organisation_threads(slug: str, *, page: int, size: int) -> tuple[Organisation, list[Thread], Pages]:
    """Every visible thread by the organisation's members, latest activity first (three queries)."""
    organisation = await get_organisation(slug)
    threads = Thread.filter(author__organisation_id=organisation.id, deleted_at=None)
    pages = Pages(number=page, size=size, total_items=await threads.count())
    rows = await threads.order_by("-last_activity_at").offset(pages.offset).limit(size).select_related(
        "topic", "author", "last_poster"
    )
    return organisation, list(rows), pages
