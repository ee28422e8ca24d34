"""Mentorship messages as search documents, visible only to their space ("space:{id}")."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence

from forum.content.markdown import plain_text
from forum.mentoring.models import SpaceMessage
from search_index.backend import SearchDoc, content_version


def message_doc_id(message_id: int) -> str:
    return f"message-{message_id}"


def space_principal(space_id: int) -> str:
    """The ACL principal of everything in a space: only its participants hold it."""
    return f"space:{space_id}"


def _message_doc(message: SpaceMessage) -> SearchDoc:
    body = plain_text(message.body_source)
    doc = SearchDoc(
        id=message_doc_id(message.id), kind="message", title=message.space.title, body=body,
        url=message.url, acl=(space_principal(message.space_id),),  # type: ignore[attr-defined]
        author=message.author.username, created_at=message.created_at,
        updated_at=message.created_at,
    )
    return dataclasses.replace(doc, version=content_version(doc))


async def load_message_docs(message_ids: Sequence[int]) -> dict[str, SearchDoc | None]:
    """Current documents for these messages; None for missing ones."""
    found: dict[str, SearchDoc | None] = {message_doc_id(i): None for i in message_ids}
    if not message_ids:
        return found
    for message in await SpaceMessage.filter(id__in=list(message_ids)).select_related(
        "space", "author"
    ):
        found[message_doc_id(message.id)] = _message_doc(message)
    return found


async def all_message_doc_ids(batch: int = 2000) -> AsyncIterator[list[str]]:
    """Every mentorship message, in batches of ids."""
    last = 0
    while True:
        ids = await SpaceMessage.filter(id__gt=last).order_by("id").limit(batch).values_list(
            "id", flat=True
        )
        if not ids:
            break
        yield [message_doc_id(i) for i in ids]
        last = ids[-1]
