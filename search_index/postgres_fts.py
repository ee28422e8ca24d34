"""`SearchBackend` on PostgreSQL full-text search: a weighted tsvector, a GIN index, pg_trgm.

Tables (``{prefix}documents`` and ``{prefix}words``, created by `ensure_index`):

- ``documents``: one row per SearchDoc, with `tsv`: title (weight A), tags (B)
  and body (C), built in Python (`search_index.postgres_tsvector`), kept in the
  row with every other column but the body, which alone goes out of line: a
  search tests, ranks and counts the tsvectors, ACLs and facets of documents it
  walks in date order, and each value out of line would cost a look-up in the
  TOAST table. `tsv` has no planner statistics: PostgreSQL then always answers
  a text match with its GIN index, never by reading every document's tsvector.
  There is no index on `acl`: every searcher has "public", so it never narrows
  a search, and a cached plan would start from it.
- ``words``: the vocabulary with document counts, kept in step by every write in
  the same statement; pg_trgm's distance ranks the neighbours of a misspelt word
  for typo tolerance (Meilisearch's budget) and "did you mean", and the counts
  estimate how many documents a query matches (`search_index.postgres_vocabulary`).

Queries use the shared syntax (`query_syntax`: words, "phrases", -exclusions,
the semantics of ``websearch_to_tsquery``) and become a tsquery made of quoted
lexemes only, sent as one parameter: nothing typed can break it. Each plain word
also matches its typo alternatives, glossary wordings their group's concept,
and the last word being typed matches as a prefix. See
`search_index.postgres_search` for the statements of a search and their bounds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import BaseORMException

from search_index.backend import (
    Alongside,
    BackendUnavailable,
    DocumentRejected,
    SearchDoc,
    SearchError,
    SearchPage,
    SearchQuery,
)
from search_index.documents import check_document, checked_batch, id_problem
from search_index.postgres_search import PostgresSearch
from search_index.postgres_tsvector import document_vector, pg_text
from search_index.postgres_vocabulary import Vocabulary

WRITE_BATCH = 500
_PREFIX = re.compile(r"[a-z][a-z0-9_]*")
_COLUMNS = (
    "id", "kind", "url", "topic", "stage", "sector", "solved", "author", "acl", "tags",
    "created_at", "updated_at", "version", "title", "body",
)
# Variable-length columns kept in the row (storage MAIN: out of line only when
# a row would not fit a page): all but the body.
_IN_ROW = ("id", "kind", "url", "topic", "stage", "sector", "author", "acl", "tags", "title", "tsv")
_RECORD = (
    "id text, kind text, url text, topic text, stage text, sector text, solved boolean, "
    "author text, acl text[], tags text[], created_at timestamptz, updated_at timestamptz, "
    "version bigint, title text, body text, tsv text"
)
_UNREACHABLE = (
    ConnectionError, OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError, asyncpg.InterfaceError,
)


class PostgresFTSBackend:
    """Full-text search in the PostgreSQL database `client` (a Tortoise asyncpg client) reaches.

    `table_prefix` names the tables (``{prefix}documents``, ``{prefix}words``), so
    that tests or several indexes can share one database.
    """

    in_database = True  # searches run as statements on the application's database
    answers_alongside = True  # in a search's own statement (`Alongside`)

    def __init__(self, client: BaseDBAsyncClient, *, table_prefix: str = "search_") -> None:
        if not _PREFIX.fullmatch(table_prefix):
            raise ValueError(f"Invalid table prefix {table_prefix!r}: use [a-z0-9_]")
        self._client = client
        self.documents_table = f"{table_prefix}documents"
        self.words_table = f"{table_prefix}words"
        self._vocabulary = Vocabulary(self.words_table, self.documents_table)
        self._search = PostgresSearch(client, self.documents_table, self._vocabulary)

    # -- schema ---------------------------------------------------------------

    async def ensure_index(self) -> None:
        """Create pg_trgm if missing, then the tables and indexes; safe at every start."""
        with _as_search_errors():
            await self._ensure_pg_trgm()
            await self._client.execute_script(self._schema())

    def _schema(self) -> str:
        docs, words = self.documents_table, self.words_table
        in_row = ", ".join(f"ALTER COLUMN {column} SET STORAGE MAIN" for column in _IN_ROW)
        in_row_names = ", ".join(f"'{column}'" for column in _IN_ROW)
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
                );
                -- Only the body, read for a page's snippets alone, goes out of
                -- line when a row is long: the columns a walk of the date index
                -- tests, ranks and counts stay in the row.
                ALTER TABLE {docs} {in_row}, ALTER COLUMN body SET STORAGE EXTERNAL,
                    ALTER COLUMN tsv SET STATISTICS 0;
            ELSIF EXISTS (
                SELECT 1 FROM pg_attribute
                WHERE attrelid = '{docs}'::regclass AND attstorage <> 'm'
                  AND attname IN ({in_row_names})
            ) THEN
                -- A table made when these could go out of line: rows written from
                -- now on (every row after `forum reindex`) keep them in the row.
                ALTER TABLE {docs} {in_row}, RESET (toast_tuple_target);
            END IF;
            END $$;
            CREATE INDEX IF NOT EXISTS {docs}_tsv ON {docs} USING gin (tsv);
            CREATE INDEX IF NOT EXISTS {docs}_created
                ON {docs} (created_at DESC NULLS LAST, id DESC);
            -- Counts change on every write: room on each page keeps the updates
            -- HOT (no new index entries), so the indexes do not bloat.
            CREATE TABLE IF NOT EXISTS {words} (word text PRIMARY KEY, documents integer NOT NULL)
                WITH (fillfactor = 70);
            -- Typo candidates: a first letter and a range of lengths (Meilisearch's rules).
            CREATE INDEX IF NOT EXISTS {words}_shape ON {words} (left(word, 1), length(word));
            -- Words by prefix, compared byte by byte whatever the database's collation.
            CREATE INDEX IF NOT EXISTS {words}_prefix ON {words} (word text_pattern_ops);
            -- Superseded by the two above (a trigram index made every new word dearer).
            DROP INDEX IF EXISTS {words}_trgm;
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
            try:
                await self._client.execute_script(
                    f"TRUNCATE {self.documents_table}, {self.words_table}"
                )
            finally:
                self._vocabulary.changed()

    async def optimize(self) -> None:
        """Vacuum and analyse the documents after a bulk rewrite (`forum reindex`).

        Until a page is marked all-visible, counting how far a walk went reads
        every document again for its visibility, and a reindex leaves the old
        version of each row behind. Autovacuum gets there in time, where it runs.
        """
        with _as_search_errors():
            # VACUUM cannot run in a transaction: a statement of its own.
            await self._client.execute_script(f"VACUUM (ANALYZE) {self.documents_table}")

    # -- writes ---------------------------------------------------------------

    async def upsert(self, docs: list[SearchDoc]) -> None:
        """Add or replace `docs` by id (see `checked_batch`), `WRITE_BATCH` per statement."""
        batch = checked_batch(docs, validate)
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
            ){self._vocabulary.count_words("changes")}
            """,
            [json.dumps(rows), words, [added[w] for w in words]],
        )
        await self._vocabulary.forget(self._client, [row["word"] for row in unused])

    async def delete(self, ids: list[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""
        wanted = [i for i in dict.fromkeys(ids) if not id_problem(i)]
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
            ){self._vocabulary.count_words("changes")}
            """,
            [ids],
        )
        await self._vocabulary.forget(self._client, [row["word"] for row in unused])

    async def ids(self) -> dict[str, int]:
        """Every indexed id with its version."""
        with _as_search_errors():
            rows = await self._client.execute_query_dict(
                f"SELECT id, version FROM {self.documents_table}"
            )
        return {row["id"]: row["version"] for row in rows}

    # -- search ---------------------------------------------------------------

    async def search(self, query: SearchQuery, alongside: Alongside | None = None) -> SearchPage:
        """Run `query`, and `alongside` in the same statement; see
        `search_index.postgres_search` for the bounds on common words."""
        with _as_search_errors():
            return await self._search.search(query, alongside)


# -- documents --------------------------------------------------------------------


def validate(doc: SearchDoc) -> None:
    """Raise DocumentRejected unless every backend can index `doc` and PostgreSQL its version."""
    check_document(doc)
    if not isinstance(doc.version, int) or not -(2**63) <= doc.version < 2**63:
        raise DocumentRejected(doc.id, "the version must be a 64-bit integer")


def _row(doc: SearchDoc, vector: str) -> dict[str, Any]:
    return {
        "id": doc.id, "kind": pg_text(doc.kind), "url": pg_text(doc.url),
        "topic": pg_text(doc.topic), "stage": pg_text(doc.stage), "sector": pg_text(doc.sector),
        "solved": bool(doc.solved), "author": pg_text(doc.author),
        "acl": [pg_text(p) for p in doc.acl], "tags": [pg_text(t) for t in doc.tags],
        "created_at": _timestamp(doc.created_at), "updated_at": _timestamp(doc.updated_at),
        "version": doc.version, "title": pg_text(doc.title), "body": pg_text(doc.body),
        "tsv": vector,
    }


def _timestamp(moment: datetime | None) -> str | None:
    """ISO 8601; naive datetimes are taken as UTC."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@contextmanager
def _as_search_errors() -> Iterator[None]:
    """Database failures as the protocol's errors, which the indexer retries."""
    try:
        yield
    except _UNREACHABLE as err:
        raise BackendUnavailable(f"PostgreSQL is unreachable: {err}") from err
    except (BaseORMException, asyncpg.PostgresError) as err:
        raise SearchError(f"PostgreSQL search failed: {err}") from err

