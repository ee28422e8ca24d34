"""Set-based recounts of the thread, topic and user counters an import touched."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forum.importing.bulk import _chunks

ID_CHUNK = 5000  # ids inlined per recount statement (ints we read back: safe to inline)

# Recounts are plain correlated subqueries, the same SQL on SQLite and PostgreSQL,
# and follow the live services' rules (forum/threads/services.py).
_RECOUNT_THREADS = """UPDATE threads SET
    reply_count = (SELECT COUNT(*) FROM posts p
        WHERE p.thread_id = threads.id AND p.number > 1 AND p.deleted_at IS NULL),
    last_post_number = (SELECT COALESCE(MAX(p.number), 1) FROM posts p
        WHERE p.thread_id = threads.id),
    last_activity_at = COALESCE((SELECT MAX(p.created_at) FROM posts p
        WHERE p.thread_id = threads.id AND p.deleted_at IS NULL), threads.created_at),
    last_poster_id = COALESCE((SELECT p.author_id FROM posts p
        WHERE p.thread_id = threads.id AND p.deleted_at IS NULL
        ORDER BY p.created_at DESC, p.id DESC LIMIT 1), threads.author_id)
WHERE id IN ({ids})"""
_RECOUNT_TOPICS = """UPDATE topics SET
    thread_count = (SELECT COUNT(*) FROM threads t
        WHERE t.topic_id = topics.id AND t.deleted_at IS NULL),
    post_count = (SELECT COALESCE(SUM(t.reply_count + 1), 0) FROM threads t
        WHERE t.topic_id = topics.id AND t.deleted_at IS NULL),
    last_activity_at = (SELECT MAX(t.last_activity_at) FROM threads t
        WHERE t.topic_id = topics.id AND t.deleted_at IS NULL)
WHERE id IN ({ids})"""
_RECOUNT_USERS = """UPDATE users SET
    thread_count = (SELECT COUNT(*) FROM threads t
        WHERE t.author_id = users.id AND t.deleted_at IS NULL),
    reply_count = (SELECT COUNT(*) FROM posts p
        WHERE p.author_id = users.id AND p.number > 1 AND p.deleted_at IS NULL)
WHERE id IN ({ids})"""


async def _recount(connection: Any, statement: str, ids: Iterable[int]) -> None:
    for chunk in _chunks(sorted(ids), ID_CHUNK):
        await connection.execute_query(statement.format(ids=",".join(str(int(i)) for i in chunk)))
