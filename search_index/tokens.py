"""Words as the search engines see them: folded, lower-cased, split on punctuation.

`tokenize` mirrors SQLite FTS5's ``unicode61 remove_diacritics 2`` tokenizer
(letters and numbers make words, everything else separates them; case and
Latin diacritics are ignored), so that Python code can agree with the index on
what a word is: for highlighting, for the typo vocabulary and for synonyms.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

# Combining diacritical marks (and their supplements): removed by folding, but
# part of a word while scanning raw text, so that "cafe\u0301" stays one word.
_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_STRIP = re.compile(f"[{_COMBINING}]+")
# A word: letters and digits (str.isalnum, i.e. Unicode L* and N*), plus marks.
_WORD = re.compile(f"(?:[^\\W_]|[{_COMBINING}])+")
_ASCII_WORD = re.compile("[a-z0-9]+")
_NON_ASCII = re.compile("[^\x00-\x7f]")
# ASCII text folded byte by byte: letters lower-cased, digits kept, everything
# else a space. bytes.translate and str.split find ASCII words about six times
# faster than the regular expression, and every offset stays the text's own.
_ASCII_FOLD = bytes(c if chr(c).isalnum() else 32 for c in range(256)).lower()


def fold(text: str) -> str:
    """Lower-case `text` and remove its diacritics ("Café" -> "cafe")."""
    if text.isascii():
        return text.lower()
    return _STRIP.sub("", unicodedata.normalize("NFD", text)).lower()


def ascii_words(text: str) -> bool:
    """Whether every word of `text` is ASCII: its other characters ("…", "£", "’")
    only separate words, so that the ASCII fast paths find the same words."""
    if text.isascii():
        return True
    return not any(c.isalnum() or _STRIP.match(c) for c in set(_NON_ASCII.findall(text)))


def tokenize(text: str) -> list[str]:
    """The folded words of `text`, in order ("Co-op's café" -> ["co", "op", "s", "cafe"])."""
    return [word for word in (fold(m) for m in _WORD.findall(text)) if word]


def ascii_folded(text: str) -> str:
    """`text`, whose words are ASCII (`ascii_words`), with its words folded and every
    other character a space: one character for one, so offsets are the text's own."""
    return text.encode("ascii", "replace").translate(_ASCII_FOLD).decode("ascii")


def spans(text: str, first: int = 0, stop: int | None = None) -> list[tuple[int, int, str]]:
    """Words `first` to `stop` (default: all) of `text` as (start, end, folded word),
    offsets into `text` itself."""
    if ascii_words(text):
        return folded_spans(ascii_folded(text), first, stop)
    words = (
        (match.start(), match.end(), word)
        for match in _WORD.finditer(text) if (word := fold(match.group()))
    )
    return list(islice(words, first, stop))


def folded_spans(folded: str, first: int = 0, stop: int | None = None) -> list[tuple[int, int, str]]:
    """`spans` of an ASCII text from its `ascii_folded` form (same offsets)."""
    position = 0
    if first > 0:
        # Splitting off the first words in C is the quickest way to their end.
        rest = folded.split(None, first)
        if len(rest) <= first:
            return []
        position = len(folded) - len(rest[first])
    count = None if stop is None else stop - first
    if count is not None and count <= 0:
        return []
    words = folded[position:].split(None, -1 if count is None else count)
    if count is not None:
        words = words[:count]
    found = []
    find = folded.find
    for word in words:  # only spaces lie between one word and the next
        position = find(word, position)
        found.append((position, position + len(word), word))
        position += len(word)
    return found


def words_of(text: str) -> list[str]:
    """The folded words of `text`, in order: `tokenize`, faster for ASCII text."""
    if ascii_words(text):
        return ascii_folded(text).split()
    return tokenize(text)


def normalize_phrase(text: str) -> str:
    """A phrase reduced to its folded words joined by single spaces."""
    return " ".join(tokenize(text))


def distinct_words(text: str) -> set[str]:
    """The set of folded words in `text` (faster than `tokenize` for long texts)."""
    if ascii_words(text):
        return set(ascii_folded(text).split())
    return set(_WORD.findall(fold(text)))
