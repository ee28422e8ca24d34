"""Remembered answers: served again only while the index is unchanged."""

from forum.search import engine
from search_index.backend import Alongside, SearchDoc, SearchPage, SearchQuery
from search_index.cache import CachingBackend
from tests.factories import make_thread


def doc(number: int, title: str) -> SearchDoc:
    return SearchDoc(id=f"thread-{number}", kind="question", title=title, body="", url=f"/t/{number}/x")


async def test_a_repeated_query_is_answered_from_memory(backend):
    await backend.upsert([doc(1, "Tender bonds for a new mutual")])
    first = await backend.search(SearchQuery(text="tender"))
    again = await backend.search(SearchQuery(text="tender"))
    assert again is first and [hit.id for hit in again.hits] == ["thread-1"]
    assert (backend.hits, backend.misses) == (1, 1)


async def test_a_change_made_by_another_process_is_seen_at_once(backend, settings):
    other_process = engine.build_backend(settings)
    await backend.upsert([doc(1, "Tender bonds for a new mutual")])
    assert (await backend.search(SearchQuery(text="tender"))).total == 1

    await other_process.upsert([doc(2, "A tender we lost")])
    assert (await backend.search(SearchQuery(text="tender"))).total == 2
    await other_process.delete(["thread-1", "thread-2"])
    assert (await backend.search(SearchQuery(text="tender"))).total == 0
    await other_process.upsert([doc(3, "Tender again")])
    await other_process.reset()
    assert (await backend.search(SearchQuery(text="tender"))).total == 0


async def test_a_new_word_indexed_by_another_process_completes_a_prefix_at_once(backend, settings):
    """The engine's own look-ups (completions of the word being typed) follow the
    index's generation, as answers do."""
    other_process = engine.build_backend(settings)
    await backend.upsert([doc(1, "Procurement rules")])
    assert (await backend.search(SearchQuery(text="procur"))).total == 1
    await other_process.upsert([doc(2, "Procured by a mutual")])
    assert (await backend.search(SearchQuery(text="procur"))).total == 2


async def test_the_indexer_moves_the_generation_when_content_changes(backend):
    await engine.build_indexer(backend).drain()
    assert (await backend.search(SearchQuery(text="bond"))).total == 0
    await make_thread(title="Who underwrote your pension bond?")
    await engine.build_indexer(backend).drain()
    assert (await backend.search(SearchQuery(text="bond"))).total == 1


async def test_queries_differing_in_anything_are_different_answers(backend):
    await backend.upsert([doc(1, "Tender bonds"), doc(2, "Tender help")])
    assert (await backend.search(SearchQuery(text="tender", per_page=1))).total == 2
    private = await backend.search(SearchQuery(text="tender", principals=("user:9",)))
    assert private.total == 0
    filtered = await backend.search(SearchQuery(text="tender", filters={"kind": ("playbook",)}))
    assert filtered.total == 0
    second = await backend.search(SearchQuery(text="tender", page=2, per_page=1))
    assert second.page == 2 and len(second.hits) == 1


async def test_answers_expire_after_their_time_to_live(backend):
    now = [1000.0]
    timed = CachingBackend(backend.backend, backend._generation, ttl=60, clock=lambda: now[0])
    await timed.upsert([doc(1, "Tender bonds")])
    await timed.search(SearchQuery(text="tender"))
    now[0] += 59
    await timed.search(SearchQuery(text="tender"))
    now[0] += 2
    await timed.search(SearchQuery(text="tender"))
    assert (timed.hits, timed.misses) == (1, 2)


async def test_the_least_recently_used_answer_is_forgotten_first(backend):
    small = CachingBackend(backend.backend, backend._generation, size=2)
    for word in ("alpha", "beta", "alpha", "gamma", "alpha", "beta"):
        await small.search(SearchQuery(text=word))
    # alpha stays (used again), beta was pushed out by gamma.
    assert (small.hits, small.misses) == (2, 4)


async def test_a_size_of_zero_turns_the_cache_off(backend):
    off = CachingBackend(backend.backend, backend._generation, size=0)
    await off.search(SearchQuery(text="tender"))
    await off.search(SearchQuery(text="tender"))
    assert (off.hits, off.misses) == (0, 0)


class AnsweringEngine:
    """An engine that answers a query alongside: its rows name the call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Alongside | None]] = []

    async def search(self, query: SearchQuery, alongside: Alongside | None = None) -> SearchPage:
        self.calls.append((query.text, alongside))
        rows = None if alongside is None else ((len(self.calls), None, None, "row", None),)
        return SearchPage(hits=[], total=0, alongside=rows)


class Counter:
    async def current(self) -> int:
        return 1


async def test_rows_alongside_are_never_remembered():
    engine = AnsweringEngine()
    cache = CachingBackend(engine, Counter())
    asked = Alongside("SELECT 1, 2, 3, 'a', 'b'")

    first = await cache.search(SearchQuery(text="tender"), alongside=asked)
    again = await cache.search(SearchQuery(text="tender"), alongside=asked)

    assert first.alongside == ((1, None, None, "row", None),)
    # A remembered answer: the caller asks its own query.
    assert again.alongside is None and again.total == first.total
    assert engine.calls == [("tender", asked)]


async def test_an_engine_is_asked_alongside_only_when_there_is_a_query():
    class OneArgument:  # as Meilisearch's adapter and FTS5's: search(query)
        async def search(self, query: SearchQuery) -> SearchPage:
            return SearchPage(hits=[], total=0)

    page = await CachingBackend(OneArgument(), Counter()).search(SearchQuery(text="tender"))
    assert page.alongside is None
