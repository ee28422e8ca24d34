"""The words of an SQLite search index with their document counts: typos and suggestions.

`SqliteFTSBackend` keeps this table in step with its documents on every write
(in the same transaction), because reading FTS5's own vocabulary (fts5vocab)
walks the posting lists of every term it returns: too slow for each query.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
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
CACHE_SECONDS = 30.0  # how long another process's new words may go unseen
CACHE_SIZE = 4096


def vocabulary_words(title: str, tags: Iterable[str], body: str) -> set[str]:
    """The words of a document worth offering as typo alternatives (numbers are not)."""
    words = distinct_words(title) | distinct_words(" ".join(tags)) | distinct_words(body)
    return {w for w in words if len(w) <= MAX_TERM_LENGTH and not w.isdigit()}


class Vocabulary:
    """The ``terms`` table: (term, number of documents containing it)."""

    def __init__(self, client: BaseDBAsyncClient, table: str) -> None:
        self._client = client
        self._table = table
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}

    def forget(self) -> None:
        """Drop cached typo alternatives (after this process changed the index)."""
        self._cache.clear()

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

    async def typo_alternatives(self, words: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """For each word allowed typos, the indexed words within its typo budget."""
        now = time.monotonic()
        found: dict[str, tuple[str, ...]] = {}
        missing: dict[str, int] = {}
        for word in set(words):
            if not typos.allowed_typos(word) or word.isdigit():
                continue
            cached = self._cache.get(word)
            if cached is not None and cached[0] > now:
                found[word] = cached[1]
            else:
                missing[word] = typos.allowed_typos(word)
        if missing:
            candidates = await self._candidates(missing)
            if len(self._cache) > CACHE_SIZE:
                self._cache.clear()
            for word, budget in missing.items():
                nearest = typos.closest(word, candidates[word], budget, count=TYPO_ALTERNATIVES)
                found[word] = tuple(term for term, _ in nearest)
                self._cache[word] = (now + CACHE_SECONDS, found[word])
        return {word: alternatives for word, alternatives in found.items() if alternatives}

    async def completions(self, prefix: str) -> tuple[str, ...] | None:
        """Every indexed word starting with `prefix`, or None when FTS5 should expand it.

        None for short prefixes (FTS5 has indexes for them), for prefixes with many
        completions, and where this table may not hold every completion the index
        does (numbers, words outside ASCII).
        """
        if len(prefix) < COMPLETE_FROM or not prefix.isascii() or prefix.isdigit():
            return None
        _, rows = await self._client.execute_query(
            f"SELECT term FROM {self._table} WHERE term >= ? AND term < ? LIMIT ?",
            [prefix, prefix + "\U0010ffff", MAX_COMPLETIONS + 1],
        )
        if not rows or len(rows) > MAX_COMPLETIONS:
            return None
        return tuple(row[0] for row in rows)

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
        clauses, values = [], []
        for word, budget in budgets.items():
            clauses.append("(term >= ? AND term < ? AND length(term) BETWEEN ? AND ?)")
            values += [word[0], chr(ord(word[0]) + 1), len(word) - budget, len(word) + budget]
        _, rows = await self._client.execute_query(
            f"SELECT term, docs FROM {self._table} WHERE {' OR '.join(clauses)}", values
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
