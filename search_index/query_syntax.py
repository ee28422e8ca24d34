"""What people type in the search box: words, "quoted phrases" and -exclusions.

The syntax is the one Meilisearch and PostgreSQL's websearch_to_tsquery share.
Nothing typed is ever an error: unbalanced quotes end at the end of the text,
and everything but letters and digits only separates words. Long queries are
cut, like Meilisearch does, to `MAX_QUERY_LENGTH` characters and their first
`MAX_QUERY_WORDS` words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from search_index.backend import MAX_QUERY_LENGTH
from search_index.tokens import tokenize

MAX_QUERY_WORDS = 10

PartKind = Literal["words", "phrase", "exclude"]
# A quoted phrase (the closing quote may be missing), a -word, or anything else.
_PART = re.compile(
    r'"(?P<phrase>[^"]*)"?'
    r'|(?:(?<=\s)|^)-(?P<exclude>[^\s"]+)'
    r'|(?P<words>[^"]+?)(?=(?<=\s)-|"|$)'
)


@dataclass(frozen=True)
class Part:
    """A run of plain words, one quoted phrase, or one excluded word (folded words)."""

    kind: PartKind
    words: tuple[str, ...]


@dataclass(frozen=True)
class ParsedQuery:
    parts: tuple[Part, ...]
    # Whether the last word is still being typed: it then matches as a prefix.
    prefix: bool = False

    @property
    def is_empty(self) -> bool:
        """True when nothing is left to look for (exclusions alone find nothing)."""
        return not any(part.kind != "exclude" for part in self.parts)

    @property
    def words(self) -> tuple[str, ...]:
        """Every plain (unquoted, not excluded) word, in order."""
        return tuple(word for part in self.parts if part.kind == "words" for word in part.words)

    @property
    def last_word(self) -> str | None:
        """The word that matches as a prefix, if any."""
        if self.prefix and self.parts and self.parts[-1].kind == "words":
            return self.parts[-1].words[-1]
        return None

    def text(self) -> str:
        """The query written back out (folded), e.g. for a "did you mean" link."""
        out = []
        for part in self.parts:
            joined = " ".join(part.words)
            written = {"words": joined, "phrase": f'"{joined}"', "exclude": f"-{joined}"}
            out.append(written[part.kind])
        return " ".join(out)

    def replace_words(self, corrections: dict[str, str]) -> ParsedQuery:
        """The same query with plain words replaced according to `corrections`."""
        parts = tuple(
            Part(part.kind, tuple(corrections.get(w, w) for w in part.words))
            if part.kind == "words" else part
            for part in self.parts
        )
        return ParsedQuery(parts, self.prefix)


def parse_query(text: str) -> ParsedQuery:
    """Parse the search box's text; never raises."""
    text = text[:MAX_QUERY_LENGTH]
    parts: list[Part] = []
    budget = MAX_QUERY_WORDS
    cut = False
    for match in _PART.finditer(text):
        kind: PartKind = "phrase" if match.group("phrase") is not None else (
            "exclude" if match.group("exclude") is not None else "words"
        )
        found = tokenize(match.group(kind))
        words = tuple(found[:budget])
        if not words:
            continue
        budget -= len(words)
        cut = len(found) > len(words)
        if kind == "words" and parts and parts[-1].kind == "words":
            parts[-1] = Part("words", parts[-1].words + words)
        else:
            parts.append(Part(kind, words))
        if budget <= 0:
            break
    typing = bool(text) and not text[-1].isspace() and not text.endswith('"')
    prefix = typing and not cut and bool(parts) and parts[-1].kind == "words"
    return ParsedQuery(tuple(parts), prefix)
