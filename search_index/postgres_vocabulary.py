"""The words of a PostgreSQL search index with their document counts: typos and "did you mean".

The ``{prefix}words`` table is kept in step by every write of `PostgresFTSBackend`,
in the same statement (`count_words`); a trigram (GiST) index finds the
neighbours of a misspelt word.

Read these outside the planner settings of a search (`PLANNER_SETTINGS` in
`postgres_search`): with sequential scans off, PostgreSQL walks the trigram
index even where reading the small table is some twenty times faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index import typos
from search_index.query_syntax import ParsedQuery

ALTERNATIVES = 8  # typo alternatives per query word: the nearest, then the most frequent
NEIGHBOURS = 64  # trigram neighbours looked at per misspelt word


class Vocabulary:
    """The ``words`` table: (word, number of documents containing it)."""

    def __init__(self, table: str) -> None:
        self.table = table

    def count_words(self, changes: str) -> str:
        """The end of a statement: add the (word, n) rows of `changes` to the document
        counts, in word order, and select the words no document holds any more.

        Always locking words in the same order keeps concurrent writers from deadlocking.
        """
        words = self.table
        return f""", counted AS (
                INSERT INTO {words} (word, documents)
                SELECT word, sum(n) FROM {changes} GROUP BY word HAVING sum(n) <> 0 ORDER BY word
                ON CONFLICT (word) DO UPDATE SET documents = {words}.documents + EXCLUDED.documents
                RETURNING word, documents
            )
            SELECT word FROM counted WHERE documents <= 0"""

    async def forget(self, db: BaseDBAsyncClient, unused: list[str]) -> None:
        """Remove words no document holds (unless a writer has just added them again)."""
        if unused:
            await db.execute_query(
                f"DELETE FROM {self.table} WHERE word = ANY($1::text[]) AND documents <= 0",
                [unused],
            )

    async def typo_alternatives(
        self, db: BaseDBAsyncClient, words: Iterable[str]
    ) -> dict[str, tuple[str, ...]]:
        """For each word allowed typos, the indexed words within its typo budget."""
        budgets = {w: typos.allowed_typos(w) for w in set(words) if not w.isdigit()}
        budgets = {w: b for w, b in budgets.items() if b}
        if not budgets:
            return {}
        candidates = await self._neighbours(db, budgets)
        found = {
            word: tuple(w for w, _ in typos.closest(word, candidates[word], budget, ALTERNATIVES))
            for word, budget in budgets.items()
        }
        return {word: alternatives for word, alternatives in found.items() if alternatives}

    async def corrections(self, db: BaseDBAsyncClient, parsed: ParsedQuery) -> dict[str, str]:
        """The nearest indexed word for each unknown word of `parsed` that has one."""
        budgets = {
            w: typos.suggestion_budget(w) for w in set(parsed.words)
            if typos.suggestion_budget(w) and not w.isdigit()
        }
        prefix = parsed.last_word
        if prefix in budgets and await self._has_prefix(db, prefix):
            del budgets[prefix]
        if not budgets:
            return {}
        candidates = await self._neighbours(db, budgets)
        corrections = {}
        for word, budget in budgets.items():
            if any(term == word for term, _ in candidates[word]):
                continue  # a known word: only the combination finds nothing
            best = typos.closest(word, candidates[word], budget, count=1)
            if best:
                corrections[word] = best[0][0]
        return corrections

    async def _neighbours(
        self, db: BaseDBAsyncClient, budgets: Mapping[str, int]
    ) -> dict[str, list[tuple[str, int]]]:
        """The indexed words nearest (by trigrams) to each word, sharing its first letter
        and with a length within its budget, with their document counts."""
        words = sorted(budgets)
        rows = await db.execute_query_dict(
            f"""
            SELECT q.word AS query, n.word, n.documents
            FROM unnest($1::text[], $2::int[]) AS q(word, budget)
            CROSS JOIN LATERAL (
                SELECT v.word, v.documents FROM {self.table} v
                WHERE v.word LIKE left(q.word, 1) || '%' AND v.documents > 0
                  AND length(v.word) BETWEEN length(q.word) - q.budget AND length(q.word) + q.budget
                ORDER BY v.word <-> q.word LIMIT {NEIGHBOURS}
            ) n
            """,
            [words, [budgets[w] for w in words]],
        )
        found: dict[str, list[tuple[str, int]]] = {word: [] for word in words}
        for row in rows:
            found[row["query"]].append((row["word"], row["documents"]))
        return found

    async def _has_prefix(self, db: BaseDBAsyncClient, prefix: str) -> bool:
        return bool(await db.execute_query_dict(
            f"SELECT 1 FROM {self.table} WHERE word >= $1 AND word < $1 || chr(1114111) "
            "AND documents > 0 LIMIT 1",
            [prefix],
        ))
