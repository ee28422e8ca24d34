"""Playbooks as search documents."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence

from forum.content.markdown import plain_text
from forum.playbooks.models import Playbook
from search_index.backend import SearchDoc, content_version

PUBLIC = ("public",)
KIND = "playbook"


def playbook_doc_id(playbook_id: int) -> str:
    return f"{KIND}-{playbook_id}"


def _body(playbook: Playbook) -> str:
    """Everything a reader can find words in: summary, introduction, steps, checklists."""
    parts = [playbook.summary, plain_text(playbook.body_source)]
    for step in playbook.steps:
        parts += [step["title"], plain_text(step["body"]), *step["checklist"]]
    parts += [f"{r['title']} {r['note']}" for r in playbook.resources]
    return " ".join(part for part in parts if part)


def playbook_doc(playbook: Playbook) -> SearchDoc:
    doc = SearchDoc(
        id=playbook_doc_id(playbook.id), kind=KIND, title=playbook.title, body=_body(playbook),
        url=playbook.url, acl=PUBLIC, tags=tuple(playbook.tags),
        topic=playbook.topic.slug if playbook.topic else "", stage=str(playbook.stage),
        author=playbook.created_by.username, created_at=playbook.created_at,
        updated_at=playbook.updated_at,
    )
    return dataclasses.replace(doc, version=content_version(doc))


async def load_playbook_docs(playbook_ids: Sequence[int]) -> dict[str, SearchDoc | None]:
    """Current documents for these playbooks; None for missing ones."""
    found: dict[str, SearchDoc | None] = {playbook_doc_id(i): None for i in playbook_ids}
    if not playbook_ids:
        return found
    for playbook in await Playbook.filter(id__in=list(playbook_ids)).select_related(
        "topic", "created_by"
    ):
        found[playbook_doc_id(playbook.id)] = playbook_doc(playbook)
    return found


async def all_playbook_doc_ids(batch: int = 2000) -> AsyncIterator[list[str]]:
    """Every playbook, in batches of document ids."""
    last = 0
    while True:
        ids = await Playbook.filter(id__gt=last).order_by("id").limit(batch).values_list("id", flat=True)
        if not ids:
            break
        yield [playbook_doc_id(i) for i in ids]
        last = ids[-1]
