"""The words of a PostgreSQL search index with their document counts: typos, estimates, "did you mean".

The ``{prefix}words`` table is kept in step by every write of `PostgresFTSBackend`,
in the same statement (`count_words`). A search asks it, in one statement
(`lookup`), for each query word:

- its typo alternatives: of the indexed words sharing its first letter and with
  a length within its budget (an index finds them), the nearest by trigrams,
  then checked with Meilisearch's rules (`typos`);
- how many documents hold it (and for the word being typed, the words it starts),
  with the number of documents in the index: the search's estimate of how
  densely its matches fill the index, which chooses how to find the newest of
  them (`postgres_search`);
- for the word being typed, the indexed words it starts (when there are at most
  `PREFIX_WORDS`): highlighting marks those words rather than testing every
  word of every hit as a prefix.

Answers are kept per word for `CACHE_SECONDS` in each process, as the SQLite
engine keeps its typo alternatives: a search for words seen lately needs no
look-up. A word another process has just indexed may therefore take that long
to become a typo alternative; this process's own writes clear the cache at once.
Counts only guide the choice of plan and never decide a result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index import typos
from search_index.query_syntax import ParsedQuery

ALTERNATIVES = 8  # typo alternatives per query word: the nearest, then the most frequent
NEIGHBOURS = 64  # trigram neighbours looked at per misspelt word
PREFIX_WORDS = 100  # words starting with a prefix looked up (its estimate, its completions)
CACHE_SECONDS = 30.0  # how long a word's look-up is reused (another process's new words)
CACHE_SIZE = 4096
_SIZE = ("size",)


@dataclass(frozen=True)
class Lookup:
    """What the vocabulary says about the words of one query."""

    alternatives: Mapping[str, tuple[str, ...]]  # typo alternatives of each word allowed typos
    documents: Mapping[str, int]  # documents holding each word, and each alternative
    prefixed: Mapping[str, int]  # documents holding a word that starts with each prefix
    size: int  # documents in the index (an estimate, at least 1)
    # The indexed words each prefix starts, when they are at most PREFIX_WORDS.
    completions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def density(self, parsed: ParsedQuery, prefix: str | None) -> float:
        """The share of the index `parsed` should match, its words taken as independent.

        Each plain word matches itself and its typo alternatives (the word being
        typed: every word it starts); quoted words count as plain ones and
        exclusions are ignored, so phrases and exclusions make it an overestimate.
        """
        density = 1.0
        for part in parsed.parts:
            if part.kind == "exclude":
                continue
            for word in part.words:
                alternatives = self.alternatives.get(word, ()) if part.kind == "words" else ()
                if part.kind == "words" and word == prefix:
                    found = self.prefixed.get(word, 0) + sum(
                        self.documents.get(a, 0) for a in alternatives if not a.startswith(word)
                    )
                else:
                    found = self.documents.get(word, 0) + sum(
                        self.documents.get(a, 0) for a in alternatives
                    )
                density *= min(1.0, found / self.size)
        return density


class Vocabulary:
    """The ``words`` table: (word, number of documents containing it)."""

    def __init__(
        self, table: str, documents_table: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.table = table
        self.documents_table = documents_table
        self._clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, object]] = {}

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
        self.changed()
        if unused:
            await db.execute_query(
                f"DELETE FROM {self.table} WHERE word = ANY($1::text[]) AND documents <= 0",
                [unused],
            )

    def changed(self) -> None:
        """This process changed the index: drop every remembered look-up."""
        self._cache.clear()

    # -- searches -----------------------------------------------------------------

    async def lookup(
        self, db: BaseDBAsyncClient, parsed: ParsedQuery, prefix: str | None
    ) -> Lookup:
        """Typo alternatives and document counts for the words of `parsed` (see the module)."""
        words = set(parsed.words) | {w for p in parsed.parts if p.kind == "phrase" for w in p.words}
        budgets = {w: typos.allowed_typos(w) for w in parsed.words if not w.isdigit()}
        budgets = {w: b for w, b in budgets.items() if b}
        now = self._clock()
        missing_words = sorted(w for w in words if self._cached(("w", w), now) is None)
        missing_typos = sorted(w for w in budgets if self._cached(("t", w), now) is None)
        missing_prefix = [prefix] if prefix and self._cached(("p", prefix), now) is None else []
        if missing_words or missing_typos or missing_prefix or self._cached(_SIZE, now) is None:
            await self._fetch(db, missing_words, {w: budgets[w] for w in missing_typos},
                              missing_prefix, now)
        alternatives = {w: self._cached(("t", w), now) or () for w in budgets}
        documents = {w: self._cached(("w", w), now) or 0 for w in words}
        for found in alternatives.values():
            for word, count in found:
                documents.setdefault(word, count)
        prefixed, completions = {}, {}
        if prefix:
            prefixed[prefix], known = self._cached(("p", prefix), now) or (0, None)
            if known is not None:
                completions[prefix] = known
        size = max(1, self._cached(_SIZE, now) or 0, *documents.values(), *prefixed.values())
        return Lookup(
            alternatives={w: tuple(a for a, _ in found) for w, found in alternatives.items() if found},
            documents=documents, prefixed=prefixed, size=size, completions=completions,
        )

    def _cached(self, key: tuple[str, ...], now: float) -> object | None:
        found = self._cache.get(key)
        return found[1] if found is not None and found[0] > now else None

    def _keep(self, key: tuple[str, ...], value: object, now: float) -> None:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (now + CACHE_SECONDS, value)

    async def _fetch(
        self, db: BaseDBAsyncClient, words: list[str], budgets: Mapping[str, int],
        prefixes: list[str], now: float,
    ) -> None:
        """One statement: typo neighbours, word counts, prefix counts, the index's size."""
        typo_words = sorted(budgets)
        rows = await db.execute_query_dict(
            f"""
            {self._neighbours_sql("$1", "$2")}
            UNION ALL
            SELECT 'word', v.word, v.word, v.documents, NULL FROM {self.table} v
            WHERE v.word = ANY($3::text[])
            UNION ALL
            SELECT 'prefix', p.prefix, NULL, started.documents, started.words
            FROM unnest($4::text[]) AS p(prefix), LATERAL (
                SELECT coalesce(sum(v.documents), 0)::int AS documents, array_agg(v.word) AS words
                FROM (
                    SELECT word, documents FROM {self.table}
                    WHERE word ~>=~ p.prefix AND word ~<~ (p.prefix || chr(1114111))
                      AND documents > 0
                    LIMIT {PREFIX_WORDS + 1}
                ) v
            ) started
            UNION ALL
            SELECT 'size', NULL, NULL, (
                -- As the planner estimates it: rows per page when last analysed,
                -- times the pages now; before any ANALYZE, the live rows counted.
                SELECT CASE WHEN c.reltuples > 0 AND c.relpages > 0
                    THEN c.reltuples / c.relpages
                         * (pg_relation_size(c.oid) / current_setting('block_size')::int)
                    ELSE pg_stat_get_live_tuples(c.oid) END
                FROM pg_class c WHERE c.oid = '{self.documents_table}'::regclass
            )::int, NULL
            """,
            [typo_words, [budgets[w] for w in typo_words], words, prefixes],
        )
        neighbours: dict[str, list[tuple[str, int]]] = {word: [] for word in typo_words}
        counts = dict.fromkeys(words, 0)
        for row in rows:
            kind = row["kind"]
            if kind == "near":
                neighbours[row["query"]].append((row["word"], row["documents"]))
            elif kind == "word":
                counts[row["query"]] = row["documents"]
            elif kind == "prefix":
                started = tuple(row["words"] or ())
                known = started if len(started) <= PREFIX_WORDS else None
                self._keep(("p", row["query"]), (row["documents"], known), now)
            else:
                self._keep(_SIZE, row["documents"], now)
        for word, count in counts.items():
            self._keep(("w", word), count, now)
        for word, found in neighbours.items():
            frequency = dict(found)
            nearest = typos.closest(word, found, budgets[word], ALTERNATIVES)
            self._keep(("t", word), tuple((w, frequency[w]) for w, _ in nearest), now)

    def _neighbours_sql(self, words: str, budgets: str) -> str:
        """Rows ('near', query word, indexed word, documents): the indexed words nearest
        (by trigrams) to each word, sharing its first letter and with a length within
        its budget. An index on (first letter, length) finds those; trigram distance
        is then computed for them only."""
        return f"""
            SELECT 'near' AS kind, q.word AS query, n.word, n.documents, NULL::text[] AS words
            FROM unnest({words}::text[], {budgets}::int[]) AS q(word, budget)
            CROSS JOIN LATERAL (
                SELECT v.word, v.documents FROM {self.table} v
                WHERE left(v.word, 1) = left(q.word, 1) AND v.documents > 0
                  AND length(v.word) BETWEEN length(q.word) - q.budget AND length(q.word) + q.budget
                ORDER BY v.word <-> q.word LIMIT {NEIGHBOURS}
            ) n"""

    # -- "did you mean" -------------------------------------------------------------

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
        words = sorted(budgets)
        rows = await db.execute_query_dict(
            self._neighbours_sql("$1", "$2"), [words, [budgets[w] for w in words]]
        )
        found: dict[str, list[tuple[str, int]]] = {word: [] for word in words}
        for row in rows:
            found[row["query"]].append((row["word"], row["documents"]))
        return found

    async def _has_prefix(self, db: BaseDBAsyncClient, prefix: str) -> bool:
        return bool(await db.execute_query_dict(
            f"SELECT 1 FROM {self.table} WHERE word ~>=~ $1 AND word ~<~ ($1 || chr(1114111)) "
            "AND documents > 0 LIMIT 1",
            [prefix],
        ))
