"""The words of an SQLite search index with their document counts: typos and suggestions.

`SqliteFTSBackend` keeps this table in step with its documents on every write
(in the same transaction), because reading FTS5's own vocabulary (fts5vocab)
walks the posting lists of every term it returns: too slow for each query.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index import typos
from search_index.tokens import distinct_words

MAX_TERM_LENGTH = 40
TYPO_ALTERNATIVES = 8  # per query word: the nearest, then the most frequent
# Prefixes of 2 and 3 letters have FTS5 prefix indexes; longer ones are
# completed from this table when they have few completions.
COMPLETE_FROM = 4
MAX_COMPLETIONS = 20
CACHE_SECONDS = 30.0  # how long another process's new words may go unseen as typo alternatives
CACHE_SIZE = 4096


def vocabulary_words(title: str, tags: Iterable[str], body: str) -> set[str]:
    """The words of a document worth offering as typo alternatives (numbers are not)."""
    words = distinct_words(title) | distinct_words(" ".join(tags)) | distinct_words(body)
    return {w for w in words if len(w) <= MAX_TERM_LENGTH and not w.isdigit()}


@dataclass(frozen=True)
class Lookup:
    """What the vocabulary says about a query's words."""

    typos: dict[str, tuple[str, ...]]  # a word's alternatives within its typo budget
    completions: tuple[str, ...] | None  # of the last word; None: FTS5 expands it
    counts: dict[str, int]  # documents holding each word, alternative and completion


class Vocabulary:
    """The ``terms`` table: (term, number of documents containing it).

    Look-ups are kept for `CACHE_SECONDS` per word: common words recur in most
    queries, and what is missing is read in one statement.
    """

    def __init__(self, client: BaseDBAsyncClient, table: str) -> None:
        self._client = client
        self._table = table
        self._typos: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._completions: dict[str, tuple[float, tuple[str, ...] | None]] = {}
        self._counts: dict[str, tuple[float, int]] = {}

    def forget(self) -> None:
        """Drop cached look-ups (after this process changed the index)."""
        self._typos.clear()
        self._completions.clear()
        self._counts.clear()

    def forget_completions(self) -> None:
        """Drop cached completions (another process may have indexed new words)."""
        self._completions.clear()

    async def add(self, connection: Any, deltas: Counter[str]) -> None:
        """Add `deltas` to the document counts, inside the writer's transaction."""
        items = [[term, count] for term, count in deltas.items() if count]
        if not items:
            return
        await connection.execute_many(
            f"INSERT INTO {self._table} (term, docs) VALUES (?, ?) "
            "ON CONFLICT (term) DO UPDATE SET docs = docs + excluded.docs",
            items,
        )
        gone = [[term] for term, count in items if count < 0]
        if gone:
            await connection.execute_many(
                f"DELETE FROM {self._table} WHERE term = ? AND docs <= 0", gone
            )
        self.forget()

    async def lookup(self, words: Sequence[str], last: str | None) -> Lookup:
        """Typo alternatives of `words`, completions of `last` (the word being typed)
        and the document counts of all of them: at most one statement."""
        now = time.monotonic()
        budgets = {
            w: typos.allowed_typos(w) for w in set(words)
            if typos.allowed_typos(w) and not w.isdigit() and _fresh(self._typos, w, now) is None
        }
        complete = last is not None and completable(last)
        fetch_completions = complete and _fresh(self._completions, last, now) is None
        parts, values = [], []
        if budgets:
            part, found = _candidates_query(self._table, budgets)
            parts.append(f"SELECT 0, term, docs FROM {self._table} WHERE {part}")
            values += found
        if fetch_completions:
            parts.append(
                f"SELECT 1, term, docs FROM (SELECT term, docs FROM {self._table} "
                "WHERE term >= ? AND term < ? LIMIT ?)"
            )
            values += [last, last + "\U0010ffff", MAX_COMPLETIONS + 1]
        # Counts of the words whose counts the candidates above will not bring.
        known = set(words) | set(self._known_alternatives(words, last, now))
        counted = [w for w in known if w not in budgets and _fresh(self._counts, w, now) is None]
        if counted:
            parts.append(
                f"SELECT 2, term, docs FROM {self._table} "
                f"WHERE term IN ({', '.join('?' * len(counted))})"
            )
            values += counted
        rows: list[Any] = []
        if parts:
            _, rows = await self._client.execute_query(" UNION ALL ".join(parts), values)
            self._remember(rows, budgets, last if fetch_completions else None, counted, now)
        alternatives = {w: _fresh(self._typos, w, now) for w in set(words)}
        typo_alternatives = {w: alts for w, alts in alternatives.items() if alts}
        completions = (_fresh(self._completions, last, now) if complete else None) or None
        every = set(words) | {a for alts in typo_alternatives.values() for a in alts}
        every |= set(completions or ())
        return Lookup(
            typos=typo_alternatives, completions=completions,
            counts={w: _fresh(self._counts, w, now) or 0 for w in every},
        )

    def _known_alternatives(self, words: Sequence[str], last: str | None, now: float) -> list[str]:
        """The cached typo alternatives and completions of `words` and `last`."""
        known = [a for w in words for a in (_fresh(self._typos, w, now) or ())]
        if last is not None:
            known += _fresh(self._completions, last, now) or ()
        return known

    def _remember(
        self, rows: list[Any], budgets: dict[str, int], prefix: str | None, counted: list[str],
        now: float,
    ) -> None:
        """Cache what one look-up statement returned."""
        expires = now + CACHE_SECONDS
        for cache in (self._typos, self._completions, self._counts):
            if len(cache) > CACHE_SIZE:
                cache.clear()
        candidates: dict[str, list[tuple[str, int]]] = {word: [] for word in budgets}
        completions: list[str] = []
        returned = set()
        for part, term, docs in rows:
            returned.add(term)
            self._counts[term] = (expires, docs)
            if part == 0:
                for word, budget in budgets.items():
                    if term[0] == word[0] and abs(len(term) - len(word)) <= budget:
                        candidates[word].append((term, docs))
            elif part == 1:
                completions.append(term)
        for word, budget in budgets.items():
            nearest = typos.closest(word, candidates[word], budget, count=TYPO_ALTERNATIVES)
            self._typos[word] = (expires, tuple(term for term, _ in nearest))
        for word in (*budgets, *counted):
            if word not in returned:  # not indexed
                self._counts[word] = (expires, 0)
        if prefix is not None:
            # () stands for None: FTS5 expands the prefix itself.
            many = len(completions) > MAX_COMPLETIONS
            self._completions[prefix] = (expires, () if many else tuple(completions))

    async def typo_alternatives(self, words: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """For each word allowed typos, the indexed words within its typo budget."""
        return (await self.lookup(tuple(words), None)).typos

    async def completions(self, prefix: str) -> tuple[str, ...] | None:
        """Every indexed word starting with `prefix`, or None when FTS5 should expand it.

        None for short prefixes (FTS5 has indexes for them), for prefixes with many
        completions, and where this table may not hold every completion the index
        does (numbers, words outside ASCII).
        """
        return (await self.lookup((), prefix)).completions

    async def suggestions(self, words: Sequence[str], prefix: str | None) -> dict[str, str]:
        """Corrections for the words the index does not know ("did you mean").

        `prefix` is the word being typed, known when any indexed word starts with it.
        """
        budgets = {
            w: typos.suggestion_budget(w) for w in set(words)
            if typos.suggestion_budget(w) and not w.isdigit()
        }
        if prefix in budgets and await self._has_prefix(prefix):
            del budgets[prefix]
        if not budgets:
            return {}
        candidates = await self._candidates(budgets)
        corrections: dict[str, str] = {}
        for word, budget in budgets.items():
            if any(term == word for term, _ in candidates[word]):
                continue
            best = typos.closest(word, candidates[word], budget, count=1)
            if best:
                corrections[word] = best[0][0]
        return corrections

    async def _candidates(self, budgets: dict[str, int]) -> dict[str, list[tuple[str, int]]]:
        """Indexed words sharing each word's first letter, with a length within its budget."""
        part, values = _candidates_query(self._table, budgets)
        _, rows = await self._client.execute_query(
            f"SELECT term, docs FROM {self._table} WHERE {part}", values
        )
        found: dict[str, list[tuple[str, int]]] = {word: [] for word in budgets}
        for term, docs in rows:
            for word, budget in budgets.items():
                if term[0] == word[0] and abs(len(term) - len(word)) <= budget:
                    found[word].append((term, docs))
        return found

    async def _has_prefix(self, prefix: str) -> bool:
        _, rows = await self._client.execute_query(
            f"SELECT 1 FROM {self._table} WHERE term >= ? AND term < ? LIMIT 1",
            [prefix, prefix + "\U0010ffff"],
        )
        return bool(rows)


def completable(prefix: str) -> bool:
    """Whether the terms table can list every completion of `prefix` (see `Vocabulary.completions`)."""
    return len(prefix) >= COMPLETE_FROM and prefix.isascii() and not prefix.isdigit()


def _candidates_query(table: str, budgets: dict[str, int]) -> tuple[str, list[Any]]:
    """A WHERE clause for the terms that may be within each word's typo budget."""
    clauses, values = [], []
    for word, budget in budgets.items():
        clauses.append("(term >= ? AND term < ? AND length(term) BETWEEN ? AND ?)")
        values += [word[0], chr(ord(word[0]) + 1), len(word) - budget, len(word) + budget]
    return " OR ".join(clauses), values


def _fresh(cache: dict[str, tuple[float, Any]], key: str | None, now: float) -> Any:
    """The value cached under `key` if it has not expired, else None."""
    if key is None:
        return None
    entry = cache.get(key)
    return entry[1] if entry is not None and entry[0] > now else None
