"""Search text as PostgreSQL sees it: documents as tsvector literals, queries as tsqueries.

Both are built in Python from `tokens`, so that case, diacritics and punctuation
behave as in every other backend whatever the database's locale. A document gets
one extra lexeme per glossary wording found (`concept`), so that synonyms match
without checking word positions; a query becomes quoted lexemes only, so that
nothing typed can break it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from search_index import synonyms
from search_index.backend import SearchDoc
from search_index.highlight import Matches
from search_index.query_syntax import ParsedQuery
from search_index.tokens import words_of

MIN_PREFIX_LENGTH = 2  # a one-letter prefix would merge a large part of the index
MAX_LEXEME = 100  # longer "words" (pasted blobs) are not indexed
MAX_INDEXED_TEXT = 200_000  # characters of a field indexed: a tsvector holds at most 1 MB
MAX_POSITION = 16383  # tsvector positions stop here


def pg_text(value: Any) -> str:
    """`value` as text PostgreSQL can store."""
    return str(value or "").replace("\x00", "")  # PostgreSQL text cannot hold NUL


# -- documents --------------------------------------------------------------------


def document_vector(doc: SearchDoc) -> tuple[str, set[str]]:
    """`doc` as a tsvector literal (title A, tags B, body C) and its distinct lexemes.

    Each field and each tag starts a word further on, so that no phrase runs
    from one into the next. Where a glossary wording occurs, the lexeme of its
    group (`concept`) is indexed too: either wording then finds it through the
    GIN index alone, without checking word positions.
    """
    positions: dict[str, list[str]] = {}
    position = 0
    for weight, text in (("A", doc.title), *(("B", tag) for tag in doc.tags), ("C", doc.body)):
        words = words_of(pg_text(text)[:MAX_INDEXED_TEXT])
        numbers: Iterable[int] = range(position + 1, position + len(words) + 1)
        if position + len(words) >= MAX_POSITION:  # PostgreSQL keeps no position past it
            numbers = [min(n, MAX_POSITION) for n in numbers]
        at = [f"{n}{weight}" for n in numbers]
        for word, where in zip(words, at, strict=True):
            found = positions.get(word)
            if found is None:
                positions[word] = [where]
            else:
                found.append(where)
        for index, lexeme in _concepts(words):
            positions.setdefault(lexeme, []).append(at[index])
        position += len(words) + 1
    for word in [w for w in positions if len(w) > MAX_LEXEME]:
        del positions[word]
    # Words (letters and digits) and concepts (words, "=" and "_") need no escaping.
    literal = " ".join([f"'{word}':{','.join(at)}" for word, at in positions.items()])
    return literal, set(positions)


@cache
def concept(wording: str) -> str:
    """The lexeme standing for every wording of `wording`'s glossary group.

    It contains "=", which no word can (`tokens`), so it never meets a typed word.
    """
    return "=" + min(synonyms.expand(wording)).replace(" ", "_")


@cache
def _glossary_heads() -> dict[str, frozenset[str]]:
    """First word of a glossary wording -> the words that can follow it ("" ends one)."""
    heads: dict[str, set[str]] = {}
    for group in synonyms.groups():
        for wording in group:
            first, *rest = wording.split()
            heads.setdefault(first, set()).add(rest[0] if rest else "")
    return {first: frozenset(nexts) for first, nexts in heads.items()}


def _concepts(words: list[str]) -> Iterator[tuple[int, str]]:
    """(index, concept lexeme) for each glossary wording that starts at `words[index]`."""
    heads, width = _glossary_heads(), synonyms.longest_term()
    last = len(words) - 1
    for index in [i for i, word in enumerate(words) if word in heads]:
        nexts = heads[words[index]]
        # Cheap test first: most occurrences of a first word start no wording.
        if "" in nexts or (index < last and words[index + 1] in nexts):
            found = synonyms.find_terms(words[index:index + width])
            if found and found[0][0] == 0:
                yield index, concept(" ".join(words[index:index + found[0][1]]))


# -- queries ----------------------------------------------------------------------


@dataclass(frozen=True)
class QueryPlan:
    """A parsed query as tsquery text, the same without typo alternatives, and what to mark."""

    tsquery: str
    # When typo alternatives were used: matches of this rank above the others
    # (Meilisearch's "typo" rule).
    exact: str | None
    matches: Matches


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _phrase(words: Sequence[str], prefix: bool = False) -> str:
    terms = [_lexeme(w) for w in words]
    if prefix:
        terms[-1] += ":*"
    return terms[0] if len(terms) == 1 else "(" + " <-> ".join(terms) + ")"


def _either(alternatives: Sequence[str]) -> str:
    unique = list(dict.fromkeys(alternatives))
    return unique[0] if len(unique) == 1 else "(" + " | ".join(unique) + ")"


def build_plan(parsed: ParsedQuery, alternatives: Mapping[str, Sequence[str]]) -> QueryPlan:
    """The tsquery of `parsed`; `alternatives` maps a plain word to its typo alternatives."""
    last = parsed.last_word
    prefix = last if last is not None and len(last) >= MIN_PREFIX_LENGTH else None
    marked: set[str] = set()
    phrases: set[tuple[str, ...]] = set()

    def mark(words: Sequence[str]) -> None:
        if len(words) == 1:
            marked.add(words[0])
        else:
            phrases.add(tuple(words))

    def with_synonyms(clause: str, words: Sequence[str]) -> str:
        wording = " ".join(words)
        for other in synonyms.synonyms_of(wording):
            mark(other.split())
        return _either([clause, _lexeme(concept(wording))])

    def word(text: str, last_word: bool, with_typos: bool) -> str:
        marked.add(text)
        found = alternatives.get(text, ())
        marked.update(found)
        typed = _phrase([text], prefix=last_word and text == prefix)
        return _either([typed, *(_lexeme(other) for other in found)] if with_typos else [typed])

    def expression(with_typos: bool) -> str:
        required, excluded = [], []
        for index, part in enumerate(parsed.parts):
            if part.kind == "phrase":
                required.append(with_synonyms(_phrase(part.words), part.words))
                mark(part.words)
            elif part.kind == "exclude":
                excluded.append("!" + _phrase(part.words))
            else:
                words, last_run = part.words, index == len(parsed.parts) - 1
                clauses = [
                    word(w, last_run and at == len(words) - 1, with_typos)
                    for at, w in enumerate(words)
                ]
                for start, end, _group in reversed(synonyms.find_terms(words)):
                    joined = " & ".join(clauses[start:end])
                    clauses[start:end] = [with_synonyms(
                        joined if end - start == 1 else f"({joined})", words[start:end]
                    )]
                required.extend(clauses)
        return " & ".join(required + excluded)

    full = expression(with_typos=True)
    used = any(alternatives.get(w) for w in parsed.words)
    exact = expression(with_typos=False) if used else None
    return QueryPlan(full, exact, Matches(
        frozenset(marked), (prefix,) if prefix else (), tuple(sorted(phrases))
    ))
