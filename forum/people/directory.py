"""The mentor directory: approved mentors, filtered, ranked by fit with the viewer's organisation.

Mentors are few (tens, perhaps hundreds) and ranking needs every one of them, so
the directory reads all approved profiles in one query and filters, scores and
pages them in Python: three queries whatever the number of mentors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from forum.accounts.models import User
from forum.pagination import Pages
from forum.people.models import SECTORS, MentorProfile, MentorStatus, Organisation
from forum.playbooks.stages import STAGE_LABELS
from forum.threads.models import Thread

AVAILABILITY = {"all": "Everyone", "open": "Taking requests now"}
# How many of an organisation's recent threads say what it asks about.
RECENT_THREADS = 100


@dataclass
class Fit:
    score: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class MentorCard:
    profile: MentorProfile
    mentor: User
    fit: Fit


@dataclass
class DirectoryFilters:
    expertise: str = ""
    sector: str = ""
    availability: str = "all"

    def active(self) -> bool:
        return bool(self.expertise or self.sector or self.availability != "all")


@dataclass
class DirectoryPage:
    cards: list[MentorCard]
    pages: Pages
    filters: DirectoryFilters
    organisation: Organisation | None
    expertise_choices: list[str]
    sector_choices: tuple[str, ...] = SECTORS


@dataclass
class OrganisationContext:
    """What the directory knows about the viewer's organisation to judge fit."""

    organisation: Organisation | None = None
    tags: Counter[str] = field(default_factory=Counter)


async def organisation_context(viewer: User | None) -> OrganisationContext:
    """The viewer's organisation and the tags of its members' recent threads: two queries."""
    organisation_id = getattr(viewer, "organisation_id", None)
    if organisation_id is None:
        return OrganisationContext()
    organisation = await Organisation.get_or_none(id=organisation_id)
    rows = await Thread.filter(
        author__organisation_id=organisation_id, deleted_at=None
    ).order_by("-created_at").limit(RECENT_THREADS).values_list("tags", flat=True)
    return OrganisationContext(organisation, Counter(t for tags in rows for t in (tags or [])))


def fit(profile: MentorProfile, context: OrganisationContext) -> Fit:
    """How well a mentor fits an organisation, and the reasons in words."""
    result = Fit()
    organisation = context.organisation
    if organisation is None:
        return result
    if organisation.sector and organisation.sector in profile.sectors:
        result.score += 3
        result.reasons.append(f"Knows {organisation.sector.lower()}, your sector")
    if organisation.stage and organisation.stage in profile.stages:
        result.score += 2
        label = STAGE_LABELS.get(organisation.stage, organisation.stage)
        result.reasons.append(f"Has helped at your stage: {label.lower()}")
    shared = sorted(
        (t for t in profile.expertise if t in context.tags), key=lambda t: (-context.tags[t], t)
    )
    if shared:
        result.score += min(len(shared), 3)
        result.reasons.append("Knows what your organisation asks about: " + ", ".join(shared[:3]))
    return result


def _matches(profile: MentorProfile, filters: DirectoryFilters) -> bool:
    if filters.expertise and filters.expertise not in profile.expertise:
        return False
    if filters.sector and filters.sector not in profile.sectors:
        return False
    return filters.availability != "open" or profile.is_available


def rank(profiles: list[MentorProfile], context: OrganisationContext) -> list[MentorCard]:
    """Best fit first; among equals, those with room first, then by name."""
    cards = [MentorCard(p, p.user, fit(p, context)) for p in profiles]
    cards.sort(key=lambda c: (-c.fit.score, not c.profile.is_available,
                              c.mentor.display_name.lower()))
    return cards


async def approved_profiles() -> list[MentorProfile]:
    """Every approved mentor with their account: one query."""
    return list(await MentorProfile.filter(
        status=MentorStatus.APPROVED, user__is_active=True
    ).select_related("user"))


async def directory_page(
    viewer: User | None, filters: DirectoryFilters, *, page: int, size: int
) -> DirectoryPage:
    """One page of the directory: three queries (one without an organisation)."""
    if filters.availability not in AVAILABILITY:
        filters.availability = "all"
    context = await organisation_context(viewer)
    profiles = await approved_profiles()
    if viewer is not None:
        profiles = [p for p in profiles if p.user_id != viewer.id]  # type: ignore[attr-defined]
    choices = sorted({t for p in profiles for t in p.expertise})
    cards = rank([p for p in profiles if _matches(p, filters)], context)
    pages = Pages(number=page, size=size, total_items=len(cards))
    return DirectoryPage(
        cards=cards[pages.offset: pages.offset + size], pages=pages, filters=filters,
        organisation=context.organisation, expertise_choices=choices,
    )


async def suggest_mentors(
    *, tags: list[str], topic_slug: str = "", exclude: set[int], limit: int = 3,
    context: OrganisationContext | None = None, relevant_only: bool = False,
) -> list[MentorCard]:
    """Available mentors for a subject (tags, topic), best first: one query plus the context's.

    With `relevant_only`, only mentors who know one of the tags or cover the topic.
    """
    wanted = set(tags)
    found = []
    for profile in await approved_profiles():
        if profile.user_id in exclude or not profile.is_available:  # type: ignore[attr-defined]
            continue
        shared = [t for t in profile.expertise if t in wanted]
        on_topic = bool(topic_slug) and topic_slug in profile.topics
        if relevant_only and not (shared or on_topic):
            continue
        card = MentorCard(profile, profile.user, fit(profile, context or OrganisationContext()))
        card.fit.score += 2 * len(shared) + (2 if on_topic else 0)
        if shared:
            card.fit.reasons.insert(0, "Knows " + ", ".join(shared[:3]))
        if on_topic:
            card.fit.reasons.insert(0, "Answers questions in this topic")
        found.append(card)
    found.sort(key=lambda c: (-c.fit.score, c.mentor.display_name.lower()))
    return found[:limit]
