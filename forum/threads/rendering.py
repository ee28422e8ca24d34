"""The thread page body, rendered once per class of viewer and filled in per member.

Drawing thirty posts with their forms is most of what a signed-in thread page
costs, yet two members who may do the same things see the same posts, buttons
and links. So the body is rendered for a *class* of viewer — anonymous, or
signed in with a role (member, mentor, moderator) and whether they asked the
question — and kept, with the posts it was drawn from, until the content stamp
moves (any write) or `FragmentCache.max_age` passes. What differs between two
members of a class is left as slots (`forum.caching.fragments`) and filled per
request from the member alone:

- their CSRF token, in every form;
- their helpful marks (one query), and no helpful button on their own posts;
- edit links and delete buttons on their own posts.

Everything that needs the member's name or typing (the header, the reply form)
is drawn per request around the body. Who may see the thread at all is checked
on every request, kept or not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

import jinja2
from markupsafe import Markup

from forum.accounts.models import Role, RoleChecks, User
from forum.caching import stamps
from forum.caching.fragments import Entry, Fragment, FragmentCache, Personal, Slot
from forum.caching.pages import SCOPE_KEY
from forum.errors import NotFound
from forum.playbooks import permissions as playbook_permissions
from forum.playbooks.models import Playbook
from forum.playbooks.queries import playbooks_for_thread
from forum.threads import permissions, queries
from forum.threads.models import Post, Thread

NOBODY = 0  # no member has this id: the stand-in of a class owns no post


@dataclass(frozen=True)
class Viewer(RoleChecks):
    """Stands for every member of a class while their shared body is drawn.

    It has just what the permission checks read (`id`, `role`), so a template
    that reached for anything personal (a name, an email) fails instead of
    showing one member's data to another.
    """

    id: int
    role: str

    def owning(self, post: Post) -> Viewer:
        """The same class, as the author of `post` would see it."""
        return replace(self, id=post.author_id)  # type: ignore[attr-defined]


def viewer_class(user: User | None, thread: Thread) -> Viewer | None:
    """The stand-in for everyone who sees `thread` as `user` does (None: anonymous)."""
    if user is None:
        return None
    role = Role.MODERATOR if user.is_moderator else Role.MENTOR if user.is_mentor else Role.MEMBER
    asker = user.id == thread.author_id  # type: ignore[attr-defined]
    return Viewer(id=thread.author_id if asker else NOBODY, role=role)  # type: ignore[attr-defined]


@dataclass
class ThreadContent:
    """What a page of a thread shows every viewer: kept between requests."""

    page: queries.ThreadPage
    playbooks: list[Playbook]


@dataclass
class ThreadBody:
    """A thread page for one request: its data, and the body filled for the viewer."""

    page: queries.ThreadPage
    content: Markup


class ThreadBodies:
    """Thread page bodies of one web process (see the module)."""

    def __init__(self, env: jinja2.Environment, cache: FragmentCache[ThreadContent]) -> None:
        self.env = env
        self.cache = cache

    async def body(
        self, scope: dict[str, Any], thread_id: int, *, page: int, size: int,
        user: User | None, csrf_token: Callable[[], str],
    ) -> ThreadBody:
        """The page `page` of `thread_id` as `user` sees it; NotFound if they may not."""
        entry = await self._entry(scope, thread_id, page, size)
        thread = entry.value.page.thread
        if not permissions.can_see_thread(user, thread):
            raise NotFound("That thread doesn't exist or was deleted.")
        viewer = viewer_class(user, thread)
        key: Hashable = viewer or "anonymous"
        fragment = entry.fragments.get(key)
        if fragment is None:
            fragment = entry.fragments[key] = await self._render(entry.value, viewer)
        helpful: set[int] = set()
        if user is not None and any(slot.kind == "helpful" for slot in fragment.slots):
            helpful = await queries.helpful_marks(user, entry.value.page.post_ids)
        member_id = user.id if user is not None else None

        def choose(slot: Slot) -> str:
            if slot.kind == "helpful":
                post_id, author_id = slot.key  # type: ignore[misc]
                if author_id == member_id:
                    return slot.variants["mine"]
                return slot.variants["marked" if post_id in helpful else "unmarked"]
            # "own": shown only to the member who wrote the post.
            return slot.variants["mine"] if slot.key == member_id else ""

        return ThreadBody(entry.value.page, fragment.fill(choose, csrf_token))

    async def _entry(
        self, scope: dict[str, Any], thread_id: int, page: int, size: int
    ) -> Entry[ThreadContent]:
        key = (thread_id, page, size)
        stamp = 0
        if self.cache.enabled:
            # Read before the content, so that content read while a change commits is
            # filed under the old stamp. An anonymous page read it already (@shared_page).
            stamp = scope[SCOPE_KEY] if SCOPE_KEY in scope else await stamps.read(stamps.CONTENT)
            entry = self.cache.get(key, stamp)
            if entry is not None:
                return entry
        data = await queries.thread_page(thread_id, page=page, size=size)
        content = ThreadContent(data, await playbooks_for_thread(data.thread))
        return self.cache.keep(key, stamp, content)

    async def _render(self, content: ThreadContent, viewer: Viewer | None) -> Fragment:
        thread = content.page.thread
        # Only moderators see the "move to topic" control, so only they pay for the list.
        topics = await queries.all_topics() if permissions.is_moderator(viewer) else []  # type: ignore[arg-type]
        personal = Personal()
        html = self.env.get_template("threads/_thread_content.html").render(
            data=content.page, thread=thread, user=viewer, can=permissions, topics=topics,
            playbooks=content.playbooks, personal=personal, csrf_token=personal.csrf_token,
            can_promote=thread.is_solved and playbook_permissions.can_create(viewer),  # type: ignore[arg-type]
        )
        return personal.cut(html)
