"""Lookups kept until a version stamp moves: never served once the stamp has moved."""

from __future__ import annotations

from tortoise import connections

from forum.caching import stamps
from forum.caching.stamped import StampedValue


class Loads:
    """A loader that counts its calls and returns a new value each time."""

    def __init__(self, during=None) -> None:
        self.count = 0
        self.during = during

    async def __call__(self) -> int:
        self.count += 1
        if self.during is not None:
            await self.during()
        return self.count


async def test_the_value_is_loaded_once_while_the_stamp_stays(db):
    load = Loads()
    value = StampedValue(load)

    assert [await value.get() for _ in range(3)] == [1, 1, 1]
    assert load.count == 1


async def test_the_value_is_loaded_again_once_the_stamp_moves(db):
    value = StampedValue(Loads())
    await value.get()

    await stamps.advance(stamps.CONTENT)  # any write, by this process or another

    assert await value.get() == 2
    assert await value.get() == 2


async def test_a_value_loaded_while_a_change_committed_is_not_kept(db):
    # The change lands between reading the stamp and loading: what was loaded may
    # predate it, so it must not be taken for the value of the new stamp.
    value = StampedValue(Loads(during=lambda: stamps.advance(stamps.CONTENT)))

    assert await value.get() == 1
    assert await value.get() == 2


async def test_another_stamp_leaves_the_value_alone(db):
    load = Loads()
    value = StampedValue(load, stamps.CONTENT)
    await value.get()

    await stamps.advance(stamps.SEARCH_INDEX)

    assert await value.get() == 1


async def test_an_assumed_block_answers_its_values_even_once_a_change_committed(db):
    await stamps.advance(stamps.CONTENT)
    before = await stamps.read(stamps.CONTENT)

    async with stamps.assume(stamps.CONTENT, stamps.SEARCH_INDEX):
        await stamps.advance(stamps.CONTENT)  # a change committed meanwhile
        # Caches keyed by the value taken at the start never file later work under
        # a newer value than they took first: the old one is still the right key.
        assert await stamps.read(stamps.CONTENT) == before
        assert await stamps.read(stamps.SEARCH_INDEX) == 0

    assert await stamps.read(stamps.CONTENT) == before + 1


async def _moved_elsewhere(name: str) -> None:
    """Stamp `name` moved by another process: this one is not told."""
    await connections.get("default").execute_query(
        f"UPDATE version_stamps SET version = version + 1 WHERE name = '{name}'"
    )


async def test_assuming_takes_the_values_this_process_read_last_without_a_round_trip(db, count_queries):
    await stamps.advance(stamps.CONTENT)
    read = await stamps.read_many((stamps.CONTENT, stamps.SEARCH_INDEX))
    count_queries.statements.clear()

    async with stamps.assume(stamps.CONTENT, stamps.SEARCH_INDEX) as assumed:
        assert await stamps.read(stamps.CONTENT) == read[stamps.CONTENT]
        assert count_queries.count == 0

    assert assumed.holds(await stamps.read_many(assumed.names))


async def test_assumed_values_another_process_has_moved_do_not_hold(db):
    await stamps.advance(stamps.CONTENT)
    before = await stamps.read(stamps.CONTENT)
    await _moved_elsewhere(stamps.CONTENT)

    async with stamps.assume(stamps.CONTENT) as assumed:
        assert await stamps.read(stamps.CONTENT) == before  # not known here yet
    current = await stamps.read_many(assumed.names)

    assert not assumed.holds(current)
    async with assumed.again(current):  # the work done again, under the values just read
        assert await stamps.read(stamps.CONTENT) == before + 1


async def test_a_stamp_this_process_moved_is_read_rather_than_assumed(db, count_queries):
    await stamps.read_many((stamps.CONTENT,))
    await stamps.advance(stamps.CONTENT)
    count_queries.statements.clear()

    async with stamps.assume(stamps.CONTENT):
        assert await stamps.read(stamps.CONTENT) == 1
    assert count_queries.count == 1


async def test_a_write_transaction_forgets_the_content_stamp_once_it_commits(db):
    from forum.db import write_transaction

    await stamps.read_many((stamps.CONTENT,))
    async with write_transaction():
        pass

    async with stamps.assume(stamps.CONTENT):
        assert await stamps.read(stamps.CONTENT) == 1
