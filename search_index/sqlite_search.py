"""Running a SearchQuery against the FTS5 tables of `SqliteFTSBackend`.

Every query has a bounded shape, whatever the number of matches. FTS5 walks the
matches once, newest first, as far as the limits below need; that one walk
serves the count, the ranked candidates and the facet counts:

- the total is counted by FTS5 alone (ACL and filters are index tokens), exactly
  up to `COUNT_LIMIT` matches; beyond, it is estimated from how densely the
  most recent matches fill the index (`total_is_exact` False). The walk reads
  the newest `COMMON_RANK_LIMIT` + 1 first: when they put the total far past the
  limit (`ESTIMATE_MARGIN`), they alone give the estimate, the ranked sample
  and the facet counts; otherwise it goes on to `COUNT_LIMIT` + 1;
- relevance: over at most `RANK_LIMIT` matches, the most recently indexed ones
  (FTS5 returns rowids newest first and stops at the limit); when there are too
  many matches to count, over the newest `COMMON_RANK_LIMIT` only (such queries
  rank a recent sample either way). They are ordered by bm25 when the query's
  words are rare enough for bm25's own pass over the index to be cheap, else by
  `sqlite_ranking` (the same formula from the vocabulary's counts and the
  words' presence in titles and tags), whose cost does not grow with the index.
  Pages past the ranked matches continue newest-indexed first. Matches needing
  no typo rank above matches that need one (Meilisearch's "typo" rule);
- newest: sorts the matches when they are few; otherwise gathers their rowids
  once and walks the created_at index, stopping after one page;
- facets: exact up to `FACET_LIMIT` matches; beyond, the counts over the most
  recent matches walked (at most `FACET_LIMIT`) are scaled to the estimate.

Facet counts follow the usual convention for filter lists: the counts of a facet
are computed with every *other* facet's filters applied (and the query and the
ACL), so that choosing a topic still shows how many results the other topics
would have given.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index import sqlite_ranking as ranking
from search_index.backend import FACETS, SearchHit, SearchPage, SearchQuery
from search_index.fts5_expression import CompiledQuery, both, compile_query, meta_clause
from search_index.highlight import Matches, highlight, snippet
from search_index.query_syntax import ParsedQuery, parse_query
from search_index.sqlite_vocabulary import Vocabulary

COUNT_LIMIT = 1000  # as Meilisearch's maxTotalHits: beyond, an estimate
RANK_LIMIT = 1000
# When the total is an estimate, relevance orders the newest this many (ten pages of
# results; past them, newest first), and their facet values stand for all.
COMMON_RANK_LIMIT = 100
FACET_LIMIT = 1000
# The newest COMMON_RANK_LIMIT + 1 matches, when their estimate of the total is
# past COUNT_LIMIT this many times, stand for all of a common query's matches.
ESTIMATE_MARGIN = 2
MAX_FACET_VALUES = 100
MAX_PER_PAGE = 100
WEIGHTS = "10.0, 5.0, 1.0, 0.0"  # bm25 column weights: title, tags, body, meta
# Sorting a match costs about this many times more than stepping over a
# document in the created_at index: the "newest" order's choice of plan.
WALK_COST = 4
_HIT_COLUMNS = "d.id, d.kind, d.url, d.title, d.body, d.topic, d.author, d.solved, d.created_at"


@dataclass(frozen=True)
class Tables:
    documents: str
    fts: str


class FTSSearch:
    def __init__(self, client: BaseDBAsyncClient, tables: Tables, vocabulary: Vocabulary) -> None:
        self._client = client
        self._docs = tables.documents
        self._fts = tables.fts
        self._vocabulary = vocabulary

    async def search(self, query: SearchQuery) -> SearchPage:
        page = max(1, query.page)
        per_page = min(max(1, query.per_page), MAX_PER_PAGE)
        filters = _filters(query)
        facet_names = list(dict.fromkeys(query.facets))
        unknown = [name for name in facet_names if name not in FACETS]
        if unknown:
            raise ValueError(f"Unknown facets {unknown}: use {FACETS}")
        parsed = parse_query(query.text)
        principals = [p for p in query.principals if p]
        if parsed.is_empty or not principals:
            return SearchPage(hits=[], total=0, page=page, per_page=per_page)

        compiled, counts = await self._compile(parsed)
        acl = meta_clause("acl", principals)
        match = both(compiled.match, acl, *filters.values())
        # One walk of the matches serves the count, the ranked candidates and
        # the facets that have no filter of their own.
        newest = await self._newest_matches(
            match, with_facets=any(name not in filters for name in facet_names)
        )
        total, exact = newest.total()
        offset = (page - 1) * per_page
        rows: list[dict[str, Any]] = []
        if offset < total or not exact:
            if query.sort == "newest":
                rows = await self._newest(match, newest, total, offset, per_page)
            else:
                rows = await self._relevant(
                    match, newest, compiled, counts, total, offset, per_page
                )
        facets = (
            await self._facets(facet_names, both(compiled.match, acl), filters, newest)
            if facet_names else {}
        )
        did_you_mean = None
        if total == 0:
            did_you_mean = await self._did_you_mean(parsed, both(acl, *filters.values()))
        return SearchPage(
            hits=[_hit(row, compiled.matches) for row in rows], total=total,
            total_is_exact=exact, facets=facets,
            did_you_mean=did_you_mean, page=page, per_page=per_page,
        )

    async def _compile(self, parsed: ParsedQuery) -> tuple[CompiledQuery, dict[str, int]]:
        """`parsed` compiled, and the document counts of the words it looks up."""
        found = await self._vocabulary.lookup(parsed.words, parsed.last_word)
        compiled = compile_query(parsed, found.typos, found.completions)
        return compiled, found.counts

    async def _newest_matches(self, match: str, *, with_facets: bool) -> NewestMatches:
        """The most recently indexed matches of `match`, as many as any limit needs.

        The newest `COMMON_RANK_LIMIT` + 1 come first: when they fill the index so
        densely that the matches are surely too many to count, they are all a
        common query needs (its estimate, ranked sample and facet counts), and
        the longer walk is never made.
        """
        full = max(COUNT_LIMIT + 1, RANK_LIMIT, FACET_LIMIT)
        sample = min(COMMON_RANK_LIMIT + 1, full)
        found = await self._walk(match, sample, with_facets=with_facets)
        if sample == full or len(found.rids) < sample or found.surely_common():
            return found
        return await self._walk(match, full, with_facets=with_facets)

    async def _walk(self, match: str, limit: int, *, with_facets: bool) -> NewestMatches:
        """The newest `limit` matches of `match` (with their facets)."""
        docs, fts = self._docs, self._fts
        facets, join = "NULL", ""
        if with_facets:
            facets = "d.facets"
            join = f"JOIN {docs} d INDEXED BY {docs}_facets ON d.rid = m.rid"
        _, rows = await self._client.execute_query(
            f"""SELECT m.rid, {facets}, (SELECT max(rid) FROM {docs}) FROM (
                    SELECT rowid AS rid FROM {fts} WHERE {fts} MATCH ?
                    ORDER BY rowid DESC LIMIT ?
                ) m {join}""",
            [match, limit],
        )
        rows.sort(key=itemgetter(0), reverse=True)  # in order already: no sort in SQL
        return NewestMatches(
            rids=[row[0] for row in rows],
            facets=[row[1] for row in rows] if with_facets else [],
            last_rid=rows[0][2] if rows else 0,
            asked=limit,
        )

    async def _relevant(
        self, match: str, newest: NewestMatches, compiled: CompiledQuery,
        counts: Mapping[str, int], total: int, offset: int, limit: int,
    ) -> list[dict[str, Any]]:
        """A page in relevance order (exact before typo matches), then newest-indexed first."""
        rows: list[dict[str, Any]] = []
        candidates = newest.ranked()
        ranked = len(candidates)
        if offset < ranked:
            rows = await self._ranked(
                candidates, compiled, counts, newest.last_rid, offset, min(limit, ranked - offset)
            )
        if len(rows) < limit and total > ranked:
            rows += await self._older(
                match, candidates[-1], max(0, offset - ranked), limit - len(rows)
            )
        return rows

    async def _ranked(
        self, candidates: list[int], compiled: CompiledQuery, counts: Mapping[str, int],
        last_rid: int, offset: int, limit: int,
    ) -> list[dict[str, Any]]:
        """The `candidates` (the newest matches of the whole expression) in relevance
        order: by bm25 when its IDF pass is cheap, else by `sqlite_ranking`."""
        if ranking.bm25_cost(compiled.clauses, counts) <= ranking.BM25_BUDGET:
            return await self._bm25_ranked(candidates, compiled, offset, limit)
        sql, values = ranking.presence_statement(
            (self._docs, self._fts), _HIT_COLUMNS, candidates, compiled.clauses, counts, last_rid,
            compiled.match, compiled.exact, sparse=ranking.is_sparse(candidates, last_rid),
            offset=offset, limit=limit,
        )
        return await self._client.execute_query_dict(sql, values)

    async def _bm25_ranked(
        self, candidates: list[int], compiled: CompiledQuery, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        """The `candidates` in bm25 order; bm25 scores them against the query's words
        alone (without the ACL and filters).

        bm25 first counts, for each phrase of its MATCH, every document that holds
        it (the IDF): the ACL's "public" is in nearly every document, and a filter's
        value in many, so scoring the whole expression would cost a pass over much
        of the index per query.
        """
        fts = self._fts
        oldest = candidates[-1]
        values: list[Any] = [compiled.match, oldest]
        tier = "0"
        if compiled.exact is not None:
            tier = f"s.rid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ? AND rowid >= ?)"
            values += [compiled.exact, oldest]
        # The candidates filter the scored rows (the scored expression lets in
        # documents the searcher may not see) once they are scored: given to
        # FTS5 as `rowid IN (...)`, it would restart (and recount the IDF) for
        # each of them.
        sql = f"""
            WITH scored AS MATERIALIZED (
                SELECT rowid AS rid, bm25({fts}, {WEIGHTS}) AS score FROM {fts}
                WHERE {fts} MATCH ? AND rowid >= ?
            ), page AS (
                SELECT s.rid, s.score, {tier} AS tier FROM scored s
                WHERE s.rid IN (SELECT value FROM json_each(?))
                ORDER BY tier DESC, s.score, s.rid DESC LIMIT ? OFFSET ?
            )
            SELECT {_HIT_COLUMNS} FROM page p JOIN {self._docs} d ON d.rid = p.rid
            ORDER BY p.tier DESC, p.score, p.rid DESC"""
        return await self._client.execute_query_dict(
            sql, [*values, json.dumps(candidates), limit, offset]
        )

    async def _older(
        self, match: str, last_ranked: int, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        """Matches past the ranked ones (indexed before `last_ranked`), newest-indexed first."""
        fts = self._fts
        sql = f"""
            WITH page AS (
                SELECT rowid AS rid FROM {fts} WHERE {fts} MATCH ? AND rowid < ?
                ORDER BY rowid DESC LIMIT ? OFFSET ?
            )
            SELECT {_HIT_COLUMNS} FROM page p JOIN {self._docs} d ON d.rid = p.rid
            ORDER BY p.rid DESC"""
        return await self._client.execute_query_dict(sql, [match, last_ranked, limit, offset])

    async def _newest(
        self, match: str, newest: NewestMatches, total: int, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        """A page of matches, most recently created first."""
        docs, fts = self._docs, self._fts
        # Walking the created_at index meets a match every size/total documents
        # (the matches' rowids are gathered once); sorting costs per match.
        if (offset + limit) * newest.last_rid < WALK_COST * total * total:
            chosen = f"""
                SELECT d.rid AS rid, d.created_at AS created_at
                FROM {docs} d INDEXED BY {docs}_created
                WHERE d.rid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"""
        else:
            chosen = f"""
                SELECT d.rid AS rid, d.created_at AS created_at
                FROM {fts} f CROSS JOIN {docs} d ON d.rid = f.rowid WHERE {fts} MATCH ?"""
        sql = f"""
            WITH page AS ({chosen} ORDER BY d.created_at DESC, d.rid DESC LIMIT ? OFFSET ?)
            SELECT {_HIT_COLUMNS} FROM page p JOIN {docs} d ON d.rid = p.rid
            ORDER BY p.created_at DESC, p.rid DESC"""
        return await self._client.execute_query_dict(sql, [match, limit, offset])

    async def _facets(
        self, names: list[str], searched: str, filters: dict[str, str], newest: NewestMatches
    ) -> dict[str, dict[str, int]]:
        """Counts per value of each facet in `names` (see the module docstring).

        The facets without a filter of their own count over `newest`: the
        matches of `searched` with every filter.
        """
        counts: dict[str, Counter[str]] = {name: Counter() for name in names}
        shared = [name for name in names if name not in filters]
        if shared:
            _count_values(newest.facets, newest.total()[0], shared, counts)
        for own in (name for name in names if name in filters):
            match = both(searched, *(c for name, c in filters.items() if name != own))
            others = await self._newest_matches(match, with_facets=True)
            _count_values(others.facets, others.total()[0], [own], counts)
        return {
            name: dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FACET_VALUES])
            for name, found in counts.items()
        }

    async def _did_you_mean(self, parsed: ParsedQuery, restrictions: str) -> str | None:
        """A corrected query that finds something, when the words have close spellings."""
        corrections = await self._vocabulary.suggestions(parsed.words, parsed.last_word)
        if not corrections:
            return None
        compiled, _ = await self._compile(parsed.replace_words(corrections))
        fts = self._fts
        _, rows = await self._client.execute_query(
            f"SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT 1",
            [both(compiled.match, restrictions)],
        )
        if rows:
            return parsed.replace_words(corrections).text()
        return None


@dataclass(frozen=True)
class NewestMatches:
    """The most recently indexed matches of an expression, newest first: as many as
    the count, the ranking and the facet counts look at."""

    rids: list[int]
    facets: list[str]  # the facet values (JSON) of each match, when asked for
    last_rid: int  # the newest document's rid, whether it matches or not
    asked: int  # how many were asked for: fewer found are all there are

    def surely_common(self) -> bool:
        """Whether these matches' estimate of the total is past `COUNT_LIMIT`
        `ESTIMATE_MARGIN` times over."""
        return self._estimate(len(self.rids)) >= ESTIMATE_MARGIN * COUNT_LIMIT

    def ranked(self) -> list[int]:
        """The matches the relevance order ranks (see the module docstring)."""
        exact = self.total()[1]
        return self.rids[:RANK_LIMIT if exact else min(RANK_LIMIT, COMMON_RANK_LIMIT)]

    def total(self) -> tuple[int, bool]:
        """The number of matches, and whether it is exact (see the module docstring)."""
        count = len(self.rids)
        if count < self.asked and count <= COUNT_LIMIT:  # all of them
            return count, True
        return self._estimate(min(count, COUNT_LIMIT + 1)), False

    def _estimate(self, count: int) -> int:
        """The total, from how densely the newest `count` matches fill the index."""
        if not count:
            return 0
        oldest = self.rids[count - 1]
        return max(count, round(count * self.last_rid / (self.last_rid - oldest + 1)))


def _count_values(
    facets: list[str], size: int, members: list[str], counts: dict[str, Counter[str]]
) -> None:
    """Add to `counts` the values of facets `members` over the newest `FACET_LIMIT`
    of `facets` (each match's), scaled up to `size` matches."""
    sample = facets[:FACET_LIMIT]
    if not size or not sample:
        return
    scale = size / len(sample)
    found: dict[str, Counter[str]] = {name: Counter() for name in members}
    for text, count in Counter(sample).items():
        values = _facet_values(text)
        for name in members:
            for value in values[name]:
                if value:
                    found[name][value] += count
    for name in members:
        for value, count in found[name].items():
            counts[name][value] += max(1, round(count * scale))


@lru_cache(maxsize=4096)
def _facet_values(text: str) -> dict[str, list[str]]:
    """A match's facet values by facet; the same few combinations recur in every query."""
    return dict(zip(FACETS, json.loads(text), strict=True))


def _filters(query: SearchQuery) -> dict[str, str]:
    """A MATCH clause per filtered facet: OR of its values."""
    clauses = {}
    for name, values in query.filters.items():
        if name not in FACETS:
            raise ValueError(f"Unknown filter {name!r}: use {FACETS}")
        if isinstance(values, str):
            values = (values,)
        wanted = [str(v).lower() if name == "solved" else str(v) for v in values]
        if wanted:
            clauses[name] = meta_clause(name, wanted)
    return clauses


def _hit(row: dict[str, Any], matches: Matches) -> SearchHit:
    created = row["created_at"]
    return SearchHit(
        id=row["id"], kind=row["kind"], url=row["url"],
        title=highlight(row["title"], matches), snippet=snippet(row["body"], matches),
        topic=row["topic"], author=row["author"], solved=bool(row["solved"]),
        created_at=datetime.fromisoformat(created) if created else None,
    )
