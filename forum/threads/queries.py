"""The read side of threads: everything a page shows, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from forum.accounts.models import User
from forum.db import read_rows
from forum.errors import NotFound
from forum.pagination import Pages
from forum.threads import permissions
from forum.threads.models import HelpfulVote, Post, Thread, ThreadKind, Topic

LIST_RELATIONS = ("topic", "author", "last_poster")
FILTERS = ("all", "unanswered", "solved")


def _visible_threads():
    return Thread.filter(deleted_at=None)


def _apply_filter(queryset, name: str):
    if name == "unanswered":
        return queryset.filter(kind=ThreadKind.QUESTION, reply_count=0)
    if name == "solved":
        return queryset.filter(kind=ThreadKind.QUESTION, accepted_post_id__not_isnull=True)
    return queryset


@dataclass
class HomePage:
    latest: list[Thread]
    unanswered: list[Thread]
    topics: list[Topic]


async def home_page(limit: int = 15) -> HomePage:
    """Latest activity, unanswered questions and topics: three queries."""
    latest = await _visible_threads().order_by("-last_activity_at").limit(limit).select_related(
        *LIST_RELATIONS
    )
    unanswered = await _apply_filter(_visible_threads(), "unanswered").order_by(
        "-created_at"
    ).limit(8).select_related("topic", "author")
    topics = await Topic.all().order_by("position", "name")
    return HomePage(latest=list(latest), unanswered=list(unanswered), topics=list(topics))


@dataclass
class TopicPage:
    topic: Topic
    threads: list[Thread]
    pages: Pages
    filter: str


async def topic_page(slug: str, *, page: int, filter: str, size: int) -> TopicPage:
    """A topic's threads, pinned first then by latest activity: three queries."""
    topic = await Topic.get_or_none(slug=slug)
    if topic is None:
        raise NotFound("There is no topic at this address.")
    filter = filter if filter in FILTERS else "all"
    threads = _apply_filter(_visible_threads().filter(topic_id=topic.id), filter)
    total = await threads.count()
    pages = Pages(number=page, size=size, total_items=total)
    rows = await threads.order_by("-is_pinned", "-last_activity_at").offset(pages.offset).limit(
        size
    ).select_related(*LIST_RELATIONS)
    return TopicPage(topic=topic, threads=list(rows), pages=pages, filter=filter)


@dataclass
class ThreadPage:
    thread: Thread
    opening: Post
    accepted: Post | None
    replies: list[Post]
    pages: Pages

    @property
    def post_ids(self) -> list[int]:
        """The posts the page shows, for the viewer's helpful marks."""
        shown = [self.opening, *([self.accepted] if self.accepted else []), *self.replies]
        return [post.id for post in shown]


def page_of_post(number: int, size: int) -> int:
    """The page of a thread that shows reply `number` (the opening post is on every page)."""
    return max(1, (number - 2) // size + 1)


async def thread_page(thread_id: int, *, page: int, size: int) -> ThreadPage:
    """A thread page as every viewer may see it: the thread and its posts for the page.

    Two queries. Replies are numbered, so a page is a range of numbers read through
    the (thread, number) index, whatever the length of the thread. Who may see it
    is the caller's check (`permissions.can_see_thread`): the page may be kept and
    shown to others.
    """
    thread = await Thread.get_or_none(id=thread_id).select_related("topic", "author")
    if thread is None:
        raise NotFound("That thread doesn't exist or was deleted.")
    pages = Pages(number=page, size=size, total_items=max(thread.last_post_number - 1, 0))
    first = 2 + pages.offset
    wanted = Q(number=1) | Q(number__gte=first, number__lt=first + size)
    if thread.accepted_post_id is not None:  # type: ignore[attr-defined]
        wanted |= Q(id=thread.accepted_post_id)  # type: ignore[attr-defined]
    posts = await Post.filter(Q(thread_id=thread.id) & wanted).order_by("number").select_related(
        "author"
    )
    opening = next(p for p in posts if p.number == 1)
    accepted = next((p for p in posts if p.id == thread.accepted_post_id), None)  # type: ignore[attr-defined]
    if accepted is not None and accepted.deleted_at is not None:
        accepted = None
    replies = [p for p in posts if first <= p.number < first + size]
    return ThreadPage(thread, opening, accepted, replies, pages)


async def helpful_marks(viewer: User, post_ids: list[int]) -> set[int]:
    """Which of `post_ids` the viewer marked helpful: one query."""
    if not post_ids:
        return set()
    marks = ", ".join("?" for _ in post_ids)
    rows = await read_rows(
        f"SELECT post_id FROM {HelpfulVote._meta.db_table} WHERE user_id = ? "
        f"AND post_id IN ({marks})", [viewer.id, *post_ids],
    )
    return {post_id for (post_id,) in rows}


async def post_with_thread(post_id: int, viewer: User | None) -> tuple[Post, Thread]:
    post = await Post.get_or_none(id=post_id).select_related("thread", "author")
    if post is None or not permissions.can_see_thread(viewer, post.thread):
        raise NotFound("That post doesn't exist.")
    return post, post.thread


async def post_history(post_id: int, viewer: User | None):
    """A post and its earlier versions, newest first."""
    post, thread = await post_with_thread(post_id, viewer)
    if post.deleted_at is not None and not permissions.is_moderator(viewer):
        raise NotFound("That post was deleted.")
    revisions = await post.revisions.all().order_by("-created_at", "-id").select_related("editor")
    return post, thread, list(revisions)


async def all_topics() -> list[Topic]:
    return list(await Topic.all().order_by("position", "name"))


async def topic_names() -> dict[str, str]:
    """Each topic's name by its slug, in the topics' order."""
    rows = await Topic.all().order_by("position", "name").values_list("slug", "name")
    return dict(rows)  # type: ignore[arg-type]
