"""`SearchBackend` on PostgreSQL full-text search: a weighted tsvector, a GIN index, pg_trgm.

Tables (``{prefix}documents`` and ``{prefix}words``, created by `ensure_index`):

- ``documents``: one row per SearchDoc, with `tsv`, the title (weight A), tags (B)
  and body (C) as a tsvector built in Python from `tokens` (so that case,
  diacritics and punctuation behave as in every other backend, whatever the
  database's locale, with no extension but pg_trgm). `tsv` and `body` are kept
  out of line (TOAST), so that the rows a search visits stay small; `tsv` has no
  planner statistics, so that PostgreSQL always answers a text match with the
  GIN index rather than by reading every document's tsvector.
- ``words``: the vocabulary with document counts, kept in step by every write in
  the same statement; a trigram (GiST) index finds the neighbours of a misspelt
  word for typo tolerance and "did you mean".

Queries use the shared syntax (`query_syntax`: words, "phrases", -exclusions,
the semantics of ``websearch_to_tsquery``) and become a tsquery made of quoted
lexemes only, sent as one parameter: nothing typed can break it. Each plain word
also matches the vocabulary words within its typo budget and, as a group, the
glossary's other wordings; the last word being typed matches as a prefix.

Costs stay bounded for words found nearly everywhere (DESIGN §8): the total and
the facet counts are exact (one pass over the matches' small columns), but
ts_rank_cd ranks only the `RANK_LIMIT` newest matches; later pages continue
newest first, as in the SQLite backend.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index import synonyms, typos
from search_index.backend import (
    FACETS,
    DocumentRejected,
    SearchDoc,
    SearchError,
    SearchHit,
    SearchPage,
    SearchQuery,
)
from search_index.highlight import Matches, highlight, snippet
from search_index.query_syntax import ParsedQuery, parse_query
from search_index.tokens import tokenize

RANK_LIMIT = 1000
# Walking the created_at index costs about this many times more per document
# than a match found through the GIN index, for the choice of plan.
WALK_COST = 4
MAX_FACET_VALUES = 100
MAX_PER_PAGE = 100
MAX_OFFSET = 10**9
MIN_PREFIX_LENGTH = 2  # a one-letter prefix would merge a large part of the index
# ts_rank_cd weights in PostgreSQL's order {D, C, B, A}: body C, tags B, title A.
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
TYPO_ALTERNATIVES = 8  # per query word: the nearest, then the most frequent
NEIGHBOURS = 64  # trigram neighbours looked at per misspelt word
MAX_LEXEME = 100  # longer "words" (pasted blobs) are not indexed
MAX_POSITION = 16383  # tsvector positions stop here
WRITE_BATCH = 500
_PREFIX = re.compile(r"[a-z][a-z0-9_]*")
# Ids every backend accepts (Meilisearch's rule), so that a document is
# rejected the same way whichever engine is configured.
_DOC_ID = re.compile(r"[A-Za-z0-9_-]{1,511}")
_ORDER = "created_at DESC NULLS LAST, id DESC"
_COLUMNS = (
    "id", "kind", "url", "topic", "stage", "sector", "solved", "author", "acl", "tags",
    "created_at", "updated_at", "version", "title", "body",
)
_RECORD = (
    "id text, kind text, url text, topic text, stage text, sector text, solved boolean, "
    "author text, acl text[], tags text[], created_at timestamptz, updated_at timestamptz, "
    "version bigint, title text, body text, tsv text"
)
_FILTERS = {
    "kind": "kind = ANY({})", "topic": "topic = ANY({})", "tags": "tags && {}",
    "stage": "stage = ANY({})", "sector": "sector = ANY({})", "solved": "solved = ANY({})",
}


class PostgresFTSBackend:
    """Full-text search in the PostgreSQL database `client` (a Tortoise asyncpg client) reaches.

    `table_prefix` names the tables (``{prefix}documents``, ``{prefix}words``), so
    that tests or several indexes can share one database.
    """

    def __init__(self, client: BaseDBAsyncClient, *, table_prefix: str = "search_") -> None:
        if not _PREFIX.fullmatch(table_prefix):
            raise ValueError(f"Invalid table prefix {table_prefix!r}: use [a-z0-9_]")
        self._client = client
        self.documents_table = f"{table_prefix}documents"
        self.words_table = f"{table_prefix}words"

    # -- schema ---------------------------------------------------------------

    async def ensure_index(self) -> None:
        """Create pg_trgm if missing, then the tables and indexes; safe at every start."""
        await self._ensure_pg_trgm()
        docs, words = self.documents_table, self.words_table
        # One script runs as one transaction; the advisory lock keeps processes
        # starting together from racing on CREATE ... IF NOT EXISTS.
        await self._client.execute_script(f"""
            SELECT pg_advisory_xact_lock(hashtext('search_index.postgres_fts'));
            DO $$ BEGIN
            IF to_regclass('{docs}') IS NULL THEN
                CREATE TABLE {docs} (
                    id text PRIMARY KEY, kind text NOT NULL, url text NOT NULL,
                    topic text NOT NULL, stage text NOT NULL, sector text NOT NULL,
                    solved boolean NOT NULL, author text NOT NULL,
                    acl text[] NOT NULL, tags text[] NOT NULL,
                    created_at timestamptz, updated_at timestamptz, version bigint NOT NULL,
                    title text NOT NULL, body text NOT NULL, tsv tsvector NOT NULL
                ) WITH (toast_tuple_target = 512);
                ALTER TABLE {docs} ALTER COLUMN tsv SET STORAGE EXTERNAL,
                    ALTER COLUMN body SET STORAGE EXTERNAL,
                    ALTER COLUMN tsv SET STATISTICS 0;
            END IF;
            END $$;
            CREATE INDEX IF NOT EXISTS {docs}_tsv ON {docs} USING gin (tsv);
            CREATE INDEX IF NOT EXISTS {docs}_created ON {docs} (created_at DESC NULLS LAST, id DESC);
            CREATE TABLE IF NOT EXISTS {words} (word text PRIMARY KEY, documents integer NOT NULL);
            CREATE INDEX IF NOT EXISTS {words}_trgm ON {words} USING gist (word gist_trgm_ops);
        """)

    async def _ensure_pg_trgm(self) -> None:
        if await self._has_pg_trgm():
            return
        try:
            await self._client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as err:
            if not await self._has_pg_trgm():  # another process may just have made it
                raise SearchError(
                    "PostgreSQL search needs the pg_trgm extension: a superuser can "
                    f"run CREATE EXTENSION pg_trgm ({err})"
                ) from err

    async def _has_pg_trgm(self) -> bool:
        return bool(await self._client.execute_query_dict(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
        ))

    async def reset(self) -> None:
        """Remove every document and word; the tables and indexes stay."""
        await self._client.execute_script(f"TRUNCATE {self.documents_table}, {self.words_table}")

    # -- writes ---------------------------------------------------------------

    async def upsert(self, docs: list[SearchDoc]) -> None:
        """Add or replace `docs` by id, `WRITE_BATCH` per statement.

        Every document is checked first: one that cannot be indexed raises
        DocumentRejected and nothing is written.
        """
        latest = {doc.id: doc for doc in docs}  # the last of duplicates wins
        for doc in latest.values():
            validate(doc)
        batch = list(latest.values())
        for start in range(0, len(batch), WRITE_BATCH):
            await self._upsert(batch[start:start + WRITE_BATCH])

    async def _upsert(self, docs: list[SearchDoc]) -> None:
        rows, added = [], Counter[str]()
        for doc in docs:
            vector, words = document_vector(doc)
            added.update(words)
            rows.append(_row(doc, vector))
        columns = ", ".join(_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_COLUMNS[1:], "tsv"))
        # One statement: documents and vocabulary change together or not at all.
        # The replaced documents are locked and read first, for their old words.
        words = sorted(added)
        await self._client.execute_query(
            f"""
            WITH incoming AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS d({_RECORD})),
            replaced AS (
                SELECT d.tsv FROM {self.documents_table} d
                WHERE d.id IN (SELECT id FROM incoming) ORDER BY d.id FOR UPDATE
            ),
            written AS (
                INSERT INTO {self.documents_table} ({columns}, tsv)
                SELECT {columns}, tsv::tsvector FROM incoming
                ON CONFLICT (id) DO UPDATE SET {updates}
            ),
            changes AS (
                SELECT word, -1 AS n FROM replaced, unnest(tsvector_to_array(replaced.tsv)) AS word
                UNION ALL SELECT * FROM unnest($2::text[], $3::int[])
            )
            {self._count_words("changes")}
            """,
            [json.dumps(rows), words, [added[w] for w in words]],
        )
        await self._forget_unused_words()

    async def delete(self, ids: list[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""
        wanted = [i for i in dict.fromkeys(ids) if isinstance(i, str) and _DOC_ID.fullmatch(i)]
        for start in range(0, len(wanted), WRITE_BATCH):
            await self._client.execute_query(
                f"""
                WITH gone AS (
                    DELETE FROM {self.documents_table} WHERE id = ANY($1::text[]) RETURNING tsv
                ),
                changes AS (
                    SELECT word, -1 AS n FROM gone, unnest(tsvector_to_array(gone.tsv)) AS word
                )
                {self._count_words("changes")}
                """,
                [wanted[start:start + WRITE_BATCH]],
            )
        if wanted:
            await self._forget_unused_words()

    def _count_words(self, changes: str) -> str:
        """Add the (word, n) rows of `changes` to the document counts, in word order.

        Always locking words in the same order keeps concurrent writers from deadlocking.
        """
        words = self.words_table
        return f"""
            INSERT INTO {words} (word, documents)
            SELECT word, sum(n) FROM {changes} GROUP BY word HAVING sum(n) <> 0 ORDER BY word
            ON CONFLICT (word) DO UPDATE SET documents = {words}.documents + EXCLUDED.documents"""

    async def _forget_unused_words(self) -> None:
        await self._client.execute_query(
            f"DELETE FROM {self.words_table} WHERE documents <= 0"
        )

    async def ids(self) -> dict[str, int]:
        """Every indexed id with its version."""
        rows = await self._client.execute_query_dict(
            f"SELECT id, version FROM {self.documents_table}"
        )
        return {row["id"]: row["version"] for row in rows}

    # -- search ---------------------------------------------------------------

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
        offset = min((page - 1) * per_page, MAX_OFFSET)
        async with self._client._in_transaction() as db:
            # Plans made for the words actually searched: a plan cached for any
            # words (asyncpg prepares every statement) cannot tell a word found
            # everywhere from a rare one, and picks badly for one or the other.
            await db.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
            plan = build_plan(parsed, await self._typo_alternatives(db, parsed.words))
            found = _Matches(self.documents_table, plan, principals, filters, facets)
            total, counts, size = _read_stats(await db.execute_query_dict(*found.stats()))
            ids: list[str] = []
            if offset < total:
                for sql, values in found.page(query.sort, offset, per_page, total, size):
                    ids += [row["id"] for row in await db.execute_query_dict(sql, values)]
            rows = await self._documents(db, ids)
            did_you_mean = None
            if total == 0:
                did_you_mean = await self._did_you_mean(db, parsed, principals, filters)
        return SearchPage(
            hits=[_hit(row, plan.matches) for row in rows],
            total=total, facets={name: counts.get(name, {}) for name in facets},
            did_you_mean=did_you_mean, page=page, per_page=per_page,
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

    async def _typo_alternatives(
        self, db: BaseDBAsyncClient, words: Iterable[str]
    ) -> dict[str, tuple[str, ...]]:
        """For each word allowed typos, the indexed words within its typo budget."""
        budgets = {w: typos.allowed_typos(w) for w in set(words) if not w.isdigit()}
        budgets = {w: b for w, b in budgets.items() if b}
        if not budgets:
            return {}
        candidates = await self._neighbours(db, budgets)
        found = {
            word: tuple(w for w, _ in typos.closest(word, candidates[word], budget, TYPO_ALTERNATIVES))
            for word, budget in budgets.items()
        }
        return {word: alternatives for word, alternatives in found.items() if alternatives}

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
                SELECT v.word, v.documents FROM {self.words_table} v
                WHERE left(v.word, 1) = left(q.word, 1) AND v.documents > 0
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

    async def _did_you_mean(
        self, db: BaseDBAsyncClient, parsed: ParsedQuery, principals: list[str],
        filters: dict[str, list[Any]],
    ) -> str | None:
        """A respelling of unknown words that finds something these principals may see."""
        budgets = {
            w: typos.suggestion_budget(w) for w in set(parsed.words)
            if typos.suggestion_budget(w) and not w.isdigit()
        }
        prefix = parsed.last_word
        if prefix in budgets and await self._has_prefix(db, prefix):
            del budgets[prefix]
        if not budgets:
            return None
        candidates = await self._neighbours(db, budgets)
        corrections = {}
        for word, budget in budgets.items():
            if any(term == word for term, _ in candidates[word]):
                continue  # a known word: only the combination finds nothing
            best = typos.closest(word, candidates[word], budget, count=1)
            if best:
                corrections[word] = best[0][0]
        if not corrections:
            return None
        corrected = parsed.replace_words(corrections)
        plan = build_plan(corrected, await self._typo_alternatives(db, corrected.words))
        found = _Matches(self.documents_table, plan, principals, filters, [])
        total, _, _ = _read_stats(await db.execute_query_dict(*found.stats()))
        return corrected.text() if total else None

    async def _has_prefix(self, db: BaseDBAsyncClient, prefix: str) -> bool:
        return bool(await db.execute_query_dict(
            f"SELECT 1 FROM {self.words_table} WHERE word >= $1 AND word < $1 || chr(1114111) "
            "AND documents > 0 LIMIT 1",
            [prefix],
        ))


# -- documents --------------------------------------------------------------------


def validate(doc: SearchDoc) -> None:
    """Raise DocumentRejected unless every backend can index `doc`."""
    if not isinstance(doc.id, str) or not _DOC_ID.fullmatch(doc.id):
        raise DocumentRejected(
            str(doc.id), "the id must be 1 to 511 letters, digits, hyphens or underscores"
        )
    for name in ("kind", "title", "body", "url"):
        if not isinstance(getattr(doc, name), str):
            raise DocumentRejected(doc.id, f"{name} must be text")
    if not doc.kind:
        raise DocumentRejected(doc.id, "the kind is missing")
    if not isinstance(doc.version, int) or not -(2**63) <= doc.version < 2**63:
        raise DocumentRejected(doc.id, "the version must be a 64-bit integer")


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
        words = tokenize(_text(text))
        concepts = dict(_concepts(words))
        for index, word in enumerate(words):
            position += 1
            at = f"{min(position, MAX_POSITION)}{weight}"
            if len(word) <= MAX_LEXEME:
                positions.setdefault(word, []).append(at)
            if index in concepts:
                positions.setdefault(concepts[index], []).append(at)
        position += 1
    literal = " ".join(f"{_lexeme(word)}:{','.join(at)}" for word, at in positions.items())
    return literal, set(positions)


def concept(wording: str) -> str:
    """The lexeme standing for every wording of `wording`'s glossary group.

    It contains "=", which no word can (`tokens`), so it never meets a typed word.
    """
    return "=" + min(synonyms.expand(wording)).replace(" ", "_")


@cache
def _glossary_starts() -> frozenset[str]:
    return frozenset(wording.split()[0] for group in synonyms.groups() for wording in group)


def _concepts(words: list[str]) -> Iterator[tuple[int, str]]:
    """(index, concept lexeme) for each glossary wording that starts at `words[index]`."""
    starts, width = _glossary_starts(), synonyms.longest_term()
    for index, word in enumerate(words):
        if word in starts:
            found = synonyms.find_terms(words[index:index + width])
            if found and found[0][0] == 0:
                yield index, concept(" ".join(words[index:index + found[0][1]]))


def _row(doc: SearchDoc, vector: str) -> dict[str, Any]:
    return {
        "id": doc.id, "kind": _text(doc.kind), "url": _text(doc.url),
        "topic": _text(doc.topic), "stage": _text(doc.stage), "sector": _text(doc.sector),
        "solved": bool(doc.solved), "author": _text(doc.author),
        "acl": [_text(p) for p in doc.acl], "tags": [_text(t) for t in doc.tags],
        "created_at": _timestamp(doc.created_at), "updated_at": _timestamp(doc.updated_at),
        "version": doc.version, "title": _text(doc.title), "body": _text(doc.body), "tsv": vector,
    }


def _text(value: Any) -> str:
    return str(value or "").replace("\x00", "")  # PostgreSQL text cannot hold NUL


def _timestamp(moment: datetime | None) -> str | None:
    """ISO 8601; naive datetimes are taken as UTC."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


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
    """The statements of one search: counts, a facet sample and a page of ids.

    The text match, the ACL and the filters on facets nobody asked to count
    restrict every statement; filters on counted facets are applied per count,
    since a facet's counts ignore its own filter.
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
        # ts_match_vq() is @@ written so that no index can answer it: the planner
        # then walks the created_at index and stops after a page.
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
        """Rows (part, value, n, size): the total (part "total"), and the count of
        each requested facet's values, in one pass over the matches.

        `size` is the number of documents as last analysed (-1 if never).
        """
        where, late = self._start()
        tags = "tags" in self.facets
        # With tags unnested a document makes one row per tag: count it once.
        once = "(t.position IS NULL OR t.position = 1) AND " if tags else ""
        part, value, n = [], [], []
        for name in self.facets:
            others = _all(c for f, c in late.items() if f != name)
            if name == "tags":
                part.append(f"WHEN GROUPING(t.tag) = 0 THEN 'tags'")
                value.append("WHEN GROUPING(t.tag) = 0 THEN t.tag")
                n.append(f"WHEN GROUPING(t.tag) = 0 THEN count(*) FILTER (WHERE {others})")
                continue
            shown = "CASE WHEN solved THEN 'true' ELSE 'false' END" if name == "solved" else name
            part.append(f"WHEN GROUPING({name}) = 0 THEN '{name}'")
            value.append(f"WHEN GROUPING({name}) = 0 THEN {shown}")
            n.append(f"WHEN GROUPING({name}) = 0 THEN count(*) FILTER (WHERE {once}{others})")
        total = f"count(*) FILTER (WHERE {once}{_all(late.values())})"
        sets = ", ".join(["()", *("(t.tag)" if f == "tags" else f"({f})" for f in self.facets)])
        unnest = (" LEFT JOIN LATERAL unnest(tags) WITH ORDINALITY AS t(tag, position) ON true"
                  if tags else "")
        size = f"(SELECT reltuples FROM pg_class WHERE oid = '{self.documents}'::regclass)"
        if not self.facets:
            return (f"SELECT 'total' AS part, NULL AS value, {total} AS n, {size} AS size "
                    f"FROM {self.documents} WHERE {where}"), self.values
        return f"""
            SELECT CASE {" ".join(part)} ELSE 'total' END AS part,
                   CASE {" ".join(value)} ELSE NULL END AS value,
                   CASE {" ".join(n)} ELSE {total} END AS n,
                   {size} AS size
            FROM {self.documents}{unnest} WHERE {where}
            GROUP BY GROUPING SETS ({sets})""", self.values

    def page(
        self, sort: str, offset: int, limit: int, total: int, size: float
    ) -> list[tuple[str, list[Any]]]:
        """Statements whose rows (id) are positions offset+1 .. offset+limit, in order.

        Relevance ranks the `RANK_LIMIT` newest matches (exact before typo matches,
        then ts_rank_cd); positions past those continue newest first.
        """
        if sort == "newest" or offset >= RANK_LIMIT:
            return [self._newest(offset, limit, total, size)]
        where = self._where(RANK_LIMIT, total, size)
        end = min(offset + limit, RANK_LIMIT)
        tier = f"d.tsv @@ {self._param(self.plan.exact, 'tsquery')}" if self.plan.exact else "true"
        ranked = f"""
            WITH candidates AS (
                SELECT ctid AS row_id, id, created_at FROM {self.documents} WHERE {where}
                ORDER BY {_ORDER} LIMIT {RANK_LIMIT}
            ), ranked AS (
                SELECT c.id, row_number() OVER (
                    ORDER BY {tier} DESC, ts_rank_cd('{RANK_WEIGHTS}', d.tsv, $1::tsquery) DESC,
                    c.created_at DESC NULLS LAST, c.id DESC
                ) AS position
                FROM candidates c JOIN {self.documents} d ON d.ctid = c.row_id
            )
            SELECT id FROM ranked WHERE position > {offset} AND position <= {end}"""
        statements = [(ranked + " ORDER BY position", self.values)]
        if offset + limit > RANK_LIMIT:  # the page runs past the ranked matches
            statements.append(self._newest(RANK_LIMIT, offset + limit - RANK_LIMIT, total, size))
        return statements

    def _newest(self, offset: int, limit: int, total: int, size: float) -> tuple[str, list[Any]]:
        where = self._where(offset + limit, total, size)
        return (f"SELECT id FROM {self.documents} WHERE {where} "
                f"ORDER BY {_ORDER} OFFSET {offset} LIMIT {limit}"), self.values

    def _where(self, needed: int, total: int, size: float) -> str:
        """The WHERE clause for the `needed` newest matches, by the cheaper plan.

        Walking the created_at index meets a match every size/total documents,
        each costing about `WALK_COST` times a match found through the GIN index.
        """
        walk = size > 0 and needed * size * WALK_COST < total * total
        where, late = self._start(walk=walk)
        return " AND ".join([where, *late.values()])


def _all(clauses: Iterable[str]) -> str:
    return " AND ".join(clauses) or "true"


def _read_stats(rows: list[dict[str, Any]]) -> tuple[int, dict[str, dict[str, int]], float]:
    """The total, each facet's counts (most frequent first) and the analysed size."""
    total, size, counts = 0, -1.0, {}
    for row in rows:
        size = row["size"]
        if row["part"] == "total":
            total = row["n"]
        elif row["value"] and row["n"]:
            counts.setdefault(row["part"], {})[row["value"]] = row["n"]
    return total, {
        name: dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FACET_VALUES])
        for name, found in counts.items()
    }, size


def _hit(row: dict[str, Any], matches: Matches) -> SearchHit:
    return SearchHit(
        id=row["id"], kind=row["kind"], url=row["url"],
        title=highlight(row["title"], matches), snippet=snippet(row["body"], matches),
        topic=row["topic"], author=row["author"], solved=row["solved"],
        created_at=row["created_at"],
    )
