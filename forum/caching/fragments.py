"""Rendered fragments shared by many members, with each member's bits filled in late.

A signed-in page is mostly the same for every member who may do the same things
(see `forum.threads.rendering` for the thread page): only a few spots differ per
member — a CSRF token, a button they already pressed, an edit link on their own
post. A template rendered for a *class* of viewers marks each such spot with
`Personal.slot` (every answer the spot may take, rendered once) and each CSRF
token with `Personal.csrf_token`; `Fragment` is the result, cut at the slots.
Per request, filling a fragment is a pick per slot and one string replace, not
a render.

Markers carry a random number drawn when the process starts: content cannot
forge one (it is escaped or sanitised anyway), so a member's text can never
open a slot.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from markupsafe import Markup

_NONCE = secrets.token_hex(8)
_SLOT = re.compile("\x00" + _NONCE + r"s(\d+)\x00")
CSRF_MARK = f"\x00{_NONCE}csrf\x00"

T = TypeVar("T")


@dataclass(frozen=True)
class Slot:
    """A spot that differs per member: what it is about, and every answer it may take."""

    kind: str
    key: Hashable
    variants: dict[str, str]


class Personal:
    """Collects the slots of one render; templates call it where a member's bits go."""

    def __init__(self) -> None:
        self.slots: list[Slot] = []

    def slot(self, kind: str, key: Hashable, **variants: str) -> Markup:
        """A marker for a spot of `kind` about `key`; `variants` are its possible contents.

        Variants may hold CSRF markers, not other slots.
        """
        self.slots.append(Slot(kind, key, {name: str(html) for name, html in variants.items()}))
        return Markup(f"\x00{_NONCE}s{len(self.slots) - 1}\x00")

    def csrf_token(self) -> Markup:
        """Stands for the member's CSRF token (templates call it as `csrf_token()`)."""
        return Markup(CSRF_MARK)

    def cut(self, html: str) -> Fragment:
        """The rendered `html` as a fragment to fill per member."""
        pieces = _SLOT.split(html)
        # split() gives text, slot index, text, slot index, ..., text.
        texts = tuple(pieces[0::2])
        slots = tuple(self.slots[int(index)] for index in pieces[1::2])
        return Fragment(texts, slots)


@dataclass(frozen=True)
class Fragment:
    """Text with slots between its pieces: ``texts[0] slots[0] texts[1] ... texts[-1]``."""

    texts: tuple[str, ...]
    slots: tuple[Slot, ...]

    def fill(self, choose: Callable[[Slot], str], csrf_token: Callable[[], str]) -> Markup:
        """The fragment for one member: `choose` picks each slot's content.

        `csrf_token` is called only if a form needs it (it may start a session).
        """
        parts = [self.texts[0]]
        for slot, text in zip(self.slots, self.texts[1:]):
            parts.append(choose(slot))
            parts.append(text)
        html = "".join(parts)
        if CSRF_MARK in html:
            html = html.replace(CSRF_MARK, csrf_token())
        return Markup(html)


@dataclass
class Entry(Generic[T]):
    stamp: int
    built_at: float
    value: T
    # Fragments rendered from `value`, one per class of viewer, added as they are asked for.
    fragments: dict[Hashable, Fragment] = field(default_factory=dict)


class FragmentCache(Generic[T]):
    """What one web process keeps: at most `size` entries, each for at most `max_age`
    seconds (relative times such as "3 minutes ago" go stale) and only while the
    version stamp it was built under is current."""

    def __init__(
        self, size: int = 512, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self.entries: OrderedDict[Hashable, Entry[Any]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def get(self, key: Hashable, stamp: int) -> Entry[T] | None:
        """The entry under `key` if it was built under `stamp` and is young enough."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.stamp == stamp and self.clock() - entry.built_at < self.max_age:
            self.entries.move_to_end(key)
            return entry
        del self.entries[key]
        return None

    def keep(self, key: Hashable, stamp: int, value: T) -> Entry[T]:
        """File `value`, built from what the database held at `stamp`, under `key`."""
        entry: Entry[T] = Entry(stamp, self.clock(), value)
        if self.enabled:
            self.entries[key] = entry
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return entry
