"""The statements of a PostgreSQL full-text search: counts, facets, a page, "did you mean".

A search is a few statements in one transaction, planned for their parameters
(asyncpg prepares every statement, and a generic plan cannot tell a word found
everywhere from a rare one) and without sequential scans. Costs stay bounded for
words found nearly everywhere (DESIGN §8): the total and facet counts are exact,
from one pass over the matches' small columns; ts_rank_cd ranks the `RANK_LIMIT`
newest matches (found by walking the created_at index when matches are dense),
and later pages continue newest first, as in the SQLite backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index.backend import FACETS, SearchHit, SearchPage, SearchQuery
from search_index.highlight import Matches, highlight, snippet
from search_index.postgres_tsvector import QueryPlan, build_plan
from search_index.postgres_vocabulary import Vocabulary
from search_index.query_syntax import ParsedQuery, parse_query

RANK_LIMIT = 500
# Walking the created_at index costs about this many times more per document
# than a match found through the GIN index, for the choice of plan.
WALK_COST = 4
MAX_FACET_VALUES = 100
MAX_PER_PAGE = 100
MAX_OFFSET = 10**9
# ts_rank_cd weights in PostgreSQL's order {D, C, B, A}: body C, tags B, title A.
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
_ORDER = "created_at DESC NULLS LAST, id DESC"
# For the statements of a search (see the module docstring): plans made for
# these words, not cached ones; and never a sequential scan, which would read
# every document's tsvector (the planner does not count the cost of fetching
# one stored out of line).
PLANNER_SETTINGS = "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL enable_seqscan = off"
# For the vocabulary's statements, between those of a search: see `postgres_vocabulary`.
VOCABULARY_SETTINGS = "SET LOCAL enable_seqscan = on"
_FILTERS = {
    "kind": "kind = ANY({})", "topic": "topic = ANY({})", "tags": "tags && {}",
    "stage": "stage = ANY({})", "sector": "sector = ANY({})", "solved": "solved = ANY({})",
}


class PostgresSearch:
    """Searches of the documents in `documents_table`, with typos from `vocabulary`."""

    def __init__(
        self, client: BaseDBAsyncClient, documents_table: str, vocabulary: Vocabulary
    ) -> None:
        self._client = client
        self.documents_table = documents_table
        self._vocabulary = vocabulary

    async def search(self, query: SearchQuery) -> SearchPage:
        """Run `query`; see the module docstring for the bounds on very common words."""
        page = max(1, query.page)
        per_page = min(max(1, query.per_page), MAX_PER_PAGE)
        facets = list(dict.fromkeys(query.facets))
        unknown = [name for name in facets if name not in FACETS]
        if unknown:
            raise ValueError(f"Unknown facets {unknown}: use {FACETS}")
        filters = _filters(query.filters)
        parsed = parse_query(query.text)
        principals = [p for p in dict.fromkeys(query.principals) if p]
        if parsed.is_empty or not principals:
            return SearchPage(hits=[], total=0, page=page, per_page=per_page)
        return await self._run(
            _Search(parsed, principals, filters, facets, query.sort, page, per_page)
        )

    async def _run(self, search: _Search) -> SearchPage:
        async with self._client._in_transaction() as db:
            # The vocabulary first: PLANNER_SETTINGS would force its trigram index
            # on it, which is slower than reading the small table.
            alternatives = await self._vocabulary.typo_alternatives(db, search.parsed.words)
            await db.execute_script(PLANNER_SETTINGS)
            plan = build_plan(search.parsed, alternatives)
            found = _Matches(
                self.documents_table, plan, search.principals, search.filters, search.facets
            )
            total, counts, size = _read_stats(await db.execute_query_dict(*found.stats()))
            offset = min((search.page - 1) * search.per_page, MAX_OFFSET)
            ids: list[str] = []
            if offset < total:
                for sql, values in found.page(search.sort, offset, search.per_page, total, size):
                    ids += [row["id"] for row in await db.execute_query_dict(sql, values)]
            rows = await self._documents(db, ids)
            did_you_mean = None
            if total == 0:
                did_you_mean = await self._did_you_mean(db, search)
        return SearchPage(
            hits=[_hit(row, plan.matches) for row in rows],
            total=total, facets={name: counts.get(name, {}) for name in search.facets},
            did_you_mean=did_you_mean, page=search.page, per_page=search.per_page,
        )

    async def _documents(self, db: BaseDBAsyncClient, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = await db.execute_query_dict(
            f"""SELECT id, kind, url, title, body, topic, author, solved, created_at
                FROM {self.documents_table} WHERE id = ANY($1::text[])""",
            [ids],
        )
        by_id = {row["id"]: row for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def _did_you_mean(self, db: BaseDBAsyncClient, search: _Search) -> str | None:
        """A respelling of unknown words that finds something these principals may see."""
        await db.execute_script(VOCABULARY_SETTINGS)
        corrections = await self._vocabulary.corrections(db, search.parsed)
        if not corrections:
            return None
        corrected = search.parsed.replace_words(corrections)
        alternatives = await self._vocabulary.typo_alternatives(db, corrected.words)
        await db.execute_script(PLANNER_SETTINGS)
        plan = build_plan(corrected, alternatives)
        found = _Matches(self.documents_table, plan, search.principals, search.filters, [])
        total, _, _ = _read_stats(await db.execute_query_dict(*found.stats()))
        return corrected.text() if total else None


@dataclass(frozen=True)
class _Search:
    """A search query, checked and parsed."""

    parsed: ParsedQuery
    principals: list[str]
    filters: dict[str, list[Any]]
    facets: list[str]
    sort: str
    page: int
    per_page: int



def _filters(requested: Mapping[str, Sequence[str]]) -> dict[str, list[Any]]:
    """The accepted values of each filtered facet (OR within a facet)."""
    filters: dict[str, list[Any]] = {}
    for name, values in requested.items():
        if name not in FACETS:
            raise ValueError(f"Unknown filter {name!r}: use {FACETS}")
        if isinstance(values, str):
            values = (values,)
        if not values:
            continue
        if name == "solved":  # "true"/"false"; anything else matches nothing
            flags = {"true": True, "false": False}
            filters[name] = [flags[v] for v in (str(v).lower() for v in values) if v in flags]
        else:
            filters[name] = [str(v) for v in values]
    return filters


class _Matches:
    """The statements of one search: the total with the facet counts, and a page of ids.

    The text match, the ACL and the filters on facets nobody asked to count
    restrict every statement; filters on counted facets are applied per count,
    since a facet's counts ignore their own filter.
    """

    def __init__(
        self, documents: str, plan: QueryPlan, principals: list[str],
        filters: dict[str, list[Any]], facets: list[str],
    ) -> None:
        self.documents = documents
        self.plan = plan
        self.principals = principals
        self.filters = filters
        self.facets = facets
        self.values: list[Any] = []

    def _param(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"

    def _start(self, *, walk: bool = False) -> tuple[str, dict[str, str]]:
        """A fresh statement: its WHERE clause, and the filters left to apply later."""
        self.values = []
        query = self._param(self.plan.tsquery, "tsquery")
        # ts_match_vq() is @@ as a function, which no index can answer: the
        # planner then walks the created_at index and stops once it has enough.
        match = f"ts_match_vq(tsv, {query})" if walk else f"tsv @@ {query}"
        conditions = [match, f"acl && {self._param(self.principals, 'text[]')}"]
        late = {}
        for name, accepted in self.filters.items():
            clause = _FILTERS[name].format(
                self._param(accepted, "boolean[]" if name == "solved" else "text[]")
            )
            if name in self.facets:
                late[name] = clause
            else:
                conditions.append(clause)
        return " AND ".join(conditions), late

    def stats(self) -> tuple[str, list[Any]]:
        """Rows (part, value, tag_set, n, size), in one pass over the matches: the
        total (part "total"), each requested facet's counts by value, and for tags
        by set of tags (`tag_set`), which `_read_stats` adds up per tag.

        `size` is the number of documents as last analysed (-1 if never).
        """
        where, late = self._start()
        total = f"count(*) FILTER (WHERE {_all(late.values())})"
        size = f"(SELECT reltuples FROM pg_class WHERE oid = '{self.documents}'::regclass)"
        if not self.facets:
            return (f"SELECT 'total' AS part, NULL AS value, NULL AS tag_set, {total} AS n, "
                    f"{size} AS size FROM {self.documents} WHERE {where}"), self.values
        part, value, n = [], [], []
        for name in self.facets:
            shown = "CASE WHEN solved THEN 'true' ELSE 'false' END" if name == "solved" else name
            others = _all(c for f, c in late.items() if f != name)
            part.append(f"WHEN GROUPING({name}) = 0 THEN '{name}'")
            value.append(f"WHEN GROUPING({name}) = 0 THEN {'NULL' if name == 'tags' else shown}")
            n.append(f"WHEN GROUPING({name}) = 0 THEN count(*) FILTER (WHERE {others})")
        tag_set = "CASE WHEN GROUPING(tags) = 0 THEN tags END" if "tags" in self.facets else "NULL"
        sets = ", ".join(["()", *(f"({name})" for name in self.facets)])
        return f"""
            SELECT CASE {" ".join(part)} ELSE 'total' END AS part,
                   CASE {" ".join(value)} END AS value, {tag_set} AS tag_set,
                   CASE {" ".join(n)} ELSE {total} END AS n, {size} AS size
            FROM {self.documents} WHERE {where} GROUP BY GROUPING SETS ({sets})""", self.values

    def page(
        self, sort: str, offset: int, limit: int, total: int, size: float
    ) -> list[tuple[str, list[Any]]]:
        """Statements whose rows (id) are positions offset+1 .. offset+limit, in order.

        Relevance ranks the `RANK_LIMIT` newest matches (exact before typo matches,
        then ts_rank_cd); positions past those continue newest first.
        """
        if sort == "newest" or offset >= RANK_LIMIT:
            return [self._newest(offset, limit, total, size)]
        candidates = self._rows(0, RANK_LIMIT, total, size)
        tier = f"d.tsv @@ {self._param(self.plan.exact, 'tsquery')}" if self.plan.exact else "true"
        ranked = f"""
            WITH candidates AS ({candidates}), ranked AS (
                SELECT c.id, row_number() OVER (
                    ORDER BY {tier} DESC, ts_rank_cd('{RANK_WEIGHTS}', d.tsv, $1::tsquery) DESC,
                    c.created_at DESC NULLS LAST, c.id DESC
                ) AS position
                FROM candidates c JOIN {self.documents} d ON d.ctid = c.row_id
            )
            SELECT id FROM ranked WHERE position > {offset} AND position <= {offset + limit}
            ORDER BY position"""
        statements = [(ranked, self.values)]
        if offset + limit > RANK_LIMIT:  # the page runs past the ranked matches
            statements.append(self._newest(RANK_LIMIT, offset + limit - RANK_LIMIT, total, size))
        return statements

    def _newest(self, offset: int, limit: int, total: int, size: float) -> tuple[str, list[Any]]:
        rows = self._rows(offset, limit, total, size)
        return f"SELECT id FROM ({rows}) p ORDER BY {_ORDER}", self.values

    def _rows(self, offset: int, limit: int, total: int, size: float) -> str:
        """A select of (row_id, id, created_at) for the newest matches offset+1 .. offset+limit.

        Walking the created_at index meets a match every size/total documents,
        each costing about `WALK_COST` times a match found through the GIN index:
        the cheaper way is chosen here, where the number of matches is known.
        """
        walk = size > 0 and (offset + limit) * size * WALK_COST < total * total
        where, late = self._start(walk=walk)
        where = " AND ".join([where, *late.values()])
        if walk:
            source = f"{self.documents} WHERE {where}"
        else:  # OFFSET 0: find the matches first, then sort them
            source = f"(SELECT ctid, id, created_at FROM {self.documents} WHERE {where} OFFSET 0) m"
        return (f"SELECT ctid AS row_id, id, created_at FROM {source} "
                f"ORDER BY {_ORDER} OFFSET {offset} LIMIT {limit}")


def _all(clauses: Iterable[str]) -> str:
    return " AND ".join(clauses) or "true"


def _read_stats(rows: list[dict[str, Any]]) -> tuple[int, dict[str, dict[str, int]], float]:
    """The total, each facet's counts (most frequent first) and the analysed size."""
    total, size = 0, -1.0
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        size = row["size"]
        if row["part"] == "total":
            total = row["n"]
        elif row["part"] == "tags":
            counts.setdefault("tags", Counter()).update(
                {tag: row["n"] for tag in set(row["tag_set"] or ()) if tag}
            )
        elif row["value"]:
            counts.setdefault(row["part"], Counter())[row["value"]] += row["n"]
    return total, {
        name: dict(sorted(
            ((value, n) for value, n in found.items() if n), key=lambda kv: (-kv[1], kv[0])
        )[:MAX_FACET_VALUES])
        for name, found in counts.items()
    }, size


def _hit(row: dict[str, Any], matches: Matches) -> SearchHit:
    return SearchHit(
        id=row["id"], kind=row["kind"], url=row["url"],
        title=highlight(row["title"], matches), snippet=snippet(row["body"], matches),
        topic=row["topic"], author=row["author"], solved=row["solved"],
        created_at=row["created_at"],
    )
