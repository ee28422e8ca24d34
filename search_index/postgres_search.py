"""The statements of a PostgreSQL full-text search: one for the page, its total and its facets.

A search is at most two round trips as a rule, outside any transaction: a
look-up in the vocabulary (typo alternatives and word counts, usually remembered
from an earlier search: `postgres_vocabulary`), then one statement that finds the newest
`COUNT_LIMIT` + 1 matches and derives everything from them (DESIGN §8: costs
stay bounded for words found nearly everywhere):

- the total: exact up to `COUNT_LIMIT` matches. Beyond, exact when every match
  had to be read anyway (the GIN index, below); otherwise estimated from how
  densely the newest matches fill the index (`total_is_exact` False), as the
  SQLite engine does and as Meilisearch's maxTotalHits;
- facet counts: over the newest `COUNT_LIMIT` matches, scaled to the total;
- relevance: ts_rank over the newest `RANK_LIMIT` matches (`WALK_LIMIT` when
  they are too many to count), exact matches before matches that need a typo;
  positions past them continue newest first. A walk ranks each match as it meets
  it, its tsvector in hand; after the GIN index, the ranked matches are read again;
- the page: its documents are read in the same statement.

The newest matches are found one of two ways, chosen by the vocabulary's
estimate of how densely the query's matches fill the index:

- a walk down the created_at index, testing each document's tsvector (kept in
  the row, `postgres_fts`) until `WALK_LIMIT` + 1 matched: about
  WALK_LIMIT / density documents, however many match. Such queries' totals are
  estimates, and their facets and ranking use the newest `WALK_LIMIT` matches;
- the GIN index: every match read (and so counted exactly), the newest
  `COUNT_LIMIT` + 1 kept: about one step per match.

A walk is bounded: it gives up after `WALK_MARGIN` times the documents the
estimate said it would need, and the search runs again, each set of matches
whose walk fell short read through the GIN index: one more statement, so that
the usual one holds the walks alone (PostgreSQL plans each search's statement
afresh, and pays for every part it holds). A wrong estimate costs time, never
a result.

A filter on a facet whose counts are asked for applies to every count but that
facet's own (the contract's convention): such a facet counts its own set of
newest matches, found the same way, in the same statement.

Pages past the newest `COUNT_LIMIT` matches (rare) take one more statement, as
does a walk that meets too few matches; a search that finds nothing takes a few
more for "did you mean".

The application may have a query of its own answered in the statement, about
the page found (`Alongside`): whether its hits are still there, say.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index.backend import FACETS, Alongside, SearchHit, SearchPage, SearchQuery
from search_index.highlight import Matches, highlight, snippet
from search_index.postgres_tsvector import MIN_PREFIX_LENGTH, QueryPlan, build_plan
from search_index.postgres_vocabulary import Vocabulary
from search_index.query_syntax import ParsedQuery, parse_query

COUNT_LIMIT = 500  # matches found through the GIN index: counted exactly, faceted, ranked
RANK_LIMIT = 500  # of those, how many relevance orders (at most COUNT_LIMIT)
# Matches too many to count: a walk reads the newest this many, which give the
# estimate, the facet counts and the ranked sample (walking costs per document:
# fewer than for a count; as the SQLite engine's COMMON_RANK_LIMIT).
WALK_LIMIT = 100
# A document walked in the created_at index costs about this many matches read
# through the GIN index, for the choice (on the standard dataset: about 1 us per
# document walked, 4 us per match read, counted and sorted).
WALK_COST = 0.25
WALK_MARGIN = 3  # a walk reads at most this many times the documents the estimate needs
MAX_FACET_VALUES = 100
MAX_PER_PAGE = 100
MAX_OFFSET = 10**9
# ts_rank weights in PostgreSQL's order {D, C, B, A}: body C, tags B, title A.
# (ts_rank_cd, which also weighs how close the words are, clears a 32 kB buffer
# per query term for every document it ranks: an eighth of a common search's time.)
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
_ORDER = "created_at DESC NULLS LAST, id DESC"
_CANDIDATE = "row_id, id, created_at, kind, topic, tags, stage, sector, solved"
_UNRANKED = "NULL::real AS rank, NULL::boolean AS exact"
_HIT = ("id", "kind", "url", "title", "body", "topic", "author", "solved", "created_at")
# The statement's rows: hits, facet counts and the statistics of each set of matches.
_OUTPUT = {
    "part": "text", "name": "text", "n": "bigint", "id": "text", "kind": "text", "url": "text",
    "title": "text", "body": "text", "topic": "text", "author": "text", "solved": "boolean",
    "created_at": "timestamptz", "value": "text", "tag_set": "text[]", "seen": "bigint",
    "matched": "bigint",
}
_FILTERS = {
    "kind": "kind = ANY({})", "topic": "topic = ANY({})", "tags": "tags && {}",
    "stage": "stage = ANY({})", "sector": "sector = ANY({})", "solved": "solved = ANY({})",
}
_MAIN = "matches"
Row = Mapping[str, Any]  # a statement's row: an asyncpg record, read by column name
# What a placeholder stands for (`_Matches._param`): ("query",), ("exact",), ("acl",),
# ("filter", facet) or ("alongside", index).
ParamKey = tuple[str, ...]
# A search statement's text depends on the search's shape alone (how its matches
# are found, its facets and filtered facets, sort and page, whether the query has
# typo alternatives, the query asked alongside); words, principals and filter
# values travel as parameters. A few dozen shapes serve nearly every search, and
# building a text costs about 80 us of Python: texts are kept by shape, with
# what each placeholder stands for (`_Matches.statement`).
MAX_KEPT_TEXTS = 512
_TEXTS: dict[tuple[Any, ...], tuple[str, tuple[ParamKey, ...]]] = {}


class PostgresSearch:
    """Searches of the documents in `documents_table`, with typos from `vocabulary`."""

    def __init__(
        self, client: BaseDBAsyncClient, documents_table: str, vocabulary: Vocabulary
    ) -> None:
        self._client = client
        self.documents_table = documents_table
        self._vocabulary = vocabulary

    async def search(self, query: SearchQuery, alongside: Alongside | None = None) -> SearchPage:
        """Run `query`, and `alongside` in its statement (see the module docstring for
        the bounds on very common words)."""
        search = checked(query)
        if search.parsed.is_empty or not search.principals:
            return SearchPage(hits=[], total=0, page=search.page, per_page=search.per_page)
        return await self._run(search, alongside)

    async def _run(self, search: _Search, alongside: Alongside | None) -> SearchPage:
        db = self._client
        found = await self.prepare(db, search)
        offset = min((search.page - 1) * search.per_page, MAX_OFFSET)
        statement = found.statement(search.sort, offset, search.per_page, alongside)
        result = found.read(await _rows(db, statement))
        if result.walked_too_few:  # the estimate was wrong: every match, then
            found.read_every_match(result.walked_too_few)
            statement = found.statement(search.sort, offset, search.per_page, alongside)
            result = found.read(await _rows(db, statement))
        rows = result.hits
        answered = result.alongside
        end = offset + search.per_page
        if end > result.served and result.total > result.served and offset < result.total:
            start = max(offset, result.served)  # the statement's are the newest `served`
            rows += await _rows(db, found.older(start, end - start, result.total))
            answered = None  # it was about the statement's hits only
        did_you_mean = None
        if result.total == 0:
            did_you_mean = await self._did_you_mean(db, search)
            # Its look-ups come after the statement, and the application's query
            # must be the last (it confirms what the application assumed): asked again.
            answered = None
        return SearchPage(
            hits=[_hit(row, found.plan.matches) for row in rows],
            total=result.total, total_is_exact=result.exact,
            facets={name: result.facets.get(name, {}) for name in search.facets},
            did_you_mean=did_you_mean, page=search.page, per_page=search.per_page,
            alongside=answered,
        )

    async def prepare(self, db: BaseDBAsyncClient, search: _Search) -> _Matches:
        """The statements of `search`, its words looked up in the vocabulary."""
        prefix = _prefix(search.parsed)
        lookup = await self._vocabulary.lookup(db, search.parsed, prefix)
        plan = build_plan(search.parsed, lookup.alternatives)
        if prefix in lookup.completions:
            # Highlighting marks the words the prefix starts instead of testing
            # every word of every hit (the tsquery still matches the prefix).
            marks = plan.matches
            plan = replace(plan, matches=Matches(
                marks.words | set(lookup.completions[prefix]),
                tuple(p for p in marks.prefixes if p != prefix), marks.phrases,
            ))
        return _Matches(
            self.documents_table, plan, search.principals, search.filters, search.facets,
            size=lookup.size, density=lookup.density(search.parsed, prefix),
        )

    async def _did_you_mean(self, db: BaseDBAsyncClient, search: _Search) -> str | None:
        """A respelling of unknown words that finds something these principals may see."""
        corrections = await self._vocabulary.corrections(db, search.parsed)
        if not corrections:
            return None
        corrected = search.parsed.replace_words(corrections)
        prefix = _prefix(corrected)
        lookup = await self._vocabulary.lookup(db, corrected, prefix)
        found = _Matches(
            self.documents_table, build_plan(corrected, lookup.alternatives),
            search.principals, search.filters, [], size=lookup.size, density=0.0,
        )
        return corrected.text() if await _rows(db, found.exists()) else None


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


@dataclass
class _Result:
    """What the statement found: the page's rows, the total and the facet counts.

    `served` is how many of the newest matches the statement ordered: positions
    past it are read by `_Matches.older`. `walked_too_few` names the sets of matches
    whose walk met fewer than WALK_LIMIT + 1 before its bound: the statement must be
    run again, those sets read through the GIN index (the rest of the result is then
    meaningless).
    """

    hits: list[Row]
    total: int
    exact: bool
    served: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    walked_too_few: list[str] = field(default_factory=list)
    alongside: tuple[tuple[Any, ...], ...] | None = None  # when asked for


def checked(query: SearchQuery) -> _Search:
    """`query` checked (unknown facets and filters are programming errors) and parsed."""
    facets = list(dict.fromkeys(query.facets))
    unknown = [name for name in facets if name not in FACETS]
    if unknown:
        raise ValueError(f"Unknown facets {unknown}: use {FACETS}")
    filters = _filters(query.filters)
    return _Search(
        parse_query(query.text), [p for p in dict.fromkeys(query.principals) if p], filters,
        facets, query.sort, max(1, query.page), min(max(1, query.per_page), MAX_PER_PAGE),
    )


def _prefix(parsed: ParsedQuery) -> str | None:
    """The word being typed, when it is long enough to match as a prefix (`build_plan`)."""
    last = parsed.last_word
    return last if last is not None and len(last) >= MIN_PREFIX_LENGTH else None


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
    """The statements of one search (see the module docstring).

    `size` is the number of documents in the index and `density` the share of
    them the query is expected to match (both estimates, from the vocabulary).
    """

    def __init__(
        self, documents: str, plan: QueryPlan, principals: list[str],
        filters: dict[str, list[Any]], facets: list[str], *, size: int, density: float,
    ) -> None:
        self.documents = documents
        self.plan = plan
        self.principals = principals
        self.filters = filters
        self.facets = facets
        self.size = max(1, size)
        self.density = density
        self.walk = self.walk_rows(WALK_LIMIT + 1)  # 0: through the GIN index
        self._every_match: set[str] = set()  # sets read through the GIN index all the same
        self.values: list[Any] = []
        self._keys: list[ParamKey] = []  # what each of `values` stands for
        self._params: dict[tuple[ParamKey, str], str] = {}
        self._alongside = False  # whether the last statement asked for rows alongside

    def walks(self, name: str) -> bool:
        """Whether set `name` is found by a walk (else through the GIN index)."""
        return bool(self.walk) and name not in self._every_match

    def read_every_match(self, names: list[str]) -> None:
        """Read sets `names` through the GIN index: their walk met too few matches."""
        self._every_match.update(names)

    def served(self, name: str) -> int:
        """How many of set `name`'s newest matches are ordered and counted per facet:
        the COUNT_LIMIT the GIN index kept, or the WALK_LIMIT a walk read."""
        return WALK_LIMIT if self.walks(name) else COUNT_LIMIT

    def relevance_ordered(self) -> int:
        """How many of the newest matches relevance orders."""
        return min(RANK_LIMIT, WALK_LIMIT) if self.walks(_MAIN) else RANK_LIMIT

    # -- parameters and conditions ------------------------------------------------

    def _param(self, value: Any, cast: str, key: ParamKey) -> str:
        """A placeholder for `value`, which `key` names (see `ParamKey`): one
        placeholder however often it is used."""
        if (key, cast) in self._params:
            return self._params[key, cast]
        self.values.append(value)
        self._keys.append(key)
        placeholder = f"${len(self.values)}::{cast}"
        self._params[key, cast] = placeholder
        return placeholder

    def _value(self, key: ParamKey, alongside: Alongside | None) -> Any:
        """The value of this search that placeholder `key` stands for."""
        kind = key[0]
        if kind == "query":
            return self.plan.tsquery
        if kind == "exact":
            return self.plan.exact
        if kind == "acl":
            return self.principals
        if kind == "filter":
            return self.filters[key[1]]
        if kind == "alongside" and alongside is not None:
            return alongside.values[int(key[1])]
        raise KeyError(key)

    def _start(self) -> None:
        self.values = []
        self._keys = []
        self._params = {}
        self._alongside = False

    def _conditions(self, *, walk: bool, without: str | None = None) -> str:
        """The text match, the ACL and every filter but `without`'s.

        ts_match_vq() is @@ as a function, which no index answers: the walk's
        test of the document in hand. `tsv @@` is answered by the GIN index.
        """
        query = self._param(self.plan.tsquery, "tsquery", ("query",))
        match = f"ts_match_vq(tsv, {query})" if walk else f"tsv @@ {query}"
        conditions = [match, f"acl && {self._param(self.principals, 'text[]', ('acl',))}"]
        for name, accepted in self.filters.items():
            if name != without:
                cast = "boolean[]" if name == "solved" else "text[]"
                placeholder = self._param(accepted, cast, ("filter", name))
                conditions.append(_FILTERS[name].format(placeholder))
        return " AND ".join(conditions)

    # -- how to find the newest matches -----------------------------------------------

    def walk_rows(self, wanted: int) -> int:
        """How many documents a walk for the `wanted` newest matches may read (a power
        of two: see `_candidates`), or 0 when reading every match through the GIN
        index should cost less."""
        expected = self.density * self.size
        if self.density <= 0 or wanted * self.size * WALK_COST >= expected * expected:
            return 0
        limit = 1 << (math.ceil(WALK_MARGIN * wanted / self.density) - 1).bit_length()
        return limit if limit < self.size else 0

    def _candidates(self, name: str, without: str | None = None, *, ranked: bool = False) -> str:
        """CTEs naming `name` the newest matches, newest first (n = 1): (row_id, id,
        created_at, the facets, n, matched, rank, exact). `matched`, the number of
        matches, is known when the GIN index found them all (the newest COUNT_LIMIT + 1
        kept); NULL after a walk (the newest WALK_LIMIT + 1, or fewer when the walk
        reached its bound first: `read` then asks for the GIN index). With `ranked`,
        `rank` and `exact` order the matches relevance orders (`_relevance`); NULL
        otherwise."""
        if self.walks(name):
            # The walk's length is written in the statement, not a parameter: a
            # plan PostgreSQL keeps for every word (a generic plan) knows it, and
            # so walks the date index however large the index; powers of two
            # keep the statements few. Matches are ranked as they are met, their
            # tsvectors in hand.
            relevance = self._relevance("tsv") if ranked else _UNRANKED
            return f"""{name} AS MATERIALIZED (
                SELECT {_CANDIDATE}, row_number() OVER (ORDER BY {_ORDER}) AS n,
                       NULL::bigint AS matched, rank, exact
                FROM (
                    SELECT {_CANDIDATE}, {relevance} FROM (
                        SELECT ctid AS row_id, id, created_at, kind, topic, tags, stage,
                               sector, solved, tsv,
                               ({self._conditions(walk=True, without=without)}) AS hit
                        FROM {self.documents} ORDER BY {_ORDER}
                        LIMIT {self.walk}
                    ) walk WHERE hit ORDER BY {_ORDER} LIMIT {WALK_LIMIT + 1}
                ) walked
            )"""
        found = f"""
                SELECT {_CANDIDATE}, row_number() OVER (ORDER BY {_ORDER}) AS n, matched
                FROM (
                    SELECT *, count(*) OVER () AS matched FROM (
                        SELECT ctid AS row_id, id, created_at, kind, topic, tags, stage,
                               sector, solved
                        FROM {self.documents} WHERE {self._conditions(walk=False, without=without)}
                        OFFSET 0
                    ) found ORDER BY {_ORDER} LIMIT {COUNT_LIMIT + 1}
                ) newest"""
        if not ranked:
            return f"{name} AS MATERIALIZED (SELECT newest.*, {_UNRANKED} FROM ({found}) newest)"
        # Read again, by position, are only the tsvectors of the matches ranked.
        return f"""{name} AS MATERIALIZED (
            SELECT newest.*, relevance.* FROM ({found}) newest
            LEFT JOIN LATERAL (
                SELECT {self._relevance("d.tsv")} FROM {self.documents} d
                WHERE d.ctid = newest.row_id AND newest.n <= {RANK_LIMIT}
            ) relevance ON true
        )"""

    def _relevance(self, tsv: str) -> str:
        """Columns `rank` and `exact` of the document whose tsvector is `tsv`: relevance
        orders exact matches (Meilisearch's "typo" rule: without typo alternatives)
        first, then by ts_rank."""
        query = self._param(self.plan.tsquery, "tsquery", ("query",))
        exact = "true"
        if self.plan.exact:
            exact = f"{tsv} @@ {self._param(self.plan.exact, 'tsquery', ('exact',))}"
        return f"ts_rank('{RANK_WEIGHTS}', {tsv}, {query}) AS rank, {exact} AS exact"

    # -- the statement ----------------------------------------------------------------

    def statement(
        self, sort: str, offset: int, limit: int, alongside: Alongside | None = None
    ) -> tuple[str, list[Any]]:
        """The search's statement: the hits at positions offset+1 .. offset+limit (as far
        as the newest COUNT_LIMIT matches go), the facet counts, the statistics, and
        the rows of `alongside` about those hits."""
        shape = (
            self.documents, self.walk, frozenset(self._every_match), tuple(self.facets),
            tuple(self.filters), sort, offset, limit, bool(self.plan.exact),
            None if alongside is None else (alongside.sql, len(alongside.values)),
            COUNT_LIMIT, RANK_LIMIT, WALK_LIMIT,  # written in the text too
        )
        kept = _TEXTS.get(shape)
        if kept is None:
            text = self._statement(sort, offset, limit, alongside)
            if len(_TEXTS) >= MAX_KEPT_TEXTS:
                _TEXTS.clear()  # shapes are few: only unusual filter orders get here
            kept = _TEXTS[shape] = (text, tuple(self._keys))
        text, keys = kept
        self._alongside = alongside is not None  # for `read`
        return text, [self._value(key, alongside) for key in keys]

    def _statement(
        self, sort: str, offset: int, limit: int, alongside: Alongside | None
    ) -> str:
        """The text of `statement`, its parameters in `values`, what they stand for in
        `_keys`."""
        self._start()
        own = [name for name in self.facets if name in self.filters]
        first, last = offset + 1, min(offset + limit, COUNT_LIMIT)
        ranked = sort != "newest" and first <= min(last, RANK_LIMIT)
        ctes = [self._candidates(_MAIN, ranked=ranked)]
        ctes += [self._candidates(f"own_{name}", without=name) for name in own]
        parts = [self._stats(_MAIN), *(self._stats(f"own_{name}") for name in own)]
        shared = [name for name in self.facets if name not in own]
        if shared:
            parts.append(self._facet_counts(_MAIN, shared))
        parts += [self._facet_counts(f"own_{name}", [name]) for name in own]
        ids = "'{}'::text[]"
        if first <= last:
            ctes.append(self._ordered(ranked, first, last))
            parts.append(_select(
                "ordered o JOIN {docs} d ON d.ctid = o.row_id".format(docs=self.documents),
                part="'hit'", n="o.position", **{c: f"d.{c}" for c in _HIT},
                where=f"o.position BETWEEN {first} AND {last}",
            ))
            ids = (f"(SELECT coalesce(array_agg(id), {ids}) FROM ordered "
                   f"WHERE position BETWEEN {first} AND {last})")
        if alongside is not None:
            parts.append(self._alongside_rows(alongside, ids))
        return "WITH " + ",\n".join(ctes) + "\n" + "\nUNION ALL\n".join(parts)

    def _alongside_rows(self, alongside: Alongside, ids: str) -> str:
        """The rows of `alongside` (see `Alongside`), its `{ids}` the page's document
        ids, its parameters numbered after the statement's own."""
        before = len(self.values)
        self.values.extend(alongside.values)
        self._keys.extend(("alongside", str(index)) for index in range(len(alongside.values)))
        sql = re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + before}", alongside.sql)
        return _select(
            f"({sql.replace('{ids}', ids)}) AS alongside(a, b, c, d, e)",
            part="'alongside'", n="a", seen="b", matched="c", title="d", value="e",
        )

    def _ordered(self, ranked: bool, first: int, last: int) -> str:
        """CTE `ordered` (row_id, id, position) covering positions first .. last, as far as
        the newest matches read go (`served`): by relevance when `ranked` (as far as
        relevance orders them, then newest first), else newest first."""
        newest = (f"SELECT row_id, id, n AS position FROM {_MAIN} WHERE n > {{}} "
                  f"AND n <= {self.served(_MAIN)} AND n BETWEEN {first} AND {last}")
        if not ranked:
            return f"ordered AS ({newest.format(0)})"
        relevance = "exact DESC, rank DESC" if self.plan.exact else "rank DESC"
        ranking = f"""
            SELECT row_id, id, position FROM (
                SELECT row_id, id, row_number() OVER (ORDER BY {relevance}, n) AS position
                FROM {_MAIN} WHERE n <= {self.relevance_ordered()}
            ) ranked WHERE position BETWEEN {first} AND {last}"""
        if last <= self.relevance_ordered():
            return f"ordered AS ({ranking})"
        return f"ordered AS ({ranking} UNION ALL {newest.format(self.relevance_ordered())})"

    def _stats(self, name: str) -> str:
        """The number of matches read, every match's count after the GIN index, and
        after a walk, how many documents it read up to its last match: its position
        in the date index, counted in the index alone (a row comparison in the
        index's order; the walk's own bound keeps the planner in that index).
        Undated documents come last: NULL, when the walk reached them."""
        seen = "NULL"
        if self.walks(name):
            seen = f"""CASE WHEN count(*) > {WALK_LIMIT} THEN (
                SELECT (
                    SELECT count(*) FROM (
                        SELECT FROM {self.documents} d
                        WHERE (d.created_at, d.id) >= (last.created_at, last.id)
                        ORDER BY {_ORDER} LIMIT {self.walk}
                    ) walked
                ) FROM {name} last WHERE last.n = {WALK_LIMIT + 1}
            ) END"""
        return _select(
            name, part="'stats'", name=f"'{name}'", n="count(*)", seen=seen,
            matched="max(matched)",
        )

    def _facet_counts(self, name: str, facets: list[str]) -> str:
        """Rows (name, value or tag_set, n): counts over the newest matches read of set
        `name` (`served`), per value (tags: per set of tags, added up by `read`)."""
        if len(facets) == 1:
            facet = facets[0]
            return _select(
                name, part="'facet'", name=f"'{facet}'", n="count(*)",
                value="NULL" if facet == "tags" else _shown(facet),
                tag_set="tags" if facet == "tags" else "NULL",
                where=f"n <= {self.served(name)}", group=f"GROUP BY {facet}",
            )
        which = " ".join(f"WHEN GROUPING({f}) = 0 THEN '{f}'" for f in facets)
        value = " ".join(
            f"WHEN GROUPING({f}) = 0 THEN {_shown(f)}" for f in facets if f != "tags"
        )
        return _select(
            name, part="'facet'", name=f"CASE {which} END", n="count(*)",
            value=f"CASE {value} END" if value else "NULL",
            tag_set="CASE WHEN GROUPING(tags) = 0 THEN tags END" if "tags" in facets else "NULL",
            where=f"n <= {self.served(name)}",
            group=f"GROUP BY GROUPING SETS ({', '.join(f'({f})' for f in facets)})",
        )

    def read(self, rows: list[Row]) -> _Result:
        """The statement's rows as hits in order, the total and the facet counts."""
        short = [
            row["name"] for row in rows
            if row["part"] == "stats" and self.walks(row["name"]) and row["n"] <= WALK_LIMIT
        ]
        if short:
            return _Result([], 0, False, 0, walked_too_few=short)
        alongside = None
        if self._alongside:
            alongside = tuple(
                (row["n"], row["seen"], row["matched"], row["title"], row["value"])
                for row in rows if row["part"] == "alongside"
            )
        hits = sorted((row for row in rows if row["part"] == "hit"), key=lambda r: r["n"])
        totals = {
            row["name"]: self._total(row["n"], row["seen"], row["matched"])
            for row in rows if row["part"] == "stats"
        }
        total, exact, served = totals[_MAIN]
        counts: dict[str, Counter[str]] = {}
        own = {name for name in self.facets if name in self.filters}
        for row in rows:
            if row["part"] != "facet":
                continue
            name = row["name"]
            found = counts.get(name)
            if found is None:  # not setdefault: a Counter built for every row costs
                found = counts[name] = Counter()
            if name == "tags":
                found.update({tag: row["n"] for tag in set(row["tag_set"] or ()) if tag})
            elif row["value"]:
                found[row["value"]] += row["n"]
        facets = {}
        for name, found in counts.items():
            of, _, sample = totals[f"own_{name}" if name in own else _MAIN]
            scale = of / sample if sample else 0.0
            scaled = {value: max(1, round(n * scale)) for value, n in found.items() if n}
            facets[name] = dict(
                sorted(scaled.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FACET_VALUES]
            )
        return _Result(hits, total, exact, served, facets, alongside=alongside)

    def _total(
        self, rows: int, seen: int | None, matched: int | None
    ) -> tuple[int, bool, int]:
        """A set's number of matches, whether it is exact, and how many of the newest
        were read and ordered (see the module docstring)."""
        if matched is not None:  # the GIN index read every match
            return matched, True, min(rows, COUNT_LIMIT)
        if rows <= WALK_LIMIT:
            return rows, True, rows
        # The walk met `rows` matches in its first `seen` documents (about all of
        # them when it reached the undated ones, which come last).
        return max(rows, round(rows * self.size / (seen or self.size))), False, WALK_LIMIT

    # -- other statements -------------------------------------------------------------

    def older(self, offset: int, limit: int, total: int) -> tuple[str, list[Any]]:
        """The hits at positions offset+1 .. offset+limit, newest first (past the
        statement's newest matches); a walk when matches are dense, else the GIN index."""
        self._start()
        walk = total > 0 and (offset + limit) * self.size * WALK_COST < total * total
        conditions = self._conditions(walk=walk)
        columns = ", ".join(_HIT)
        if walk:
            source = f"{self.documents} WHERE {conditions}"
        else:  # OFFSET 0: find the matches first, then sort them
            source = f"(SELECT {columns} FROM {self.documents} WHERE {conditions} OFFSET 0) m"
        return (f"SELECT {columns} FROM {source} ORDER BY {_ORDER} "
                f"OFFSET {offset} LIMIT {limit}"), self.values

    def exists(self) -> tuple[str, list[Any]]:
        """A statement with a row when anything matches."""
        self._start()
        where = self._conditions(walk=False)
        return f"SELECT 1 AS found FROM {self.documents} WHERE {where} LIMIT 1", self.values


async def _rows(db: BaseDBAsyncClient, statement: tuple[str, list[Any]]) -> list[Row]:
    """The rows of a search statement, as the driver gives them: asyncpg's records
    answer ``row["column"]`` as a dict would, without a copy of every row."""
    _, rows = await db.execute_query(*statement)
    return list(rows)


def _shown(facet: str) -> str:
    return "CASE WHEN solved THEN 'true' ELSE 'false' END" if facet == "solved" else facet


def _select(
    source: str, *, where: str = "", group: str = "", **columns: str
) -> str:
    """A SELECT of the statement's output columns (`_OUTPUT`), NULL where not given."""
    listed = ", ".join(f"{columns.get(c, 'NULL')}::{cast} AS {c}" for c, cast in _OUTPUT.items())
    return f"SELECT {listed} FROM {source} {'WHERE ' + where if where else ''} {group}"


def _hit(row: Row, matches: Matches) -> SearchHit:
    return SearchHit(
        id=row["id"], kind=row["kind"], url=row["url"],
        title=highlight(row["title"], matches), snippet=snippet(row["body"], matches),
        topic=row["topic"], author=row["author"], solved=row["solved"],
        created_at=row["created_at"],
    )
