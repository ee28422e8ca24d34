"""Highlighted titles and snippets: plain text escaped first, then matches wrapped in <mark>.

Engines that highlight for us (SQLite's highlight(), Meilisearch's _formatted)
hand back the document's own text unescaped, so hostile content such as
``<script>`` would reach the page. Here the text is always escaped, and only
the <mark> tags this module adds are markup.

A results page highlights ten titles and snippets, so text whose words are
ASCII (nearly all) takes a quicker path, in C string functions rather than word
by word: str.find finds the matched words in the folded text, str.count numbers
them, and the passage is collapsed and escaped whole. Other text, and searches
with phrases, go word by word; both paths mark the same words.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from itertools import compress

from search_index.tokens import ascii_folded, ascii_words, spans

SNIPPET_WORDS = 30
CONTEXT_WORDS = 4  # words shown before the first match of a snippet
MAX_SCANNED_CHARS = 20_000  # matches further into a long body do not pick the snippet
ELLIPSIS = "\u2026"
_SPACES = re.compile(r"\s+")
# Up to this many words are each looked for whole; more (a prefix's completions)
# are found by their first STEM letters and checked.
FEW_WORDS = 8
STEM = 3
_WORD, _PREFIX, _CHECKED = range(3)  # how a needle's finds are taken (`_needles`)
# An ASCII-folded text's shape: "a" for each letter or digit, a space for the rest.
_SHAPE = bytes(97 if chr(c).isalnum() else 32 for c in range(256))
_MARK, _UNMARK = "\x01", "\x02"  # stand for <mark> and </mark> in `_marked`


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
    needles = _needles(matches)
    if needles is not None and ascii_words(text):
        found = _ascii_matches(ascii_folded(text), matches, needles)
        return _marked(text, found, 0, len(text), collapse=False)
    words = spans(text)
    flags = matches.flags([word for _, _, word in words])
    return _render(text, words, flags, 0, len(text), collapse=False)


def snippet(text: str, matches: Matches, size: int = SNIPPET_WORDS) -> str:
    """The `size`-word passage of `text` with the most matches, escaped and highlighted.

    Whitespace is collapsed; an ellipsis marks text cut at either end. Without a
    match the passage is the beginning of `text`.
    """
    scanned = text[:MAX_SCANNED_CHARS]
    needles = _needles(matches)
    if needles is not None and ascii_words(scanned):
        folded = ascii_folded(scanned)
        found = _ascii_matches(folded, matches, needles)
        start, end, passage = _ascii_passage(text, folded, found, size)
    else:
        start, end, passage = _passage(text, scanned, matches, size)
    if not passage:
        return escape(" ".join(scanned.split()))
    if start > 0:
        passage = f"{ELLIPSIS} {passage}"
    if end < len(text):
        passage = f"{passage} {ELLIPSIS}"
    return passage


@lru_cache(maxsize=256)
def _needles(matches: Matches) -> tuple[tuple[str, int], ...] | None:
    """What to look for in a padded `ascii_folded` text to find the words `matches`
    marks, each with how to take what it finds: a whole word, a word starting with
    a prefix, or a word starting with a stem, to be checked. None when `matches`
    has phrases, or a word or prefix that is not letters and digits (which a
    search never makes): they go word by word."""
    if matches.phrases or not all(w.isalnum() for w in (*matches.words, *matches.prefixes)):
        return None
    # Words and prefixes that are not ASCII never occur in an ASCII text.
    words = sorted(word for word in matches.words if word.isascii())
    prefixes = sorted(prefix for prefix in matches.prefixes if prefix.isascii())
    if len(words) <= FEW_WORDS:
        return (*((f" {word} ", _WORD) for word in words),
                *((f" {prefix}", _PREFIX) for prefix in prefixes))
    stems: list[str] = []
    for stem in sorted({word[:STEM] for word in words} | {p[:STEM] for p in prefixes}):
        if not stems or not stem.startswith(stems[-1]):
            stems.append(stem)
    return tuple((f" {stem}", _CHECKED) for stem in stems)


def _ascii_matches(
    folded: str, matches: Matches, needles: tuple[tuple[str, int], ...]
) -> list[tuple[int, int]]:
    """Where the words `matches` marks are in `folded` (an `ascii_folded` text):
    (start, end) of each, in text order."""
    # Only letters, digits and spaces: a word starts after a space, and str.find
    # (in C) finds a few letters far sooner than a regular expression or a split.
    padded = f" {folded} "
    find = padded.find
    words, prefixes = matches.words, matches.prefixes
    found = []
    for needle, kind in needles:
        at = find(needle)
        while at >= 0:
            # The word is padded[at + 1:end], folded[at:end - 1].
            end = at + len(needle) - 1 if kind == _WORD else find(" ", at + 1)
            if kind != _CHECKED or (word := padded[at + 1:end]) in words or (
                    word.startswith(prefixes)):
                found.append((at, end - 1))
            at = find(needle, end)
    # A word may be both whole and a prefix's, or two prefixes'.
    return sorted(set(found)) if len(needles) > 1 else found


def _first_word(positions: list[int], size: int, words: int) -> int:
    """The first word of the `size`-word passage of a text of `words` words whose
    matches are the words at `positions`: some words of context before the match
    that begins the most matches within `size` words (the earliest such), but a
    full passage when the text ends soon after it."""
    if not positions:
        return 0
    if positions[-1] - positions[0] < size:  # all in one passage, as is usual
        return max(0, min(positions[0] - CONTEXT_WORDS, words - size))
    counts = [bisect_left(positions, at + size, index) - index for index, at in enumerate(positions)]
    densest = positions[counts.index(max(counts))]
    return max(0, min(densest - CONTEXT_WORDS, words - size))


def _ascii_passage(
    text: str, folded: str, found: list[tuple[int, int]], size: int
) -> tuple[int, int, str]:
    """`snippet`'s passage of `text` (start, end, marked) from its folded ASCII form
    and the matches `found` in it."""
    # A word starts where " a" is in the text's shape (padded with a space), so
    # str.count, in C, tells each match's word number.
    shape = b" " + folded.encode("ascii").translate(_SHAPE)
    positions = []
    words = 0
    previous = 0
    for begin, _ in found:
        words += shape.count(b" a", previous, begin + 1)
        positions.append(words)
        previous = begin
    words += shape.count(b" a", previous)
    if not words:
        return 0, 0, ""
    first = _first_word(positions, size, words)
    last = min(words, first + size) - 1
    # Where the passage begins and ends, counted from the nearest match (or the start).
    anchor = bisect_left(positions, first)
    at, begin = (positions[anchor], found[anchor][0]) if anchor < len(found) else (0, 0)
    if first == 0:
        begin = shape.find(b" a")
    else:
        for _ in range(at - first):
            begin = shape.rfind(b" a", 0, begin)
    if last == words - 1:
        end = len(folded.rstrip())
    else:
        after = folded[begin:].split(None, last - first + 1)
        end = len(folded) - len(after[-1])
        end = folded.rfind(after[-2], begin, end) + len(after[-2])
    start = 0 if first == 0 else begin
    if last == words - 1 and len(text) <= MAX_SCANNED_CHARS:
        end = len(text)
    return start, end, _marked(text, found, start, end, collapse=True)


def _passage(text: str, scanned: str, matches: Matches, size: int) -> tuple[int, int, str]:
    """`snippet`'s passage of `text` (start, end, marked), word by word."""
    words = spans(scanned)
    if not words:
        return 0, 0, ""
    flags = matches.flags([word for _, _, word in words])
    first = _first_word(list(compress(range(len(words)), flags)), size, len(words))
    last = min(len(words), first + size) - 1
    start = 0 if first == 0 else words[first][0]
    whole = last == len(words) - 1 and len(text) <= MAX_SCANNED_CHARS
    end = len(text) if whole else words[last][1]
    return start, end, _render(text, words[first:last + 1], flags[first:last + 1], start, end)


def _marked(
    text: str, found: list[tuple[int, int]], start: int, end: int, *, collapse: bool
) -> str:
    """`text[start:end]` escaped, with the matches `found` (spans) in it wrapped in <mark>."""
    found = [(begin, finish) for begin, finish in found if begin >= start and finish <= end]
    # str.find, in C, over the passage alone: a regular expression's character
    # class cost several times more (a results page asks this twenty times).
    if text.find(_MARK, start, end) >= 0 or text.find(_UNMARK, start, end) >= 0:
        words = [(begin, finish, "") for begin, finish in found]
        return _render(text, words, [True] * len(words), start, end, collapse=collapse)
    # Control characters stand for the tags while the passage is collapsed and
    # escaped whole (in C): the text itself has none (checked above).
    pieces = []
    position = start
    for begin, finish in found:
        pieces += (text[position:begin], _MARK, text[begin:finish], _UNMARK)
        position = finish
    pieces.append(text[position:end])
    passage = "".join(pieces)
    if collapse:
        passage = " ".join(passage.split())
    return escape(passage).replace(_MARK, "<mark>").replace(_UNMARK, "</mark>")


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
