"""Small lookups kept in memory until a version stamp moves.

Some pages need the same few rows on every request — the topics' names, to label
search results and their filters — and those rows almost never change. Reading
one stamp costs a fraction of building model objects from a query, so a
`StampedValue` loads its value once and loads it again only after the stamp moved:
every write transaction moves the "content" stamp on commit
(`forum.db.write_transaction`), so a change is seen by the very next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from forum.caching import stamps

T = TypeVar("T")


class StampedValue(Generic[T]):
    """The result of `load`, kept by one process while stamp `stamp` stays put."""

    def __init__(self, load: Callable[[], Awaitable[T]], stamp: str = stamps.CONTENT) -> None:
        self.load = load
        self.stamp = stamp
        self._kept: tuple[int, T] | None = None

    async def get(self) -> T:
        """The value, loaded again if the stamp moved since it was last loaded."""
        current = await stamps.read(self.stamp)
        kept = self._kept
        if kept is not None and kept[0] == current:
            return kept[1]
        value = await self.load()
        # Filed under the stamp read *before* loading: a value loaded while a change
        # was being committed is never served once the stamp has moved.
        self._kept = (current, value)
        return value
