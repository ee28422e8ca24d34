"""Thread and post services: values in, a model or a domain error out."""

from __future__ import annotations

import re
from datetime import datetime

from tortoise.expressions import F
from tortoise.functions import Count
from tortoise.timezone import now

from forum.accounts.models import User
from forum.accounts.trust import NewMemberLimits
from forum.content.markdown import count_links, render_markdown
from forum.content.slugs import slugify
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound, RateLimited, SignInRequired, ValidationFailed
from forum.http.ratelimit import RateLimiter
from forum.threads import permissions, posting
from forum.threads.documents import post_doc_id, thread_doc_id
from forum.threads.models import HelpfulVote, Post, PostRevision, Thread, ThreadKind, Topic
from search_index import outbox

TITLE_MIN, TITLE_MAX = 10, 200
BODY_MIN, BODY_MAX = 2, 50_000
MAX_TAGS = 5
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")


def _require_user(actor: User | None) -> User:
    if actor is None:
        raise SignInRequired("Please sign in to do that.")
    return actor


def _check_body(body: str, errors: dict[str, str]) -> str:
    body = body.strip()
    if len(body) < BODY_MIN:
        errors["body"] = "Write a little more: the message is empty."
    elif len(body) > BODY_MAX:
        errors["body"] = f"Keep it under {BODY_MAX:,} characters."
    return body


def _check_title(title: str, errors: dict[str, str]) -> str:
    title = " ".join(title.split())
    if len(title) < TITLE_MIN:
        errors["title"] = f"Use at least {TITLE_MIN} characters, e.g. a question someone could answer."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Use at most {TITLE_MAX} characters."
    return title


def parse_tags(raw: str | list[str], errors: dict[str, str]) -> list[str]:
    """Tags from a comma- or space-separated string: lowercase, hyphenated, at most 5."""
    items = raw if isinstance(raw, list) else re.split(r"[,\s]+", raw)
    tags: list[str] = []
    for item in items:
        tag = item.strip().lower().lstrip("#")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"Use at most {MAX_TAGS} tags."
    elif bad := [t for t in tags if not TAG_RE.match(t)]:
        errors["tags"] = f"Tags use lowercase letters, digits and hyphens: {bad[0]!r} doesn't."
    return tags


def throttle(limiter: RateLimiter | None, actor: User) -> None:
    """Count one post by `actor`; RateLimited when they post too quickly."""
    if limiter is None:
        return
    key = f"user:{actor.id}"
    if wait := limiter.retry_after(key):
        raise RateLimited("You're posting very quickly. Please wait a moment and try again.", wait)
    limiter.hit(key)


async def _locked_thread(thread_id: int) -> Thread:
    """The thread, locked for update (PostgreSQL; SQLite already holds the write lock)."""
    thread = await Thread.filter(id=thread_id).select_for_update().first()
    if thread is None:
        raise NotFound("That thread doesn't exist.")
    return thread


async def create_thread(
    *, actor: User | None, topic_slug: str, kind: str, title: str, body: str,
    tags: str | list[str] = "", limiter: RateLimiter | None = None,
    created_at: datetime | None = None, trust: NewMemberLimits | None = None,
) -> Thread:
    """Start a thread with its opening post."""
    actor = _require_user(actor)
    errors: dict[str, str] = {}
    title = _check_title(title, errors)
    body = _check_body(body, errors)
    tag_list = parse_tags(tags, errors)
    if kind not in (ThreadKind.QUESTION, ThreadKind.DISCUSSION):
        errors["kind"] = "Choose question or discussion."
    topic = await Topic.get_or_none(slug=topic_slug)
    if topic is None:
        errors["topic"] = "Choose a topic."
    if errors:
        raise ValidationFailed(errors)
    html = render_markdown(body)
    links = count_links(html)
    if trust is not None:
        await trust.check(actor, links)
    throttle(limiter, actor)
    when = created_at or now()
    async with write_transaction():
        thread = await Thread.create(
            topic=topic, author=actor, kind=kind, title=title, slug=slugify(title),
            tags=tag_list, last_activity_at=when, last_poster=actor, created_at=when,
        )
        await Post.create(
            thread=thread, author=actor, number=1, body_source=body, body_html=html,
            link_count=links, created_at=when,
        )
        await outbox.enqueue([thread_doc_id(thread.id)])
        await Topic.filter(id=topic.id).update(  # type: ignore[union-attr]
            thread_count=F("thread_count") + 1, post_count=F("post_count") + 1,
            last_activity_at=when,
        )
        await User.filter(id=actor.id).update(thread_count=F("thread_count") + 1)
    return thread


async def reply(
    *, actor: User | None, thread_id: int, body: str, limiter: RateLimiter | None = None,
    created_at: datetime | None = None, trust: NewMemberLimits | None = None,
) -> Post:
    """Add a reply at the end of a thread (the post has `post.thread`: its id and slug)."""
    actor = _require_user(actor)
    errors: dict[str, str] = {}
    body = _check_body(body, errors)
    if errors:
        raise ValidationFailed(errors)
    # Everything that takes CPU or reads happens before the write transaction.
    html = render_markdown(body)
    links = count_links(html)
    if trust is not None:
        await trust.check(actor, links)
    throttle(limiter, actor)
    try:
        return await posting.add_reply(
            thread_id=thread_id, author_id=actor.id, body=body, html=html, links=links,
            when=created_at or now(), may_reply_when_locked=permissions.is_moderator(actor),
        )
    except posting.ThreadClosed:
        thread = await Thread.get_or_none(id=thread_id)
        if thread is None or thread.deleted_at is not None:
            raise NotFound("That thread doesn't exist.") from None
        raise NotAllowed("This thread is locked: it no longer takes replies.") from None


async def _post_and_thread(post_id: int) -> tuple[Post, Thread]:
    post = await Post.get_or_none(id=post_id)
    if post is None:
        raise NotFound("That post doesn't exist.")
    thread = await _locked_thread(post.thread_id)  # type: ignore[attr-defined]
    return post, thread


async def edit_post(
    *, actor: User | None, post_id: int, body: str, title: str | None = None,
    tags: str | list[str] | None = None,
) -> Post:
    """Change a post's text, keeping the previous text as a revision.

    For the opening post, `title` and `tags` change the thread too.
    """
    actor = _require_user(actor)
    errors: dict[str, str] = {}
    body = _check_body(body, errors)
    new_title = _check_title(title, errors) if title is not None else None
    new_tags = parse_tags(tags, errors) if tags is not None else None
    if errors:
        raise ValidationFailed(errors)
    html = render_markdown(body)
    async with write_transaction():
        post, thread = await _post_and_thread(post_id)
        if not permissions.can_edit_post(actor, post, thread):
            raise NotAllowed("You can only edit your own posts in open threads.")
        await PostRevision.create(
            post=post, editor=actor, title=thread.title if post.is_opening else "",
            body_source=post.body_source, body_html=post.body_html,
        )
        post.body_source, post.body_html, post.link_count = body, html, count_links(html)
        post.edited_at = now()
        post.edit_count += 1
        await post.save(
            update_fields=["body_source", "body_html", "link_count", "edited_at", "edit_count"]
        )
        if post.is_opening and (new_title is not None or new_tags is not None):
            if new_title is not None:
                thread.title, thread.slug = new_title, slugify(new_title)
            if new_tags is not None:
                thread.tags = new_tags
            await thread.save(update_fields=["title", "slug", "tags"])
            # Every reply's document carries the thread's title and tags.
            await _enqueue_whole_thread(thread.id)
        else:
            await outbox.enqueue([_doc_id(post)])
    return post


async def delete_post(*, actor: User | None, post_id: int) -> Post:
    """Soft-delete a reply (the opening post deletes the thread)."""
    actor = _require_user(actor)
    async with write_transaction():
        post, thread = await _post_and_thread(post_id)
        if not permissions.can_delete_post(actor, post, thread):
            raise NotAllowed("You can only delete your own posts.")
        if post.is_opening:
            if thread.reply_count and not permissions.is_moderator(actor):
                raise NotAllowed(
                    "Others have replied, so the question can't be deleted. Edit it, or ask a moderator."
                )
            await _set_thread_deleted(thread, deleted=True)
            await _enqueue_whole_thread(thread.id)
            return post
        if post.deleted_at is not None:
            return post
        post.deleted_at, post.deleted_by = now(), actor  # type: ignore[assignment]
        await post.save(update_fields=["deleted_at", "deleted_by_id"])
        changes: dict[str, object] = {"reply_count": F("reply_count") - 1}
        if thread.accepted_post_id == post.id:  # type: ignore[attr-defined]
            changes["accepted_post_id"] = None
        await Thread.filter(id=thread.id).update(**changes)
        await _after_reply_visibility_change(thread, post, sign=-1)
        await outbox.enqueue([post_doc_id(post.id), thread_doc_id(thread.id)])
    return post


async def restore_post(*, actor: User | None, post_id: int) -> Post:
    """A moderator brings back a deleted reply."""
    actor = _require_user(actor)
    if not permissions.is_moderator(actor):
        raise NotAllowed("Only moderators can restore deleted posts.")
    async with write_transaction():
        post, thread = await _post_and_thread(post_id)
        if post.is_opening:
            await _set_thread_deleted(thread, deleted=False)
            await _enqueue_whole_thread(thread.id)
            return post
        if post.deleted_at is None:
            return post
        post.deleted_at, post.deleted_by = None, None  # type: ignore[assignment]
        await post.save(update_fields=["deleted_at", "deleted_by_id"])
        await Thread.filter(id=thread.id).update(reply_count=F("reply_count") + 1)
        await _after_reply_visibility_change(thread, post, sign=1)
        await outbox.enqueue([post_doc_id(post.id)])
    return post


async def _after_reply_visibility_change(thread: Thread, post: Post, *, sign: int) -> None:
    """Counters and "last post" after a reply is hidden (-1) or shown (+1).

    Topic and member counts only cover visible threads: while the thread is
    deleted they were already taken out (see `_set_thread_deleted`).
    """
    if thread.deleted_at is None:
        await Topic.filter(id=thread.topic_id).update(post_count=F("post_count") + sign)  # type: ignore[attr-defined]
        await User.filter(id=post.author_id).update(reply_count=F("reply_count") + sign)  # type: ignore[attr-defined]
    # A deleted reply (spam, say) must not stay credited as the thread's latest.
    latest = await Post.filter(thread_id=thread.id, deleted_at=None).order_by("-number").first()
    if latest is not None:
        await Thread.filter(id=thread.id).update(
            last_poster_id=latest.author_id, last_activity_at=latest.created_at  # type: ignore[attr-defined]
        )


async def _set_thread_deleted(thread: Thread, *, deleted: bool) -> None:
    """Hide or show a thread; the caller holds the transaction."""
    if (thread.deleted_at is not None) == deleted:
        return
    sign = -1 if deleted else 1
    thread.deleted_at = now() if deleted else None
    await thread.save(update_fields=["deleted_at"])
    await Topic.filter(id=thread.topic_id).update(  # type: ignore[attr-defined]
        thread_count=F("thread_count") + sign,
        post_count=F("post_count") + sign * (thread.reply_count + 1),
    )
    await User.filter(id=thread.author_id).update(thread_count=F("thread_count") + sign)  # type: ignore[attr-defined]
    # Members' reply counts cover visible threads only, as their profiles do.
    per_author = await Post.filter(
        thread_id=thread.id, number__gt=1, deleted_at=None
    ).annotate(replies=Count("id")).group_by("author_id").values_list("author_id", "replies")
    for author_id, replies in per_author:
        await User.filter(id=author_id).update(reply_count=F("reply_count") + sign * replies)


async def toggle_helpful(*, actor: User | None, post_id: int) -> tuple[Post, bool]:
    """Mark a post helpful, or take the mark back. Returns the post and the new state."""
    actor = _require_user(actor)
    async with write_transaction():
        post = await Post.get_or_none(id=post_id, deleted_at=None).select_related("thread")
        if post is None or not permissions.can_see_thread(actor, post.thread):
            raise NotFound("That post doesn't exist.")
        if not permissions.can_mark_helpful(actor, post):
            raise NotAllowed("You can't mark your own post as helpful.")
        removed = await HelpfulVote.filter(post_id=post.id, user_id=actor.id).delete()
        if removed:
            await Post.filter(id=post.id).update(helpful_count=F("helpful_count") - 1)
        else:
            await HelpfulVote.create(post=post, user=actor)
            await Post.filter(id=post.id).update(helpful_count=F("helpful_count") + 1)
        await post.refresh_from_db(fields=["helpful_count"])
    return post, not removed


async def accept_answer(*, actor: User | None, thread_id: int, post_id: int | None) -> Thread:
    """Mark `post_id` as the accepted answer (None, or the current one, clears it)."""
    actor = _require_user(actor)
    async with write_transaction():
        thread = await _locked_thread(thread_id)
        if thread.deleted_at is not None:
            raise NotFound("That thread doesn't exist.")
        if not permissions.can_accept(actor, thread):
            raise NotAllowed("Only the asker or a moderator can accept an answer.")
        previous = thread.accepted_post_id  # type: ignore[attr-defined]
        if post_id is None or post_id == previous:
            thread.accepted_post = None  # type: ignore[assignment]
        else:
            post = await Post.get_or_none(id=post_id, thread_id=thread.id, deleted_at=None)
            if post is None or post.is_opening:
                raise NotFound("That reply doesn't exist in this thread.")
            thread.accepted_post = post  # type: ignore[assignment]
        await thread.save(update_fields=["accepted_post_id"])
        # The thread's "solved" and both answers' "accepted" marks change.
        changed = [previous, thread.accepted_post_id]  # type: ignore[attr-defined]
        await outbox.enqueue(
            [thread_doc_id(thread.id)] + [post_doc_id(i) for i in changed if i is not None]
        )
    return thread


async def moderate_thread(
    *, actor: User | None, thread_id: int, locked: bool | None = None,
    pinned: bool | None = None, topic_slug: str | None = None, deleted: bool | None = None,
) -> Thread:
    """A moderator locks, pins, moves, deletes or restores a thread."""
    actor = _require_user(actor)
    if not permissions.is_moderator(actor):
        raise NotAllowed("Only moderators can do that.")
    async with write_transaction():
        thread = await _locked_thread(thread_id)
        fields: list[str] = []
        if locked is not None:
            thread.is_locked = locked
            fields.append("is_locked")
        if pinned is not None:
            thread.is_pinned = pinned
            fields.append("is_pinned")
        if topic_slug is not None and topic_slug != "":
            topic = await Topic.get_or_none(slug=topic_slug)
            if topic is None:
                raise ValidationFailed({"topic": "Choose a topic."})
            if topic.id != thread.topic_id and thread.deleted_at is None:  # type: ignore[attr-defined]
                posts = thread.reply_count + 1
                await Topic.filter(id=thread.topic_id).update(  # type: ignore[attr-defined]
                    thread_count=F("thread_count") - 1, post_count=F("post_count") - posts
                )
                await Topic.filter(id=topic.id).update(
                    thread_count=F("thread_count") + 1, post_count=F("post_count") + posts
                )
            thread.topic = topic
            fields.append("topic_id")
        if fields:
            await thread.save(update_fields=fields)
        if deleted is not None:
            await _set_thread_deleted(thread, deleted=deleted)
        if "topic_id" in fields or deleted is not None:
            await _enqueue_whole_thread(thread.id)
    return thread


def _doc_id(post: Post) -> str:
    return thread_doc_id(post.thread_id) if post.is_opening else post_doc_id(post.id)  # type: ignore[attr-defined]


async def _enqueue_whole_thread(thread_id: int) -> None:
    """Reindex a thread and all its replies (after a move, deletion or new title)."""
    reply_ids = await Post.filter(thread_id=thread_id, number__gt=1).values_list("id", flat=True)
    await outbox.enqueue([thread_doc_id(thread_id)] + [post_doc_id(i) for i in reply_ids])
