"""Who may do what to threads and posts. Services check these; templates only mirror them."""

from __future__ import annotations

from forum.accounts.models import User
from forum.threads.models import Post, Thread


def is_moderator(user: User | None) -> bool:
    return user is not None and user.is_moderator


def can_see_thread(user: User | None, thread: Thread) -> bool:
    return thread.deleted_at is None or is_moderator(user)


def can_reply(user: User | None, thread: Thread) -> bool:
    if user is None or thread.deleted_at is not None:
        return False
    return not thread.is_locked or is_moderator(user)


def can_edit_post(user: User | None, post: Post, thread: Thread) -> bool:
    if user is None:
        return False
    if is_moderator(user):
        return True
    return (
        post.author_id == user.id  # type: ignore[attr-defined]
        and post.deleted_at is None
        and not thread.is_locked
        and thread.deleted_at is None
    )


def can_delete_post(user: User | None, post: Post, thread: Thread) -> bool:
    return can_edit_post(user, post, thread)


def can_accept(user: User | None, thread: Thread) -> bool:
    if user is None or not thread.is_question:
        return False
    return thread.author_id == user.id or is_moderator(user)  # type: ignore[attr-defined]


def can_mark_helpful(user: User | None, post: Post) -> bool:
    return user is not None and post.author_id != user.id and post.deleted_at is None  # type: ignore[attr-defined]
