"""What every search backend accepts as a document, so that one is refused alike by all."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from search_index.backend import DocumentRejected, SearchDoc

MAX_ID_LENGTH = 511
# Meilisearch's rule for ids, which the embedded backends apply too.
_DOC_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ID_LENGTH}}}")


def id_problem(doc_id: Any) -> str | None:
    """Why `doc_id` cannot be a document id, or None if every backend accepts it."""
    if isinstance(doc_id, str) and _DOC_ID.fullmatch(doc_id):
        return None
    return f"the id must be 1 to {MAX_ID_LENGTH} letters, digits, hyphens or underscores"


def check_id(doc_id: Any) -> None:
    """Raise DocumentRejected unless every backend accepts `doc_id`."""
    reason = id_problem(doc_id)
    if reason:
        raise DocumentRejected(str(doc_id), reason)


def check_document(doc: SearchDoc) -> None:
    """Raise DocumentRejected unless every backend can index `doc`."""
    check_id(doc.id)
    for name in ("kind", "title", "body", "url"):
        if not isinstance(getattr(doc, name), str):
            raise DocumentRejected(doc.id, f"{name} must be text")
    if not doc.kind:
        raise DocumentRejected(doc.id, "the kind is missing")


def checked_batch(
    docs: Iterable[SearchDoc], check: Callable[[SearchDoc], None] = check_document
) -> list[SearchDoc]:
    """The last document of each id in `docs`, once `check` has passed every one of them.

    A document that cannot be indexed raises DocumentRejected before anything is written.
    """
    latest = {doc.id: doc for doc in docs}  # the last of duplicates wins
    for doc in latest.values():
        check(doc)
    return list(latest.values())
