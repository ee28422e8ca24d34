"""The read side of people: member profiles."""

from __future__ import annotations

from dataclasses import dataclass

from forum.accounts.models import User
from forum.errors import NotFound
from forum.threads.models import Post, Thread

@dataclass
class ProfilePage:
    member: User
    threads: list[Thread]
    answers: list[Post]


async def profile_page(username: str, limit: int = 20) -> ProfilePage:
    member = await User.get_or_none(username_key=username.lower()).select_related("organisation")
    if member is None or not member.is_active:
        raise NotFound("There is no member with that username.")
    threads = await Thread.filter(deleted_at=None).filter(author_id=member.id).order_by(
        "-created_at"
    ).limit(limit).select_related("topic")
    answers = await Post.filter(
        author_id=member.id, number__gt=1, deleted_at=None, thread__deleted_at=None
    ).order_by("-created_at").limit(limit).select_related("thread")
    return ProfilePage(member=member, threads=list(threads), answers=list(answers))
