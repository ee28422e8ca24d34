"""Writing a reply: the busiest write there is, as one short transaction of plain statements.

`forum.threads.services.reply` checks and renders first; this module only writes.
The thread's row is claimed and moved on by one ``UPDATE ... RETURNING`` whose
WHERE clause is the permission check (not deleted; not locked, unless a moderator
replies), so no statement reads before writing. The post, the topic and member
counters, the search outbox row and the content stamp follow in the same
transaction (`forum.db.write_statements`: one trip to SQLite's thread).
"""

from __future__ import annotations

from datetime import datetime

from forum.db import NothingChanged, Statement, write_statements
from forum.threads.documents import post_doc_id
from forum.threads.models import Post, Thread
from search_index import outbox

_CLAIM_NUMBER = (
    "UPDATE threads SET last_post_number = last_post_number + 1, reply_count = reply_count + 1,"
    " last_activity_at = ?, last_poster_id = ?"
    " WHERE id = ? AND deleted_at IS NULL AND (NOT is_locked OR ?)"
    " RETURNING last_post_number, topic_id, slug"
)
_INSERT_POST = (
    "INSERT INTO posts (thread_id, author_id, number, body_source, body_html, link_count,"
    " helpful_count, edit_count, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?) RETURNING id"
)
_COUNT_IN_TOPIC = (
    "UPDATE topics SET post_count = post_count + 1, last_activity_at = ? WHERE id = ?"
)
_COUNT_FOR_AUTHOR = "UPDATE users SET reply_count = reply_count + 1 WHERE id = ?"


class ThreadClosed(Exception):
    """The thread is deleted, or locked to the replying member: nothing was written."""


async def add_reply(
    *, thread_id: int, author_id: int, body: str, html: str, links: int, when: datetime,
    may_reply_when_locked: bool,
) -> Post:
    """Write a reply at the end of thread `thread_id`; the post, with `post.thread` set
    (its id and slug). Raises ThreadClosed when the thread takes no reply from this author."""
    claim, post_id = 0, 1  # the statements whose rows the later ones use

    def number(rows: list) -> int:
        return rows[claim][0][0]

    statements = [
        Statement(_CLAIM_NUMBER, (when, author_id, thread_id, may_reply_when_locked), required=True),
        Statement(_INSERT_POST, lambda rows: (
            thread_id, author_id, number(rows), body, html, links, when,
        )),
        Statement(_COUNT_IN_TOPIC, lambda rows: (when, rows[claim][0][1])),
        Statement(_COUNT_FOR_AUTHOR, (author_id,)),
        Statement(outbox.ENQUEUE_SQL, lambda rows: outbox.enqueue_values(
            post_doc_id(rows[post_id][0][0])
        )),
    ]
    try:
        rows = await write_statements(statements)
    except NothingChanged:
        raise ThreadClosed() from None
    new_number, topic_id, slug = rows[claim][0]
    post = Post._init_from_db(
        id=rows[post_id][0][0], thread_id=thread_id, author_id=author_id, number=new_number,
        body_source=body, body_html=html, link_count=links, helpful_count=0, edit_count=0,
        created_at=when, edited_at=None, deleted_at=None, deleted_by_id=None, import_ref=None,
    )
    post.thread = Thread._init_from_db(id=thread_id, slug=slug, topic_id=topic_id)
    return post
