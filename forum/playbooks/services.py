"""Playbook services: values in, a playbook or a domain error out.

Every saved change of content writes a numbered revision and an outbox row in
the same transaction. Edits are optimistic: the editor says which revision they
started from, and a save on top of a newer one is refused with `EditConflict`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.timezone import now

from forum.accounts.models import User
from forum.content.slugs import slugify
from forum.db import write_transaction
from forum.errors import Conflict, NotAllowed, NotFound, SignInRequired, ValidationFailed
from forum.playbooks import permissions
from forum.playbooks.content import NOTE_MAX, NOTE_MIN, Draft, check_draft
from forum.playbooks.documents import playbook_doc_id
from forum.playbooks.models import CONTENT_FIELDS, Playbook, PlaybookMaintainer, PlaybookRevision
from forum.threads.models import Topic
from search_index import outbox

# How long a verified playbook stays fresh before a mentor should look again.
REVIEW_INTERVAL = timedelta(days=182)
MAX_MAINTAINERS = 6
# Addresses under /playbooks/ that are pages, not playbooks.
RESERVED_SLUGS = frozenset({"new", "due", "suggestions"})


class EditConflict(Conflict):
    """Someone saved the playbook after this editor started: both versions, for the page."""

    def __init__(self, current: Playbook, draft: Draft, change_note: str, base_revision: int) -> None:
        super().__init__(
            f"{current.title!r} was changed (revision {current.revision_number}) "
            f"after you started editing revision {base_revision}."
        )
        self.current, self.draft = current, draft
        self.change_note, self.base_revision = change_note, base_revision


def require_user(actor: User | None) -> User:
    if actor is None:
        raise SignInRequired("Please sign in to do that.")
    return actor


def today() -> date:
    return now().date()


def check_note(note: str, errors: dict[str, str]) -> str:
    note = " ".join(note.split())
    if len(note) < NOTE_MIN:
        errors["change_note"] = "Say in a few words what you changed and why."
    elif len(note) > NOTE_MAX:
        errors["change_note"] = f"Keep the change note under {NOTE_MAX} characters."
    return note


def parse_revision(raw: str | int, name: str = "base_revision") -> int:
    """A revision number from a form; anything else is a bad request."""
    value = str(raw).strip()
    if not value.isdigit() or int(value) < 1:
        raise ValidationFailed({name: "That isn't a revision number."})
    return int(value)


async def _topic_id(slug: str, errors: dict[str, str]) -> int | None:
    if not slug:
        return None
    topic = await Topic.get_or_none(slug=slug)
    if topic is None:
        errors["topic"] = "Choose a topic from the list, or none."
        return None
    return topic.id


async def _content(draft: Draft, errors: dict[str, str]) -> dict[str, Any]:
    content = check_draft(draft, errors)
    content["topic_id"] = await _topic_id(draft.topic, errors)
    return content


async def _free_slug(title: str) -> str:
    base = slugify(title, max_length=72)
    taken = RESERVED_SLUGS | set(
        await Playbook.filter(slug__startswith=base).values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


async def maintainer_ids(playbook_id: int) -> set[int]:
    return set(
        await PlaybookMaintainer.filter(playbook_id=playbook_id).values_list("user_id", flat=True)
    )


async def locked_playbook(playbook_id: int) -> Playbook:
    """The playbook, locked for update (PostgreSQL; SQLite already holds the write lock)."""
    playbook = await Playbook.filter(id=playbook_id).select_for_update().first()
    if playbook is None:
        raise NotFound("That playbook doesn't exist.")
    return playbook


async def record_revision(
    playbook: Playbook, author: User, note: str, when: datetime, restored_from: int | None = None
) -> PlaybookRevision:
    """Snapshot the playbook's current content as its revision `revision_number`."""
    revision = await PlaybookRevision.create(
        playbook_id=playbook.id, number=playbook.revision_number, author_id=author.id,
        created_at=when, change_note=note, restored_from=restored_from,
        **{name: getattr(playbook, name) for name in CONTENT_FIELDS},
    )
    await outbox.enqueue([playbook_doc_id(playbook.id)])
    return revision


async def create_playbook(
    *, actor: User | None, draft: Draft, change_note: str = "First version",
    slug: str | None = None, created_at: datetime | None = None,
    source_thread_id: int | None = None,
) -> Playbook:
    """Write a new playbook as revision 1, with its author as maintainer."""
    actor = require_user(actor)
    if not permissions.can_create(actor):
        raise NotAllowed("Mentors and moderators write playbooks. Any member can suggest edits.")
    errors: dict[str, str] = {}
    content = await _content(draft, errors)
    note = check_note(change_note, errors)
    if errors:
        raise ValidationFailed(errors)
    when = created_at or now()
    async with write_transaction():
        playbook = await Playbook.create(
            slug=slug or await _free_slug(content["title"]), revision_number=1,
            review_by=when.date() + REVIEW_INTERVAL, created_by_id=actor.id,
            updated_by_id=actor.id, created_at=when, updated_at=when,
            source_thread_id=source_thread_id, **content,
        )
        await PlaybookMaintainer.create(playbook_id=playbook.id, user_id=actor.id)
        await record_revision(playbook, actor, note, when)
    return playbook


async def edit_playbook(
    *, actor: User | None, playbook_id: int, draft: Draft, base_revision: int,
    change_note: str, edited_at: datetime | None = None,
) -> Playbook:
    """Save `draft` as the next revision, if nobody saved since `base_revision`."""
    actor = require_user(actor)
    errors: dict[str, str] = {}
    content = await _content(draft, errors)
    note = check_note(change_note, errors)
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        playbook = await locked_playbook(playbook_id)
        if not permissions.can_edit(actor, await maintainer_ids(playbook.id)):
            raise NotAllowed("Only maintainers, mentors and moderators edit playbooks. Suggest an edit instead.")
        if playbook.revision_number != base_revision:
            raise EditConflict(playbook, draft, note, base_revision)
        if all(getattr(playbook, name) == content[name] for name in CONTENT_FIELDS):
            raise ValidationFailed({"__all__": "Nothing has changed: there is nothing to save."})
        await apply_content(playbook, content, actor, note, edited_at or now())
    return playbook


async def apply_content(
    playbook: Playbook, content: dict[str, Any], actor: User, note: str, when: datetime,
    restored_from: int | None = None,
) -> PlaybookRevision:
    """Make `content` the playbook's next revision; the caller holds the lock."""
    for name, value in content.items():
        setattr(playbook, name, value)
    playbook.revision_number += 1
    playbook.updated_at, playbook.updated_by_id = when, actor.id  # type: ignore[attr-defined]
    await playbook.save(
        update_fields=[*content, "revision_number", "updated_at", "updated_by_id"]
    )
    return await record_revision(playbook, actor, note, when, restored_from)


async def restore_revision(
    *, actor: User | None, playbook_id: int, number: int, base_revision: int
) -> Playbook:
    """Bring back revision `number`'s content as a new revision."""
    actor = require_user(actor)
    async with write_transaction():
        playbook = await locked_playbook(playbook_id)
        if not permissions.can_restore(actor, await maintainer_ids(playbook.id)):
            raise NotAllowed("Only maintainers, mentors and moderators restore revisions.")
        if playbook.revision_number != base_revision:
            raise Conflict(
                f"The playbook changed (it is now at revision {playbook.revision_number}) "
                "since you opened its history. Look again before restoring."
            )
        old = await PlaybookRevision.get_or_none(playbook_id=playbook.id, number=number)
        if old is None:
            raise NotFound("That revision doesn't exist.")
        if number == playbook.revision_number:
            raise ValidationFailed({"__all__": "That revision is already the current version."})
        content = {name: getattr(old, name) for name in CONTENT_FIELDS}
        await apply_content(playbook, content, actor, f"Restored revision {number}", now(), number)
    return playbook


async def verify_playbook(*, actor: User | None, playbook_id: int) -> Playbook:
    """A mentor vouches the playbook is still right: the review date moves on."""
    actor = require_user(actor)
    if not permissions.can_verify(actor):
        raise NotAllowed("Mentors and moderators verify playbooks.")
    async with write_transaction():
        playbook = await locked_playbook(playbook_id)
        when = now()
        playbook.last_verified_by_id, playbook.last_verified_at = actor.id, when  # type: ignore[attr-defined]
        playbook.review_by = when.date() + REVIEW_INTERVAL
        await playbook.save(update_fields=["last_verified_by_id", "last_verified_at", "review_by"])
    return playbook


async def set_maintainers(*, actor: User | None, playbook_id: int, usernames: str) -> list[User]:
    """Replace the playbook's maintainers with these members (by username)."""
    actor = require_user(actor)
    names = list(dict.fromkeys(n.lower().lstrip("@") for n in re.split(r"[,\s]+", usernames) if n))
    if not names:
        raise ValidationFailed({"maintainers": "Keep at least one maintainer."})
    if len(names) > MAX_MAINTAINERS:
        raise ValidationFailed({"maintainers": f"Name at most {MAX_MAINTAINERS} maintainers."})
    users = {u.username_key: u for u in await User.filter(username_key__in=names, is_active=True)}
    if missing := [n for n in names if n not in users]:
        raise ValidationFailed({"maintainers": f"There is no member called {missing[0]!r}."})
    async with write_transaction():
        playbook = await locked_playbook(playbook_id)
        current = await maintainer_ids(playbook.id)
        if not permissions.can_manage_maintainers(actor, current):
            raise NotAllowed("Only the playbook's maintainers and moderators choose its maintainers.")
        wanted = {u.id for u in users.values()}
        await PlaybookMaintainer.filter(playbook_id=playbook.id, user_id__in=current - wanted).delete()
        await PlaybookMaintainer.bulk_create(
            [PlaybookMaintainer(playbook_id=playbook.id, user_id=i) for i in sorted(wanted - current)]
        )
    return [users[n] for n in names]
