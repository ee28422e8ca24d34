"""SqliteFTSBackend beyond the contract: its bounds on very common words, its vocabulary.

The limits are lowered so that a few documents exercise the paths a word
found in tens of thousands of documents takes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from search_index import sqlite_ranking, sqlite_search, sqlite_vocabulary
from search_index.backend import FACETS, SearchQuery
from search_index.sqlite_fts import SqliteFTSBackend
from tests.contract.conftest import _connect, doc


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[SqliteFTSBackend]:
    client = await _connect({
        "engine": "tortoise.backends.sqlite",
        "credentials": {"file_path": str(tmp_path / "search.sqlite3")},
    })
    engine = SqliteFTSBackend(client, table_prefix="unit_")
    await engine.ensure_index()
    try:
        yield engine
    finally:
        from tortoise import Tortoise

        await Tortoise.close_connections()


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_search, "RANK_LIMIT", 4)
    monkeypatch.setattr(sqlite_search, "COUNT_LIMIT", 6)
    monkeypatch.setattr(sqlite_search, "FACET_LIMIT", 5)


async def ids(engine: SqliteFTSBackend, text: str, **options: object) -> list[str]:
    page = await engine.search(SearchQuery(text=text, **options))  # type: ignore[arg-type]
    return [hit.id for hit in page.hits]


async def test_pages_past_the_ranked_matches_continue_without_repeats_or_gaps(
    backend: SqliteFTSBackend, small_limits: None,
) -> None:
    await backend.upsert([
        doc(f"post-{n}", "Re: bond", "bond " * (n % 3 + 1)) for n in range(1, 11)
    ])
    pages = [await ids(backend, "bond", page=p, per_page=3) for p in range(1, 6)]
    seen = [hit for page in pages for hit in page]
    assert sorted(seen) == sorted(f"post-{n}" for n in range(1, 11))
    assert pages[4] == []


async def test_a_total_past_the_count_limit_is_an_estimate_and_says_so(
    backend: SqliteFTSBackend, small_limits: None,
) -> None:
    await backend.upsert([doc(f"post-{n}", "Re: bond", "bond") for n in range(1, 11)])
    await backend.upsert([doc(f"post-{n}", "Re: other", "other") for n in range(11, 15)])
    page = await backend.search(SearchQuery(text="bond", facets=("kind",)))
    assert not page.total_is_exact
    assert 7 <= page.total <= 14
    assert page.facets["kind"]["post"] == page.total  # counted on 5, scaled
    exact = await backend.search(SearchQuery(text="other"))
    assert (exact.total, exact.total_is_exact) == (4, True)


async def test_newest_first_is_right_whether_the_index_is_walked_or_the_matches_sorted(
    backend: SqliteFTSBackend,
) -> None:
    docs = [doc(f"post-{n}", "Re: bond", "bond") for n in range(1, 40)]
    docs.append(doc("post-99", "Re: rare", "rare bond", created_at=docs[0].created_at))
    await backend.upsert(docs[::-1])  # indexed in the opposite order to their dates
    newest = await ids(backend, "bond", sort="newest", per_page=3)
    assert newest == ["post-39", "post-38", "post-37"]
    assert await ids(backend, "rare", sort="newest") == ["post-99"]


async def test_the_vocabulary_follows_edits_and_deletions(backend: SqliteFTSBackend) -> None:
    await backend.upsert([doc("post-1", "Re: x", "actuary"), doc("post-2", "Re: x", "actuary")])
    assert (await ids(backend, "actuarx")) != []
    await backend.upsert([doc("post-1", "Re: x", "nothing")])
    await backend.delete(["post-2"])
    backend._vocabulary.forget()
    assert await backend._vocabulary.typo_alternatives(["actuarx"]) == {}
    assert await backend._vocabulary.suggestions(["nothinf"], None) == {"nothinf": "nothing"}


async def test_a_long_prefix_is_completed_from_the_vocabulary_or_left_to_fts5(
    backend: SqliteFTSBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await backend.upsert([doc("post-1", "Re: x", "procurement procured procuring 2024")])
    assert await backend._vocabulary.completions("procur") == (
        "procured", "procurement", "procuring",
    )
    monkeypatch.setattr(sqlite_vocabulary, "MAX_COMPLETIONS", 2)
    backend._vocabulary.forget()  # completions are kept a while
    assert await backend._vocabulary.completions("procur") is None
    assert await backend._vocabulary.completions("202") is None
    assert await ids(backend, "procur") == ["post-1"]
    assert await ids(backend, "2024") == ["post-1"]


async def test_a_search_with_facets_takes_as_many_statements_for_few_or_many_matches(
    backend: SqliteFTSBackend, small_limits: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The count, the ranked candidates and the facet counts share one walk of the
    matches: completing the last word, that walk, and the ranked page."""
    statements = record_statements(backend, monkeypatch)
    await backend.upsert([doc(f"post-{n}", "Re: bond", "bond") for n in range(1, 21)])
    await backend.upsert([
        doc("thread-1", "Rare bond", "bond", tags=("rare",)), doc("thread-2", "Rare", "rare"),
    ])
    for text, exact in (("bond", False), ("rare", True)):
        statements.clear()
        page = await backend.search(SearchQuery(text=text, facets=FACETS, per_page=2))
        assert (page.total_is_exact, len(page.hits)) == (exact, 2)
        assert page.facets["kind"]
        assert len(statements) == 3, statements


async def test_too_many_matches_to_count_rank_a_smaller_recent_sample(
    backend: SqliteFTSBackend, small_limits: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    best = doc("post-8", "Bond", "bond bond", tags=("bond",))
    await backend.upsert([
        best if n == 8 else doc(f"post-{n}", "Re: x", "a bond") for n in range(1, 11)
    ])
    assert await ids(backend, "bond", per_page=3) == ["post-8", "post-10", "post-9"]
    monkeypatch.setattr(sqlite_search, "COMMON_RANK_LIMIT", 2)  # only post-10 and post-9
    assert await ids(backend, "bond", per_page=3) == ["post-10", "post-9", "post-8"]
    pages = [await ids(backend, "bond", page=p, per_page=3) for p in range(1, 5)]
    assert sorted(hit for page in pages for hit in page) == sorted(
        f"post-{n}" for n in range(1, 11)
    )
    await backend.delete([f"post-{n}" for n in range(1, 7)])  # few enough to count: all ranked
    assert await ids(backend, "bond", per_page=3) == ["post-8", "post-10", "post-9"]


async def test_optimizing_merges_the_index_into_one_segment_and_keeps_every_match(
    backend: SqliteFTSBackend,
) -> None:
    for n in range(1, 6):  # one transaction each: a segment each
        await backend.upsert([doc(f"post-{n}", "Re: bond", f"bond number{n}")])
    await backend.delete(["post-2"])

    async def segments() -> int:
        _, rows = await backend._client.execute_query(
            f"SELECT count(DISTINCT segid) FROM {backend.fts_table}_idx"
        )
        return rows[0][0]

    assert await segments() > 1
    await backend.optimize()
    assert await segments() == 1
    assert sorted(await ids(backend, "bond")) == ["post-1", "post-3", "post-4", "post-5"]
    assert await ids(backend, '"number3"') == ["post-3"]


def record_statements(backend: SqliteFTSBackend, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement `backend` sends from now on."""
    client = backend._client
    statements: list[str] = []
    for name in ("execute_query", "execute_query_dict"):
        method = getattr(client, name)

        async def counted(sql: str, values: list | None = None, _method=method) -> object:
            statements.append(sql)
            return await _method(sql, values)

        monkeypatch.setattr(client, name, counted)
    return statements


async def test_words_in_more_documents_than_bm25s_budget_rank_without_its_pass_over_the_index(
    backend: SqliteFTSBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bm25() counts every document holding each word before scoring any: a common
    word is ranked from the vocabulary's counts and the candidates' titles and tags."""
    await backend.upsert([
        doc("post-1", "Re: bond", "a bond and a guarantee", tags=("guarantee",)),
        doc("post-2", "Bond guarantee", "the bond"),
        doc("post-3", "Re: bond", "bond, guarantee"),
        doc("post-4", "Re: other", "nothing here"),
    ])
    statements = record_statements(backend, monkeypatch)
    rare = await ids(backend, "bond guarantee")
    assert any("bm25(" in sql for sql in statements)
    monkeypatch.setattr(sqlite_ranking, "BM25_BUDGET", 5)  # "bond" is in 3, "guarantee" in 3
    statements.clear()
    common = await ids(backend, "bond guarantee")
    assert not any("bm25(" in sql for sql in statements), statements
    # Both words in the title; then one in the title, one in the tags; then one in the title.
    assert common == ["post-2", "post-1", "post-3"]
    assert sorted(rare) == sorted(common)


async def test_a_prefix_fts5_expands_itself_never_takes_bm25s_pass(
    backend: SqliteFTSBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await backend.upsert([doc("post-1", "Pensions", "pension"), doc("post-2", "Re: x", "pensioner")])
    statements = record_statements(backend, monkeypatch)
    assert sorted(await ids(backend, "pen")) == ["post-1", "post-2"]  # a 3-letter prefix
    assert not any("bm25(" in sql for sql in statements)
    assert await ids(backend, "pen")


async def test_the_vocabulary_answers_typos_completions_and_counts_in_one_statement_then_from_memory(
    backend: SqliteFTSBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await backend.upsert([
        doc("post-1", "Re: x", "pension pensions procurement procured"),
        doc("post-2", "Re: y", "pension tender"),
    ])
    statements = record_statements(backend, monkeypatch)
    found = await backend._vocabulary.lookup(("pensoin", "tender", "procur"), "procur")
    assert len(statements) == 1
    assert found.typos == {"pensoin": ("pension",)}  # "pensions" is two typos away
    assert found.completions == ("procured", "procurement")
    assert found.counts == {
        "pensoin": 0, "pension": 2, "tender": 1, "procur": 0,
        "procured": 1, "procurement": 1,
    }
    assert await backend._vocabulary.lookup(("pensoin", "tender", "procur"), "procur") == found
    assert len(statements) == 1
    await backend.upsert([doc("post-3", "Re: z", "tender")])  # this process's write: forgotten
    assert (await backend._vocabulary.lookup(("tender",), None)).counts == {"tender": 2}


async def test_matches_surely_too_many_to_count_are_judged_from_a_short_walk(
    backend: SqliteFTSBackend, small_limits: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The newest COMMON_RANK_LIMIT + 1 matches of a word in every document show the
    total is far past COUNT_LIMIT: they give the estimate and the facet counts
    alone. A word in fewer documents is walked to the count limit as before."""
    monkeypatch.setattr(sqlite_search, "COMMON_RANK_LIMIT", 2)
    await backend.upsert([
        doc(f"post-{n}", "Re: bond", "bond rare" if n % 4 == 0 else "bond") for n in range(1, 31)
    ])
    statements = record_statements(backend, monkeypatch)

    def walks() -> list[str]:
        return [sql for sql in statements if sql.startswith("SELECT m.rid")]

    common = await backend.search(SearchQuery(text="bond", facets=("kind",)))
    assert len(walks()) == 1
    assert (common.total, common.total_is_exact) == (30, False)
    assert common.facets["kind"] == {"post": 30}
    statements.clear()
    rare = await backend.search(SearchQuery(text="rare", facets=("kind",)))
    assert len(walks()) == 2  # 3 newest of 7 in 30 documents: not surely past 6
    assert (rare.total_is_exact, rare.facets["kind"]) == (False, {"post": rare.total})


async def test_words_whose_counts_are_unknown_never_take_bm25s_pass(
    backend: SqliteFTSBackend, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A glossary term's other wording, or a quoted phrase, is not looked up in the
    vocabulary: it may be in every document, so bm25's count is not risked."""
    await backend.upsert([
        doc("post-1", "Re: x", "a transfer of undertakings"), doc("post-2", "Re: y", "tupe"),
    ])
    statements = record_statements(backend, monkeypatch)
    assert sorted(await ids(backend, "tupe")) == ["post-1", "post-2"]
    assert sorted(await ids(backend, '"transfer of undertakings"')) == ["post-1", "post-2"]
    assert not any("bm25(" in sql for sql in statements)
    statements.clear()
    assert await ids(backend, "undertakings") == ["post-1"]  # a word looked up, and rare
    assert any("bm25(" in sql for sql in statements)
