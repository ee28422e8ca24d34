"""Ranking the candidates of a common query without bm25()'s pass over the index.

FTS5's bm25() starts every statement by counting, for each phrase of its MATCH,
every document of the index that holds it (the phrase's IDF). For common words
that pass is most of a query's cost, and it grows with the index: about 1.4 ms
for a word in 90 % of 40,000 posts, 25 times that at a million. The engine's
``terms`` table already knows those counts, so the engine first asks what the
pass would read (`bm25_cost`); past `BM25_BUDGET` documents the candidates are
scored here instead, with bm25's formula, weights and IDF (from ``terms``), over
what FTS5 tells cheaply within the candidates' rowid range: which of the query's
clauses each candidate has in its title and in its tags (column filters, no
IDF pass, a few hundred rows).

What this leaves out is how *often* a clause occurs and how long the document
is: every candidate has every clause somewhere, so a clause's weight is 1 for
the body, plus 10 when it is in the title, plus 5 in the tags (the weights of
the bm25 ranking). Titles and tags then decide, as in Meilisearch's
"attribute" rule, then recency.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from search_index.fts5_expression import Clause

# Documents bm25's IDF pass may read for a query (about 40 us per thousand):
# beyond, `presence_statement` ranks the candidates.
BM25_BUDGET = 4000
TITLE_WEIGHT, TAGS_WEIGHT, BODY_WEIGHT = 10.0, 5.0, 1.0  # as sqlite_search.WEIGHTS
K1 = 1.2  # bm25's term-frequency saturation, as FTS5's
# A candidate window this many times longer than its candidates holds them
# sparsely: each clause's column walk then follows the whole expression.
SPARSE_WINDOW = 4
_UNBOUNDED = math.inf


def bm25_cost(clauses: Sequence[Clause], counts: Mapping[str, int]) -> float:
    """The documents bm25()'s IDF pass would read for `clauses` (inf when unknown:
    a prefix FTS5 expands, a number the terms table does not count, or a word not
    looked up, such as a glossary term's or a quoted phrase's)."""
    cost = 0.0
    for clause in clauses:
        if clause.open_prefix:
            return _UNBOUNDED
        for words in clause.alternatives:
            for word in words:
                if word.isdigit() or word not in counts:
                    return _UNBOUNDED
                cost += counts[word]
    return cost


def clause_documents(clause: Clause, counts: Mapping[str, int], total: int) -> int:
    """About how many documents have `clause`: its alternatives' counts added up,
    a phrase counted as its rarest word."""
    found = sum(min((counts.get(w, 0) for w in words), default=0) for words in clause.alternatives)
    return min(found, total)


def idf(documents: int, total: int) -> float:
    """bm25's inverse document frequency, as FTS5 computes it (never below 1e-6)."""
    value = math.log((total - documents + 0.5) / (documents + 0.5))
    return value if value > 0 else 1e-6


def presence_statement(
    tables: tuple[str, str], columns: str, candidates: Sequence[int], clauses: Sequence[Clause],
    counts: Mapping[str, int], total: int, scoring: str, exact: str | None, *, sparse: bool,
    offset: int, limit: int,
) -> tuple[str, list[Any]]:
    """One statement: a page of `candidates` (newest first) best first, with
    `columns` of the documents table (`tables` is (documents, fts)).

    FTS5 walks, from the oldest candidate on, each clause within the title and
    within the tags (and `exact`: the query without typo alternatives), each walk
    adding a bit to the documents it finds: bit 2i, clause i is in the title;
    2i+1, in the tags; 2n, no typo needed. When the candidates are `sparse` in
    their window, each walk also follows `scoring` (the whole query), so that FTS5
    skips from match to match instead of reading each clause's every occurrence.
    The bits then give each candidate its score: exact matches first, then bm25
    over the clauses' presence (see the module docstring), then newest first.
    """
    docs, fts = tables
    oldest = candidates[-1]
    walks: list[str] = []
    values: list[Any] = []
    bit = 1
    for clause in clauses:
        for column in ("title", "tags"):
            match = f"{column} : ({clause.expression})"
            walks.append(f"SELECT rowid AS rid, {bit} AS bit FROM {fts} "
                         f"WHERE {fts} MATCH ? AND rowid >= ?")
            values += [f"({match}) AND ({scoring})" if sparse else match, oldest]
            bit <<= 1
    tier = "0"
    if exact is not None:
        walks.append(f"SELECT rowid AS rid, {bit} AS bit FROM {fts} "
                     f"WHERE {fts} MATCH ? AND rowid >= ?")
        values += [exact, oldest]
        tier = f"(b >> {2 * len(clauses)}) & 1"
    sql = f"""
        WITH walks AS ({" UNION ALL ".join(walks)}),
        -- A document is in each walk at most once: the sum is the OR of its bits.
        found AS MATERIALIZED (SELECT rid, sum(bit) AS b FROM walks GROUP BY rid),
        page AS (
            SELECT rid, {tier} AS tier, {_score(clauses, counts, total)} AS score FROM (
                SELECT c.value AS rid, coalesce(f.b, 0) AS b
                FROM json_each(?) c LEFT JOIN found f ON f.rid = c.value
            )
            ORDER BY tier DESC, score DESC, rid DESC LIMIT ? OFFSET ?
        )
        SELECT {columns} FROM page p JOIN {docs} d ON d.rid = p.rid
        ORDER BY p.tier DESC, p.score DESC, p.rid DESC"""
    return sql, [*values, json.dumps(list(candidates)), limit, offset]


def _score(clauses: Sequence[Clause], counts: Mapping[str, int], total: int) -> str:
    """SQL for a candidate's score from its bits `b`: each clause's bm25 term for
    its four cases (in neither, the title, the tags, both), computed here."""
    terms = []
    for index, clause in enumerate(clauses):
        weight = idf(clause_documents(clause, counts, total), total)
        cases = []
        for bits in range(4):
            frequency = BODY_WEIGHT + TITLE_WEIGHT * (bits & 1) + TAGS_WEIGHT * (bits >> 1)
            cases.append(repr(weight * frequency * (K1 + 1) / (frequency + K1)))
        terms.append(
            f"CASE (b >> {2 * index}) & 3 WHEN 0 THEN {cases[0]} WHEN 1 THEN {cases[1]} "
            f"WHEN 2 THEN {cases[2]} ELSE {cases[3]} END"
        )
    return " + ".join(terms) or "0"


def is_sparse(candidates: Sequence[int], last_rid: int) -> bool:
    """Whether the candidates (newest first) fill their rowid window thinly."""
    window = last_rid - candidates[-1] + 1
    return window > SPARSE_WINDOW * len(candidates)
