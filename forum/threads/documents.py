"""Threads and replies as search documents."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence

from forum.content.markdown import plain_text
from forum.threads.models import Post, Thread
from search_index.backend import SearchDoc, content_version

PUBLIC = ("public",)


def thread_doc_id(thread_id: int) -> str:
    return f"thread-{thread_id}"


def post_doc_id(post_id: int) -> str:
    return f"post-{post_id}"


def _versioned(doc: SearchDoc) -> SearchDoc:
    return dataclasses.replace(doc, version=content_version(doc))


def _thread_doc(thread: Thread, opening: Post) -> SearchDoc:
    return _versioned(SearchDoc(
        id=thread_doc_id(thread.id), kind=str(thread.kind),
        title=thread.title, body=plain_text(opening.body_source), url=thread.url, acl=PUBLIC,
        tags=tuple(thread.tags), topic=thread.topic.slug, solved=thread.is_solved,
        author=thread.author.username, created_at=thread.created_at,
        updated_at=opening.edited_at or thread.created_at,
    ))


def _post_doc(post: Post) -> SearchDoc:
    thread = post.thread
    body = plain_text(post.body_source)
    # A reply's headline is its own opening words, not the thread's title: the title
    # would make every reply of a thread match (and flood) a search for its words.
    return _versioned(SearchDoc(
        id=post_doc_id(post.id), kind="reply", title=_headline(body),
        body=body, url=f"/t/{thread.id}/p/{post.number}", acl=PUBLIC,
        tags=tuple(thread.tags), topic=thread.topic.slug,
        solved=thread.accepted_post_id == post.id,  # type: ignore[attr-defined]
        author=post.author.username, created_at=post.created_at,
        updated_at=post.edited_at or post.created_at,
    ))


def _headline(text: str, length: int = 90) -> str:
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


async def load_thread_docs(thread_ids: Sequence[int]) -> dict[str, SearchDoc | None]:
    """Current documents for these threads; None for deleted or missing ones."""
    found: dict[str, SearchDoc | None] = {thread_doc_id(i): None for i in thread_ids}
    if not thread_ids:
        return found
    openings = await Post.filter(thread_id__in=list(thread_ids), number=1).select_related(
        "thread__topic", "thread__author"
    )
    for opening in openings:
        thread = opening.thread
        if thread.deleted_at is None:
            found[thread_doc_id(thread.id)] = _thread_doc(thread, opening)
    return found


async def load_post_docs(post_ids: Sequence[int]) -> dict[str, SearchDoc | None]:
    """Current documents for these replies; None for deleted ones or deleted threads."""
    found: dict[str, SearchDoc | None] = {post_doc_id(i): None for i in post_ids}
    if not post_ids:
        return found
    posts = await Post.filter(id__in=list(post_ids), number__gt=1).select_related(
        "thread__topic", "author"
    )
    for post in posts:
        if post.deleted_at is None and post.thread.deleted_at is None:
            found[post_doc_id(post.id)] = _post_doc(post)
    return found


async def all_doc_ids(batch: int = 2000) -> AsyncIterator[list[str]]:
    """Every thread and reply that should be searchable, in batches of ids."""
    last = 0
    while True:
        ids = await Thread.filter(id__gt=last, deleted_at=None).order_by("id").limit(batch).values_list("id", flat=True)
        if not ids:
            break
        yield [thread_doc_id(i) for i in ids]
        last = ids[-1]
    last = 0
    while True:
        ids = await Post.filter(
            id__gt=last, number__gt=1, deleted_at=None, thread__deleted_at=None
        ).order_by("id").limit(batch).values_list("id", flat=True)
        if not ids:
            break
        yield [post_doc_id(i) for i in ids]
        last = ids[-1]
