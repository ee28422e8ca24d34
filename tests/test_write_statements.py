"""`write_statements`: a write transaction of plain statements, in one trip on SQLite."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError

from forum.caching import stamps
from forum.db import NothingChanged, Statement, write_statements, write_transaction
from forum.threads.models import Topic

pytestmark = pytest.mark.usefixtures("db")

INSERT_TOPIC = (
    "INSERT INTO topics (slug, name, description, position, thread_count, post_count)"
    " VALUES (?, ?, '', 0, 0, 0) RETURNING id"
)
COUNT_THREAD = "UPDATE topics SET thread_count = thread_count + ? WHERE id = ? RETURNING thread_count"


async def test_statements_run_in_order_and_later_ones_use_earlier_rows():
    rows = await write_statements([
        Statement(INSERT_TOPIC, ("tupe", "TUPE")),
        Statement(COUNT_THREAD, lambda rows: (5, rows[0][0][0])),
        Statement("UPDATE topics SET post_count = 7 WHERE slug = ?", ("tupe",)),
    ])
    topic = await Topic.get(slug="tupe")
    assert rows == [[(topic.id,)], [(5,)], []]
    assert (topic.thread_count, topic.post_count) == (5, 7)


async def test_the_content_stamp_moves_unless_told_otherwise():
    before = await stamps.read(stamps.CONTENT)
    await write_statements([Statement(INSERT_TOPIC, ("tupe", "TUPE"))])
    assert await stamps.read(stamps.CONTENT) == before + 1
    await write_statements([Statement(INSERT_TOPIC, ("lgps", "LGPS"))], content=False)
    assert await stamps.read(stamps.CONTENT) == before + 1


async def test_a_required_statement_that_changes_nothing_undoes_the_whole_batch():
    before = await stamps.read(stamps.CONTENT)
    with pytest.raises(NothingChanged) as missed:
        await write_statements([
            Statement(INSERT_TOPIC, ("tupe", "TUPE")),
            Statement(COUNT_THREAD, (1, 999_999), required=True),
            Statement(INSERT_TOPIC, ("lgps", "LGPS")),
        ])
    assert missed.value.statement.sql == COUNT_THREAD
    assert await Topic.all().count() == 0
    assert await stamps.read(stamps.CONTENT) == before


async def test_a_failing_statement_undoes_the_whole_batch():
    with pytest.raises(IntegrityError):
        await write_statements([
            Statement(INSERT_TOPIC, ("tupe", "TUPE")),
            Statement(INSERT_TOPIC, ("tupe", "TUPE again")),  # the slug is unique
        ])
    assert await Topic.all().count() == 0
    # The connection is usable afterwards: no transaction was left open.
    await write_statements([Statement(INSERT_TOPIC, ("tupe", "TUPE"))])
    assert await Topic.all().count() == 1


async def test_inside_a_write_transaction_the_statements_join_it():
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await write_statements([Statement(INSERT_TOPIC, ("tupe", "TUPE"))])
            assert await Topic.filter(slug="tupe").exists()
            raise RuntimeError("the outer transaction fails")
    assert await Topic.all().count() == 0
