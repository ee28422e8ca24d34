"""Page numbers for lists: parsing `?page=` and the window of links to show."""

from __future__ import annotations

from dataclasses import dataclass


def page_number(raw: str | None) -> int:
    """A page number from the query string; anything odd means page 1."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), 100_000)


@dataclass(frozen=True)
class Pages:
    number: int
    size: int
    total_items: int

    @property
    def count(self) -> int:
        return max(1, -(-self.total_items // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count

    @property
    def window(self) -> list[int | None]:
        """Page links to show: first, last and two either side; None marks a gap."""
        shown = {1, self.count, *range(self.number - 2, self.number + 3)}
        result: list[int | None] = []
        previous = 0
        for page in sorted(p for p in shown if 1 <= p <= self.count):
            if page - previous > 1:
                result.append(None)
            result.append(page)
            previous = page
        return result
