"""Builders for playbook tests, through the real services."""

from __future__ import annotations

import itertools

from forum.accounts.models import Role, User
from forum.playbooks import services
from forum.playbooks.content import Draft, StepDraft
from forum.playbooks.models import Playbook
from tests.factories import make_user

_ids = itertools.count(1)


def steps(count: int = 3, *, items: int = 2) -> list[StepDraft]:
    return [
        StepDraft(
            title=f"Step about the admission agreement {n}",
            body=f"Ask the fund for the **draft agreement** early (part {n}).",
            checklist="\n".join(f"Check item {n}.{i}" for i in range(1, items + 1)),
        )
        for n in range(1, count + 1)
    ]


def draft(**changes) -> Draft:
    values = dict(
        title="Getting admitted body status for your LGPS pensions",
        summary="How a spun-out mutual joins the Local Government Pension Scheme as an admitted body.",
        body="Start *early*: funds take months.", stage="tupe-pensions", topic="", tags="lgps tupe",
        steps=steps(), resources="Fund guide | https://example.org/guide | what the fund expects",
    )
    values.update(changes)
    return Draft(**values)


async def make_mentor(username: str | None = None, **fields) -> User:
    return await make_user(username, role=Role.MENTOR, **fields)


async def make_playbook(author: User | None = None, **changes) -> Playbook:
    author = author or await make_mentor()
    if "title" not in changes:
        changes["title"] = f"Getting admitted body status, take {next(_ids)}"
    return await services.create_playbook(actor=author, draft=draft(**changes))


async def edit(playbook: Playbook, actor: User, note: str = "Tidied the wording", **changes) -> Playbook:
    """Edit from the playbook's current revision, changing `changes` of its content."""
    from forum.playbooks.content import draft_of

    current = await Playbook.get(id=playbook.id).select_related("topic")
    base = draft_of(current, current.topic.slug if current.topic else "")
    for name, value in changes.items():
        setattr(base, name, value)
    return await services.edit_playbook(
        actor=actor, playbook_id=playbook.id, draft=base,
        base_revision=current.revision_number, change_note=note,
    )
