"""Highlighted titles and snippets: plain text escaped first, then matches wrapped in <mark>.

Engines that highlight for us (SQLite's highlight(), Meilisearch's _formatted)
hand back the document's own text unescaped, so hostile content such as
``<script>`` would reach the page. Here the text is always escaped, and only
the <mark> tags this module adds are markup.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from itertools import compress

from search_index.tokens import ascii_folded, ascii_words, spans, words_of

SNIPPET_WORDS = 30
CONTEXT_WORDS = 4  # words shown before the first match of a snippet
MAX_SCANNED_CHARS = 20_000  # matches further into a long body do not pick the snippet
ELLIPSIS = "\u2026"
_SPACES = re.compile(r"\s+")
_ASCII_WORDS = re.compile("([A-Za-z0-9]+)")
_HTML_SPECIAL = re.compile("[&<>\"']")


@dataclass(frozen=True)
class Matches:
    """What to mark: folded words, prefixes a word may start with, and whole phrases.

    A phrase (a tuple of folded words) is marked only where all its words occur
    in order, so that "pension" is not marked for a synonym "local government
    pension scheme" the text does not contain.
    """

    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()

    def __call__(self, word: str) -> bool:
        return word in self.words or word.startswith(self.prefixes)

    def __bool__(self) -> bool:
        return bool(self.words or self.prefixes or self.phrases)

    def flags(self, words: list[str]) -> list[bool]:
        """For each of `words` (in text order), whether it is marked."""
        known, prefixes = self.words, self.prefixes
        if prefixes:
            marked = [word in known or word.startswith(prefixes) for word in words]
        else:
            marked = list(map(known.__contains__, words))
        for phrase in self.phrases:
            size = len(phrase)
            for start in range(len(words) - size + 1):
                if words[start] == phrase[0] and tuple(words[start:start + size]) == phrase:
                    marked[start:start + size] = [True] * size
        return marked


def highlight(text: str, matches: Matches) -> str:
    """`text` HTML-escaped, with each matching word wrapped in <mark>."""
    if not matches:
        return escape(text)
    if ascii_words(text):
        return _marked(text, matches.flags(ascii_folded(text).split()), collapse=False)
    words = spans(text)
    flags = matches.flags([word for _, _, word in words])
    return _render(text, words, flags, 0, len(text), collapse=False)


def snippet(text: str, matches: Matches, size: int = SNIPPET_WORDS) -> str:
    """The `size`-word passage of `text` with the most matches, escaped and highlighted.

    Whitespace is collapsed; an ellipsis marks text cut at either end. Without a
    match the passage is the beginning of `text`.
    """
    scanned = text[:MAX_SCANNED_CHARS]
    # A results page makes twenty snippets of long bodies: find the passage from
    # the bare words, and place only the passage's words in the text (an ASCII
    # text is folded once for both).
    folded = ascii_folded(scanned) if ascii_words(scanned) else None
    words = folded.split() if folded is not None else words_of(scanned)
    if not words:
        return escape(" ".join(scanned.split()))
    flags = matches.flags(words)
    first = 0
    marked = list(compress(range(len(words)), flags))
    if marked:
        # The densest passage starts at a match: the earliest match that begins
        # the most matches within `size` words.
        counts = [bisect_left(marked, at + size, index) - index for index, at in enumerate(marked)]
        first_match = marked[counts.index(max(counts))]
        # Some words of context before the first match, but a full passage
        # when the text ends soon after it.
        first = max(0, min(first_match - CONTEXT_WORDS, len(words) - size))
    last = min(len(words), first + size) - 1
    whole = last == len(words) - 1 and len(text) <= MAX_SCANNED_CHARS
    if folded is not None:
        start, end = _ascii_bounds(folded, words, first, last)
        end = len(text) if whole else end
        passage = _marked(text[start:end], flags[first:last + 1], collapse=True)
    else:
        passage_words = spans(scanned, first, last + 1)
        start = 0 if first == 0 else passage_words[0][0]
        end = len(text) if whole else passage_words[-1][1]
        passage = _render(text, passage_words, flags[first:last + 1], start, end)
    if start > 0:
        passage = f"{ELLIPSIS} {passage}"
    if end < len(text):
        passage = f"{passage} {ELLIPSIS}"
    return passage


def _ascii_bounds(folded: str, words: list[str], first: int, last: int) -> tuple[int, int]:
    """Where words `first` to `last` (of `words`, the words of `folded`) begin and end."""
    # Splitting off the words before a position in C is the quickest way there.
    start = len(folded) - len(folded.split(None, first)[-1]) if first else 0
    after = folded.split(None, last + 1)
    limit = len(folded) - len(after[-1]) if len(after) > last + 1 else len(folded)
    end = folded.rfind(words[last], start, limit) + len(words[last])
    return start, end


def _marked(text: str, flags: Iterable[bool], *, collapse: bool) -> str:
    """`text` (its words ASCII) escaped, with the words `flags` says wrapped in <mark>.

    One split in C finds the words: the same words, in the same order, as the
    folded text's that `flags` describes.
    """
    if collapse:
        text = " ".join(text.split())
    parts = _ASCII_WORDS.split(text)  # between, word, between, word, ..., between
    if _HTML_SPECIAL.search(text):  # most passages have nothing to escape
        parts = [escape(part) for part in parts]
    for index in compress(range(1, len(parts), 2), flags):
        parts[index] = f"<mark>{parts[index]}</mark>"
    return "".join(parts)


def _render(
    text: str, words: list[tuple[int, int, str]], flags: list[bool], start: int, end: int,
    *, collapse: bool = True,
) -> str:
    """`text[start:end]` escaped, with the flagged `words` (spans within it) marked."""
    out: list[str] = []
    position = start
    for (begin, finish, _), marked in zip(words, flags, strict=True):
        if marked:
            out.append(_plain(text[position:begin], collapse))
            out.append(f"<mark>{escape(text[begin:finish])}</mark>")
            position = finish
    out.append(_plain(text[position:end], collapse))
    return "".join(out).strip() if collapse else "".join(out)


def _plain(text: str, collapse: bool) -> str:
    return escape(_SPACES.sub(" ", text) if collapse else text)
