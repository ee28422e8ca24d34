"""Turns document ids from the outbox into current SearchDocs, one domain at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from forum.mentoring.documents import all_message_doc_ids, load_message_docs
from forum.playbooks.documents import all_playbook_doc_ids, load_playbook_docs
from forum.threads.documents import all_doc_ids, load_post_docs, load_thread_docs
from search_index.backend import SearchDoc

DomainLoader = Callable[[Sequence[int]], Awaitable[dict[str, SearchDoc | None]]]

# Each kind of document id ("thread-12") and the domain function that builds it.
LOADERS: dict[str, DomainLoader] = {
    "thread": load_thread_docs,
    "post": load_post_docs,
    "playbook": load_playbook_docs,
    "message": load_message_docs,
}


async def load_documents(doc_ids: Sequence[str]) -> dict[str, SearchDoc | None]:
    """The current document for each id; None when it is gone or not searchable."""
    by_kind: dict[str, list[int]] = {}
    result: dict[str, SearchDoc | None] = {}
    for doc_id in doc_ids:
        kind, _, number = doc_id.partition("-")
        if kind in LOADERS and number.isdigit():
            by_kind.setdefault(kind, []).append(int(number))
        else:
            result[doc_id] = None  # an id nobody knows: make sure the index drops it
    for kind, numbers in by_kind.items():
        result.update(await LOADERS[kind](numbers))
    return result


async def all_searchable_ids() -> AsyncIterator[list[str]]:
    """Every document id the database says should be in the index, in batches."""
    async for batch in all_doc_ids():
        yield batch
    async for batch in all_playbook_doc_ids():
        yield batch
    async for batch in all_message_doc_ids():
        yield batch
