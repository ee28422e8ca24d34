"""Bulk lookups and inserts, in chunks that stay under the databases' limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tortoise.models import Model

KEY_CHUNK = 900  # keys bound per lookup: under SQLite's parameter limit


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _ids(model: type[Model], key: str, keys: Iterable[str]) -> dict[str, int]:
    """`key -> id` for the rows of `model` whose `key` is in `keys`."""
    found: dict[str, int] = {}
    for chunk in _chunks(keys, KEY_CHUNK):
        found.update(await model.filter(**{f"{key}__in": chunk}).values_list(key, "id"))
    return found


async def _insert(model: type[Model], rows: list[Any], key: str, known: dict) -> set[int]:
    """Bulk-insert `rows` and learn their ids (bulk_create doesn't set them)."""
    if not rows:
        return set()
    await model.bulk_create(rows)
    ids = await _ids(model, key, [getattr(row, key) for row in rows])
    known.update(ids)
    return set(ids.values())
