"""`SearchBackend` on SQLite FTS5, inside the application database (the embedded default).

Tables (``{prefix}documents`` and friends, created by `ensure_index`):

- ``documents``: one row per SearchDoc (`id` unique, `rid` the integer key FTS5
  needs; an implicit rowid could be renumbered by VACUUM). Small columns come
  first and the body last, so that reading a row's metadata stays cheap.
- ``fts``: an external-content FTS5 index over title, tags, body and `meta`
  (the ACL principals and facet values as opaque tokens), kept in step by
  triggers; ``unicode61 remove_diacritics 2``; prefix indexes for 2 and 3
  letters, so search-as-you-type stays cheap.
- ``terms``: the vocabulary with document counts, kept by `upsert`/`delete` in
  the same transaction, read for typos, completions and suggestions. (FTS5's
  own fts5vocab table walks every posting list of the terms it returns: ~8 ms
  per first letter at 40k documents, and more as the index grows.)

Every query has a bounded cost, even for a word found nearly everywhere
(DESIGN §8): see `search_index.sqlite_search` for the limits on counting,
ranking and facet counts.

The client is Tortoise's (``connections.get("default")``): every statement
goes through aiosqlite's thread. Do not call this from inside a transaction
held on the same client: SQLite has one connection, and it would wait forever.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from search_index.backend import FACETS, SearchDoc, SearchPage, SearchQuery
from search_index.documents import checked_batch
from search_index.fts5_expression import facet_values, meta_text
from search_index.sqlite_search import FTSSearch, Tables
from search_index.sqlite_vocabulary import Vocabulary, vocabulary_words

WRITE_BATCH = 500
_PREFIX = re.compile(r"[a-z][a-z0-9_]*")
_COLUMNS = (
    "id", "kind", "url", "topic", "stage", "sector", "solved", "author", "acl", "tags",
    "facets", "meta", "created_at", "updated_at", "version", "title", "body",
)


class SqliteFTSBackend:
    """Full-text search with FTS5 in the database `client` is connected to.

    `table_prefix` names the tables (``{prefix}documents``, ``{prefix}fts``,
    ``{prefix}terms``), so that tests or several indexes can share one database.
    """

    in_database = True  # searches run as statements on the application's database

    def __init__(self, client: BaseDBAsyncClient, *, table_prefix: str = "search_") -> None:
        if not _PREFIX.fullmatch(table_prefix):
            raise ValueError(f"Invalid table prefix {table_prefix!r}: use [a-z0-9_]")
        self._client = client
        self.documents_table = f"{table_prefix}documents"
        self.fts_table = f"{table_prefix}fts"
        self.terms_table = f"{table_prefix}terms"
        self._vocabulary = Vocabulary(client, self.terms_table)
        self._search = FTSSearch(
            client, Tables(self.documents_table, self.fts_table), self._vocabulary
        )

    # -- schema ---------------------------------------------------------------

    async def ensure_index(self) -> None:
        """Create the tables, triggers and indexes if missing; safe at every start."""
        await self._client.execute_script(self._schema())

    def _schema(self) -> str:
        docs, fts = self.documents_table, self.fts_table
        columns = "title, tags, body, meta"
        new = "new.title, new.tags, new.body, new.meta"
        old = "old.title, old.tags, old.body, old.meta"
        return f"""
        CREATE TABLE IF NOT EXISTS {docs} (
            rid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL, url TEXT NOT NULL, topic TEXT NOT NULL, stage TEXT NOT NULL,
            sector TEXT NOT NULL, solved INTEGER NOT NULL, author TEXT NOT NULL,
            acl TEXT NOT NULL,        -- JSON array of principals
            tags TEXT NOT NULL,       -- JSON array
            facets TEXT NOT NULL,     -- JSON of every facet value: one column to group by
            meta TEXT NOT NULL,       -- ACL and facet values as FTS tokens
            created_at TEXT NOT NULL, -- ISO 8601 in UTC; '' when unknown
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS {docs}_created ON {docs} (created_at);
        -- Covering index: facet counts never read titles and bodies.
        CREATE INDEX IF NOT EXISTS {docs}_facets ON {docs} (rid, facets);
        CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(
            {columns}, content='{docs}', content_rowid='rid',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3'
        );
        CREATE TRIGGER IF NOT EXISTS {docs}_ai AFTER INSERT ON {docs} BEGIN
            INSERT INTO {fts} (rowid, {columns}) VALUES (new.rid, {new});
        END;
        CREATE TRIGGER IF NOT EXISTS {docs}_ad AFTER DELETE ON {docs} BEGIN
            INSERT INTO {fts} ({fts}, rowid, {columns}) VALUES ('delete', old.rid, {old});
        END;
        CREATE TRIGGER IF NOT EXISTS {docs}_au AFTER UPDATE ON {docs} BEGIN
            INSERT INTO {fts} ({fts}, rowid, {columns}) VALUES ('delete', old.rid, {old});
            INSERT INTO {fts} (rowid, {columns}) VALUES (new.rid, {new});
        END;
        CREATE TABLE IF NOT EXISTS {self.terms_table} (
            term TEXT PRIMARY KEY, docs INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    def index_changed(self) -> None:
        """Another process changed the index: forget the completions read from it (a
        new word must complete at once; typo alternatives and counts may lag a little)."""
        self._vocabulary.forget_completions()

    async def reset(self) -> None:
        """Remove every document (the tables are dropped and created again: fast at any size)."""
        tables = (self.fts_table, self.terms_table, self.documents_table)
        await self._client.execute_script(
            "".join(f"DROP TABLE IF EXISTS {table};\n" for table in tables)
        )
        self._vocabulary.forget()
        await self.ensure_index()

    # -- writes ---------------------------------------------------------------

    async def upsert(self, docs: list[SearchDoc]) -> None:
        """Add or replace `docs` by id (see `checked_batch`), `WRITE_BATCH` per transaction."""
        batch = checked_batch(docs)
        placeholders = ", ".join("?" * len(_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
        sql = (
            f"INSERT INTO {self.documents_table} ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        for start in range(0, len(batch), WRITE_BATCH):
            chunk = batch[start:start + WRITE_BATCH]
            # Work out the rows and their words first: the transaction holds the write
            # lock that every web process is waiting for to post.
            rows = [_row(doc) for doc in chunk]
            added: Counter[str] = Counter()
            for doc in chunk:
                added.update(vocabulary_words(doc.title, doc.tags, doc.body))
            async with self._client._in_transaction() as connection:
                terms = await self._stored_words(connection, [doc.id for doc in chunk])
                terms.update(added)
                await connection.execute_many(sql, rows)
                await self._vocabulary.add(connection, terms)

    async def delete(self, ids: list[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), WRITE_BATCH):
            chunk = wanted[start:start + WRITE_BATCH]
            async with self._client._in_transaction() as connection:
                terms = await self._stored_words(connection, chunk)
                marks = ", ".join("?" * len(chunk))
                await connection.execute_query(
                    f"DELETE FROM {self.documents_table} WHERE id IN ({marks})", chunk
                )
                await self._vocabulary.add(connection, terms)

    async def _stored_words(self, connection: Any, ids: list[str]) -> Counter[str]:
        """The words of the stored documents `ids`, counted -1 for each: they are replaced."""
        marks = ", ".join("?" * len(ids))
        _, rows = await connection.execute_query(
            f"SELECT title, tags, body FROM {self.documents_table} WHERE id IN ({marks})", ids
        )
        terms: Counter[str] = Counter()
        for row in rows:
            for word in vocabulary_words(row[0], json.loads(row[1]), row[2]):
                terms[word] -= 1
        return terms

    async def optimize(self) -> None:
        """Merge the FTS5 index into one segment (FTS5's 'optimize').

        Writes add segments that FTS5 merges only now and then, and every query
        term is looked up in each one: `forum reindex` of the 40k-document
        benchmark set leaves 13, and merging them takes about a third off the
        cost of a query never asked before. Holds the write lock while it runs
        (about a second and a half for those 40k documents).
        """
        await self._client.execute_query(
            f"INSERT INTO {self.fts_table} ({self.fts_table}) VALUES ('optimize')"
        )

    async def ids(self) -> dict[str, int]:
        _, rows = await self._client.execute_query(
            f"SELECT id, version FROM {self.documents_table}"
        )
        return {row[0]: row[1] for row in rows}

    # -- search ---------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        """Run `query`; see the module docstring for the bounds on very common words."""
        return await self._search.search(query)


def _row(doc: SearchDoc) -> list[Any]:
    """`doc` as the values of `_COLUMNS`."""
    values = facet_values(doc)
    return [
        doc.id, doc.kind, doc.url, doc.topic, doc.stage, doc.sector, int(doc.solved), doc.author,
        _json(list(doc.acl)), _json(list(doc.tags)), _json([values[name] for name in FACETS]),
        meta_text(doc),
        _timestamp(doc.created_at), _timestamp(doc.updated_at), doc.version, doc.title, doc.body,
    ]


def _json(value: Any) -> str:
    # Non-ASCII kept as is: the tags column is tokenized by FTS5 ("café", not "caf\u00e9").
    return json.dumps(value, ensure_ascii=False)


def _timestamp(moment: datetime | None) -> str:
    """ISO 8601 in UTC (naive datetimes are taken as UTC), which sorts as text."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()
