"""The transactional outbox: a row per changed document, written with the change.

A service that changes searchable content calls `enqueue(ids)` inside its own
database transaction, so the change and the note to reindex it commit or roll
back together: an update can never be lost between the database and the index.
The indexer (search_index.indexer) drains the rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise import fields
from tortoise.models import Model
from tortoise.timezone import now


class OutboxEntry(Model):
    """One document to (re)index or delete. Several rows may name the same document."""

    id = fields.BigIntField(primary_key=True)
    doc_id = fields.CharField(max_length=120)
    created_at = fields.DatetimeField(auto_now_add=True)
    attempts = fields.IntField(default=0)
    # Rows are picked up once this time has passed: retries back off exponentially.
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    # A document the engine rejected: kept aside, with the reason, for a human.
    dead = fields.BooleanField(default=False)

    class Meta:
        table = "index_outbox"
        indexes = (("dead", "next_attempt_at", "id"), ("doc_id",))


# One outbox row, for code that writes its change as plain statements (with ``?``
# placeholders) rather than through the ORM: see `enqueue_values`.
ENQUEUE_SQL = (
    "INSERT INTO index_outbox (doc_id, created_at, attempts, last_error, dead) "
    "VALUES (?, ?, 0, '', ?)"
)


def enqueue_values(doc_id: str) -> list[object]:
    """The parameters of `ENQUEUE_SQL` for `doc_id`: the same row `enqueue` writes."""
    return [doc_id, now(), False]


async def enqueue(doc_ids: Iterable[str]) -> None:
    """Note that these documents changed. Call inside the change's transaction."""
    rows = [OutboxEntry(doc_id=doc_id) for doc_id in dict.fromkeys(doc_ids)]
    if rows:
        await OutboxEntry.bulk_create(rows)
