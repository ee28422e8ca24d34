"""`SearchBackend` on PostgreSQL full-text search: a weighted tsvector, a GIN index, pg_trgm.

Tables (``{prefix}documents`` and ``{prefix}words``, created by `ensure_index`):

- ``documents``: one row per SearchDoc, with `tsv`: title (weight A), tags (B)
  and body (C), built in Python from `tokens`, so that case, diacritics and
  punctuation behave as in every other backend whatever the database's locale,
  and with one extra lexeme per glossary wording found (`concept`), so that
  synonyms match without checking word positions. `tsv` has no planner
  statistics: PostgreSQL then always answers a text match with its GIN index,
  never by reading every document's tsvector. There is no index on `acl`: every
  searcher has "public", so it never narrows a search, and a cached plan would
  start from it.
- ``words``: the vocabulary with document counts, kept in step by every write in
  the same statement; a trigram (GiST) index finds the neighbours of a misspelt
  word for typo tolerance (Meilisearch's budget) and "did you mean".

Queries use the shared syntax (`query_syntax`: words, "phrases", -exclusions,
the semantics of ``websearch_to_tsquery``) and become a tsquery made of quoted
lexemes only, sent as one parameter: nothing typed can break it. Each plain word
also matches its typo alternatives, glossary wordings their group's concept,
and the last word being typed matches as a prefix.

A search is a few statements in one transaction, planned for their parameters
(asyncpg prepares every statement, and a generic plan cannot tell a word found
everywhere from a rare one) and without sequential scans. Costs stay bounded for words found nearly
everywhere (DESIGN §8): the total and facet counts are exact, from one pass over
the matches' small columns; ts_rank_cd ranks the `RANK_LIMIT` newest matches
(found by walking the created_at index when matches are dense), and later pages
continue newest first, as in the SQLite backend.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import BaseORMException

from search_index import synonyms, typos
from search_index.backend import (
    FACETS,
    BackendUnavailable,
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

RANK_LIMIT = 500
# Walking the created_at index costs about this many times more per document
# than a match found through the GIN index, for the choice of plan.
WALK_COST = 4
MAX_FACET_VALUES = 100
MAX_PER_PAGE = 100
MAX_OFFSET = 10**9
MIN_PREFIX_LENGTH = 2  # a one-letter prefix would merge a large part of the index
# ts_rank_cd weights in PostgreSQL's order {D, C, B, A}: body C, tags B, title A.
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
ALTERNATIVES = 8  # typo alternatives per query word: the nearest, then the most frequent
NEIGHBOURS = 64  # trigram neighbours looked at per misspelt word
MAX_LEXEME = 100  # longer "words" (pasted blobs) are not indexed
MAX_INDEXED_TEXT = 200_000  # characters of a field indexed: a tsvector holds at most 1 MB
MAX_POSITION = 16383  # tsvector positions stop here
WRITE_BATCH = 500
_PREFIX = re.compile(r"[a-z][a-z0-9_]*")
# Ids every backend accepts (Meilisearch's rule), so that a document is
# rejected the same way whichever engine is configured.
_DOC_ID = re.compile(r"[A-Za-z0-9_-]{1,511}")
_ORDER = "created_at DESC NULLS LAST, id DESC"
# For the statements of a search (see the module docstring): plans made for
# these words, not cached ones; and never a sequential scan, which would read
# every document's tsvector (the planner does not count the cost of fetching
# one stored out of line).
PLANNER_SETTINGS = "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL enable_seqscan = off"
_COLUMNS = (
    "id", "kind", "url", "topic", "stage", "sector", "solved", "author", "acl", "tags",
    "created_at", "updated_at", "version", "title", "body",
)
_RECORD = (
    "id text, kind text, url text, topic text, stage text, sector text, solved boolean, "
    "author text, acl text[], tags text[], created_at timestamptz, updated_at timestamptz, "
    "version bigint, title text, body text, tsv text"
)
_UNREACHABLE = (
    ConnectionError, OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError, asyncpg.InterfaceError,
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
        with _as_search_errors():
            await self._ensure_pg_trgm()
            await self._client.execute_script(self._schema())

    def _schema(self) -> str:
        docs, words = self.documents_table, self.words_table
        # One script runs as one transaction; the advisory lock keeps processes
        # starting together from racing on CREATE ... IF NOT EXISTS.
        return f"""
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
                -- Long documents keep their tsvector and body out of the rows
                -- a search reads.
                ALTER TABLE {docs} ALTER COLUMN tsv SET STORAGE EXTERNAL,
                    ALTER COLUMN body SET STORAGE EXTERNAL,
                    ALTER COLUMN tsv SET STATISTICS 0;
            END IF;
            END $$;
            CREATE INDEX IF NOT EXISTS {docs}_tsv ON {docs} USING gin (tsv);
            CREATE INDEX IF NOT EXISTS {docs}_created
                ON {docs} (created_at DESC NULLS LAST, id DESC);
            -- Counts change on every write: room on each page keeps the updates
            -- HOT (no new index entries), so the trigram index does not bloat.
            CREATE TABLE IF NOT EXISTS {words} (word text PRIMARY KEY, documents integer NOT NULL)
                WITH (fillfactor = 70);
            CREATE INDEX IF NOT EXISTS {words}_trgm ON {words} USING gist (word gist_trgm_ops);
        """

    async def _ensure_pg_trgm(self) -> None:
        if await self._has_pg_trgm():
            return
        try:
            await self._client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except (BaseORMException, asyncpg.PostgresError) as err:
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
        with _as_search_errors():
            await self._client.execute_script(
                f"TRUNCATE {self.documents_table}, {self.words_table}"
            )

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
        with _as_search_errors():
            for start in range(0, len(batch), WRITE_BATCH):
                await self._upsert(batch[start:start + WRITE_BATCH])

    async def _upsert(self, docs: list[SearchDoc]) -> None:
        rows, added = [], Counter[str]()
        for doc in docs:
            vector, lexemes = document_vector(doc)
            added.update(lexemes)
            rows.append(_row(doc, vector))
        columns = ", ".join(_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_COLUMNS[1:], "tsv"))
        # One statement: documents and vocabulary change together or not at all.
        # The replaced documents are locked and read first, for their old words.
        words = sorted(added)
        unused = await self._client.execute_query_dict(
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
            ){self._count_words("changes")}
            """,
            [json.dumps(rows), words, [added[w] for w in words]],
        )
        await self._forget([row["word"] for row in unused])

    async def delete(self, ids: list[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""
        wanted = [i for i in dict.fromkeys(ids) if isinstance(i, str) and _DOC_ID.fullmatch(i)]
        with _as_search_errors():
            for start in range(0, len(wanted), WRITE_BATCH):
                await self._delete(wanted[start:start + WRITE_BATCH])

    async def _delete(self, ids: list[str]) -> None:
        unused = await self._client.execute_query_dict(
            f"""
            WITH gone AS (
                DELETE FROM {self.documents_table} WHERE id = ANY($1::text[]) RETURNING tsv
            ),
            changes AS (
                SELECT word, -1 AS n FROM gone, unnest(tsvector_to_array(gone.tsv)) AS word
            ){self._count_words("changes")}
            """,
            [ids],
        )
        await self._forget([row["word"] for row in unused])

    def _count_words(self, changes: str) -> str:
        """The end of a statement: add the (word, n) rows of `changes` to the document
        counts, in word order, and select the words no document holds any more.

        Always locking words in the same order keeps concurrent writers from deadlocking.
        """
        words = self.words_table
        return f""", counted AS (
                INSERT INTO {words} (word, documents)
                SELECT word, sum(n) FROM {changes} GROUP BY word HAVING sum(n) <> 0 ORDER BY word
                ON CONFLICT (word) DO UPDATE SET documents = {words}.documents + EXCLUDED.documents
                RETURNING word, documents
            )
            SELECT word FROM counted WHERE documents <= 0"""

    async def _forget(self, unused: list[str]) -> None:
        """Remove words no document holds (unless a writer has just added them again)."""
        if unused:
            await self._client.execute_query(
                f"DELETE FROM {self.words_table} WHERE word = ANY($1::text[]) AND documents <= 0",
                [unused],
            )

    async def ids(self) -> dict[str, int]:
        """Every indexed id with its version."""
        with _as_search_errors():
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
        wanted = _Search(parsed, principals, filters, facets, query.sort, page, per_page)
        with _as_search_errors():
            return await self._run(wanted)

    async def _run(self, search: _Search) -> SearchPage:
        async with self._client._in_transaction() as db:
            await db.execute_script(PLANNER_SETTINGS)
            words = search.parsed.words
            plan = build_plan(search.parsed, await self._typo_alternatives(db, words))
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
            word: tuple(w for w, _ in typos.closest(word, candidates[word], budget, ALTERNATIVES))
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

    async def _did_you_mean(self, db: BaseDBAsyncClient, search: _Search) -> str | None:
        """A respelling of unknown words that finds something these principals may see."""
        parsed = search.parsed
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
        found = _Matches(self.documents_table, plan, search.principals, search.filters, [])
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
        words = tokenize(_text(text)[:MAX_INDEXED_TEXT])
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
class _Search:
    """A search query, checked and parsed."""

    parsed: ParsedQuery
    principals: list[str]
    filters: dict[str, list[Any]]
    facets: list[str]
    sort: str
    page: int
    per_page: int


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


@contextmanager
def _as_search_errors() -> Iterator[None]:
    """Database failures as the protocol's errors, which the indexer retries."""
    try:
        yield
    except _UNREACHABLE as err:
        raise BackendUnavailable(f"PostgreSQL is unreachable: {err}") from err
    except (BaseORMException, asyncpg.PostgresError) as err:
        raise SearchError(f"PostgreSQL search failed: {err}") from err


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
