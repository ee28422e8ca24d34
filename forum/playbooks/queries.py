"""The read side of playbooks: everything a page shows, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.timezone import now

from forum.accounts.models import User
from forum.errors import NotFound
from forum.pagination import Pages
from forum.playbooks import permissions
from forum.playbooks.diff import Section, compare
from forum.playbooks.models import (
    CONTENT_FIELDS,
    SUGGESTED_FIELDS,
    ChecklistTick,
    OutcomeReport,
    Playbook,
    PlaybookMaintainer,
    PlaybookRevision,
    PlaybookSuggestion,
    SuggestionStatus,
)
from forum.playbooks.stages import STAGE_LABELS, STAGES, StageInfo
from forum.threads.models import Thread, Topic

LIST_RELATIONS = ("topic", "last_verified_by")
RECENT_REPORTS = 10
RELATED = 5


def is_due(playbook: Playbook, on: date | None = None) -> bool:
    """Past its review-by date: a mentor should check it is still right."""
    return playbook.review_by <= (on or now().date())


async def get_playbook(slug: str, *relations: str) -> Playbook:
    playbook = await Playbook.get_or_none(slug=slug).select_related(*relations)
    if playbook is None:
        raise NotFound("There is no playbook at this address.")
    return playbook


@dataclass
class ListPage:
    playbooks: list[Playbook]
    pages: Pages
    stage: str
    topic: str
    topics: list[Topic]
    today: date


async def list_page(*, stage: str, topic: str, page: int, size: int) -> ListPage:
    """Playbooks, most recently updated first, filtered by stage and topic: three queries."""
    topics = list(await Topic.all().order_by("position", "name"))
    stage = stage if stage in STAGE_LABELS else ""
    topic_ids = {t.slug: t.id for t in topics}
    topic = topic if topic in topic_ids else ""
    playbooks = Playbook.all()
    if stage:
        playbooks = playbooks.filter(stage=stage)
    if topic:
        playbooks = playbooks.filter(topic_id=topic_ids[topic])
    pages = Pages(number=page, size=size, total_items=await playbooks.count())
    rows = await playbooks.order_by("-updated_at", "-id").offset(pages.offset).limit(size).select_related(
        *LIST_RELATIONS
    )
    return ListPage(list(rows), pages, stage, topic, topics, now().date())


@dataclass
class PlaybookPage:
    playbook: Playbook
    maintainers: list[User]
    maintainer_ids: set[int]
    review_due: bool
    reports: list[OutcomeReport]
    # step key ("" for the whole playbook) -> outcome -> number of reports
    tally: dict[str, dict[str, int]]
    related_threads: list[Thread]
    related_playbooks: list[Playbook]
    ticks: set[str] = field(default_factory=set)
    pending_suggestions: int = 0

    @property
    def checklist_size(self) -> int:
        return sum(len(step["checklist"]) for step in self.playbook.steps)

    @property
    def step_titles(self) -> dict[str, str]:
        return {s["key"]: f"Step {n}: {s['title']}" for n, s in enumerate(self.playbook.steps, 1)}


async def playbook_page(slug: str, viewer: User | None) -> PlaybookPage:
    """A playbook with its maintainers, reports and tally, related threads and playbooks,
    and for a member their organisation's ticks: at most eight queries, whatever the
    number of steps, revisions and reports."""
    playbook = await get_playbook(
        slug, "topic", "last_verified_by", "updated_by", "source_thread"
    )
    maintainers = [
        m.user for m in await PlaybookMaintainer.filter(playbook_id=playbook.id).order_by(
            "added_at", "id"
        ).select_related("user")
    ]
    maintainer_ids = {u.id for u in maintainers}
    reports = list(await OutcomeReport.filter(playbook_id=playbook.id).order_by(
        "-created_at", "-id"
    ).limit(RECENT_REPORTS).select_related("author", "organisation"))
    tally: dict[str, dict[str, int]] = defaultdict(dict)
    if playbook.outcome_count:
        rows = await OutcomeReport.filter(playbook_id=playbook.id).annotate(n=Count("id")).group_by(
            "step_key", "outcome"
        ).values_list("step_key", "outcome", "n")
        for step_key, outcome, n in rows:
            tally[step_key][str(outcome)] = n
    page = PlaybookPage(
        playbook, maintainers, maintainer_ids, is_due(playbook), reports, dict(tally),
        await related_threads(playbook), await related_playbooks(playbook),
    )
    if permissions.can_track_progress(viewer):
        page.ticks = set(await ChecklistTick.filter(
            playbook_id=playbook.id, organisation_id=viewer.organisation_id  # type: ignore[union-attr]
        ).values_list("item_key", flat=True))
    if permissions.can_decide_suggestions(viewer, maintainer_ids):
        page.pending_suggestions = await PlaybookSuggestion.filter(
            playbook_id=playbook.id, status=SuggestionStatus.PENDING
        ).count()
    return page


async def related_threads(playbook: Playbook, limit: int = RELATED) -> list[Thread]:
    """Threads of the playbook's topic, those sharing its tags first: one query."""
    if playbook.topic_id is None:  # type: ignore[attr-defined]
        return []
    candidates = await Thread.filter(
        topic_id=playbook.topic_id, deleted_at=None  # type: ignore[attr-defined]
    ).order_by("-last_activity_at").limit(40)
    tags = set(playbook.tags)
    ranked = sorted(candidates, key=lambda t: (-len(tags & set(t.tags)), -t.reply_count))
    return ranked[:limit]


async def related_playbooks(playbook: Playbook, limit: int = RELATED) -> list[Playbook]:
    """Other playbooks of the same stage, latest first: one query."""
    rows = await Playbook.filter(stage=playbook.stage).exclude(id=playbook.id).order_by(
        "-updated_at"
    ).limit(limit)
    return list(rows)


@dataclass
class HistoryPage:
    playbook: Playbook
    revisions: list[PlaybookRevision]
    pages: Pages
    maintainer_ids: set[int]


async def history_page(slug: str, *, page: int, size: int) -> HistoryPage:
    """Revisions newest first; numbers run 1..current, so a page is a range: three queries."""
    playbook = await get_playbook(slug)
    pages = Pages(number=page, size=size, total_items=playbook.revision_number)
    top = playbook.revision_number - pages.offset
    revisions = await PlaybookRevision.filter(
        playbook_id=playbook.id, number__lte=top, number__gt=top - size
    ).order_by("-number").select_related("author")
    ids = set(await PlaybookMaintainer.filter(playbook_id=playbook.id).values_list("user_id", flat=True))
    return HistoryPage(playbook, list(revisions), pages, ids)


@dataclass
class ComparePage:
    playbook: Playbook
    old: PlaybookRevision
    new: PlaybookRevision
    sections: list[Section]


async def compare_page(slug: str, a: int | None, b: int | None) -> ComparePage:
    """Two revisions side by side as a word-level diff (default: the latest change)."""
    playbook = await get_playbook(slug)
    new_number = b if b is not None else playbook.revision_number
    old_number = a if a is not None else max(new_number - 1, 1)
    revisions = {
        r.number: r for r in await PlaybookRevision.filter(
            playbook_id=playbook.id, number__in=[old_number, new_number]
        ).select_related("author")
    }
    if old_number not in revisions or new_number not in revisions:
        raise NotFound("This playbook has no such revision.")
    topics = dict(await Topic.all().values_list("id", "name"))
    old, new = revisions[old_number], revisions[new_number]
    return ComparePage(playbook, old, new, compare(old, new, topics))


@dataclass
class DuePage:
    playbooks: list[Playbook]
    today: date


async def due_page(limit: int = 200) -> DuePage:
    """Playbooks past their review date, the longest overdue first: one query."""
    today = now().date()
    rows = await Playbook.filter(review_by__lte=today).order_by("review_by", "id").limit(
        limit
    ).select_related(*LIST_RELATIONS)
    return DuePage(list(rows), today)


@dataclass
class JourneyStage:
    info: StageInfo
    playbooks: list[Playbook]


async def journey_page() -> list[JourneyStage]:
    """Every stage in order with its playbooks: one query."""
    by_stage: dict[str, list[Playbook]] = defaultdict(list)
    for playbook in await Playbook.all().order_by("title").only(
        "id", "slug", "title", "summary", "stage", "review_by", "outcome_count"
    ):
        by_stage[str(playbook.stage)].append(playbook)
    return [JourneyStage(info, by_stage.get(info.slug, [])) for info in STAGES]


@dataclass
class SuggestionPage:
    playbook: Playbook
    suggestion: PlaybookSuggestion
    maintainer_ids: set[int]
    # The suggestion against the playbook as it is now (what accepting would change).
    sections: list[Section]


def proposed_content(playbook: Playbook, suggestion: PlaybookSuggestion) -> SimpleNamespace:
    """The playbook as it would be with the suggestion accepted (it keeps stage, topic, tags)."""
    fields = {name: getattr(playbook, name) for name in CONTENT_FIELDS}
    fields.update({name: getattr(suggestion, name) for name in SUGGESTED_FIELDS})
    return SimpleNamespace(**fields)


async def suggestion_page(slug: str, suggestion_id: int) -> SuggestionPage:
    """One suggestion, compared with the current playbook: three queries."""
    playbook = await get_playbook(slug)
    suggestion = await PlaybookSuggestion.get_or_none(
        id=suggestion_id, playbook_id=playbook.id
    ).select_related("author", "decided_by")
    if suggestion is None:
        raise NotFound("That suggestion doesn't exist.")
    ids = set(await PlaybookMaintainer.filter(playbook_id=playbook.id).values_list("user_id", flat=True))
    return SuggestionPage(playbook, suggestion, ids, compare(playbook, proposed_content(playbook, suggestion)))


@dataclass
class SuggestionList:
    suggestions: list[PlaybookSuggestion]
    playbook: Playbook | None = None
    maintainer_ids: set[int] = field(default_factory=set)


async def playbook_suggestions(slug: str, limit: int = 100) -> SuggestionList:
    """A playbook's suggestions, waiting ones first, then the latest decided: three queries."""
    playbook = await get_playbook(slug)
    rows = await PlaybookSuggestion.filter(playbook_id=playbook.id).order_by(
        "-status", "-created_at", "-id"
    ).limit(limit).select_related("author", "decided_by")
    ids = set(await PlaybookMaintainer.filter(playbook_id=playbook.id).values_list("user_id", flat=True))
    pending = [s for s in rows if s.status == SuggestionStatus.PENDING]
    decided = [s for s in rows if s.status != SuggestionStatus.PENDING]
    return SuggestionList(pending + decided, playbook, ids)


async def suggestion_queue(viewer: User, limit: int = 200) -> SuggestionList:
    """Suggestions waiting for the viewer: on playbooks they maintain (all, for moderators)."""
    pending = PlaybookSuggestion.filter(status=SuggestionStatus.PENDING)
    if not permissions.is_moderator(viewer):
        pending = pending.filter(playbook__maintainers__user_id=viewer.id)
    rows = await pending.order_by("created_at", "id").limit(limit).select_related("playbook", "author")
    return SuggestionList(list(rows))


async def playbooks_for_thread(thread: Thread, limit: int = RELATED) -> list[Playbook]:
    """Playbooks a thread's readers may want: promoted from it, or sharing its topic: one query.

    For the thread page (forum/threads), which shows them beside the replies.
    """
    rows = await Playbook.filter(
        Q(source_thread_id=thread.id) | Q(topic_id=thread.topic_id)  # type: ignore[attr-defined]
    ).order_by("-updated_at").limit(limit * 4).only(
        "id", "slug", "title", "tags", "source_thread_id", "updated_at"
    )
    tags = set(thread.tags)
    ranked = sorted(rows, key=lambda p: (p.source_thread_id != thread.id, -len(tags & set(p.tags))))  # type: ignore[attr-defined]
    return ranked[:limit]
