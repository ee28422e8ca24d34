"""Builders for test data, through the real services where it matters."""

from __future__ import annotations

import itertools
from functools import lru_cache

from forum.accounts import passwords
from forum.accounts.models import Role, User
from forum.threads import services
from forum.threads.models import Post, Thread, Topic

PASSWORD = "correct horse battery"
_ids = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Hashing once per run keeps the suite fast; each test still verifies for real.
    return passwords._hasher.hash(PASSWORD)


async def make_user(username: str | None = None, *, role: Role = Role.MEMBER, **fields) -> User:
    username = username or f"member{next(_ids)}"
    return await User.create(
        username=username, username_key=username.lower(),
        display_name=fields.pop("display_name", username.title()),
        email=fields.pop("email", f"{username.lower()}@example.org"),
        password_hash=_password_hash(), role=role, **fields,
    )


async def make_topic(slug: str | None = None, name: str | None = None) -> Topic:
    slug = slug or f"topic-{next(_ids)}"
    return await Topic.create(slug=slug, name=name or slug.replace("-", " ").title())


async def make_thread(
    author: User | None = None, topic: Topic | None = None, *, kind: str = "question",
    title: str = "How do we get admitted body status?", body: str = "We are spinning out.",
    tags: str = "",
) -> Thread:
    author = author or await make_user()
    topic = topic or await make_topic()
    return await services.create_thread(
        actor=author, topic_slug=topic.slug, kind=kind, title=title, body=body, tags=tags
    )


async def make_reply(thread: Thread, author: User | None = None, body: str = "Ask early.") -> Post:
    author = author or await make_user()
    return await services.reply(actor=author, thread_id=thread.id, body=body)


async def make_organisation(slug: str | None = None, **fields):
    from forum.people.models import Organisation

    slug = slug or f"org-{next(_ids)}"
    return await Organisation.create(
        slug=slug, name=fields.pop("name", slug.replace("-", " ").title()), **fields
    )


async def make_mentor(username: str | None = None, *, expertise=("lgps", "tupe"),
                      sectors=("Youth services",), stages=(), topics=(), capacity: int = 3,
                      is_open: bool = True, **fields) -> User:
    """An approved mentor with their mentor profile."""
    from tortoise.timezone import now

    from forum.people.models import MentorProfile, MentorStatus

    mentor = await make_user(username, role=Role.MENTOR, **fields)
    await MentorProfile.create(
        user=mentor, status=MentorStatus.APPROVED, expertise=list(expertise),
        sectors=list(sectors), stages=list(stages), topics=list(topics), capacity=capacity,
        is_open=is_open, background="Twenty years of spin-outs.", applied_at=now(),
        decided_at=now(),
    )
    return mentor
