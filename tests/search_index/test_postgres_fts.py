"""PostgresFTSBackend beyond the contract: query semantics, plans, vocabulary, limits.

Runs where the contract runs PostgreSQL (SEARCH_TEST_POSTGRES_URL, TEST_DATABASE_URL
or the local default), in tables of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tortoise import Tortoise

from search_index import postgres_fts, postgres_search, postgres_vocabulary
from search_index.backend import (
    FACETS,
    Alongside,
    BackendUnavailable,
    SearchDoc,
    SearchError,
    SearchPage,
    SearchQuery,
)
from search_index.postgres_fts import PostgresFTSBackend
from search_index.postgres_search import _Matches, checked
from search_index.postgres_tsvector import build_plan
from search_index.query_syntax import parse_query
from tests.contract.conftest import T0, _connect, _postgres_answers, _postgres_url, doc


@pytest.fixture
async def backend() -> AsyncIterator[PostgresFTSBackend]:
    url, explicit = _postgres_url()
    problem = await _postgres_answers(url)
    if problem and explicit:
        pytest.fail(f"PostgreSQL at {url} does not answer: {problem}")
    if problem:
        pytest.skip(f"PostgreSQL not configured: {problem}")
    client = await _connect(url.replace("postgresql://", "postgres://", 1))
    engine = PostgresFTSBackend(client, table_prefix=f"pgfts_{secrets.token_hex(4)}_")
    try:
        await engine.ensure_index()
        yield engine
    finally:
        await client.execute_script(
            f"DROP TABLE IF EXISTS {engine.documents_table}, {engine.words_table}"
        )
        await Tortoise.close_connections()


async def search(engine: PostgresFTSBackend, text: str, **options: Any) -> SearchPage:
    options.setdefault("per_page", 50)
    return await engine.search(SearchQuery(text=text, **options))


async def ids(engine: PostgresFTSBackend, text: str, **options: Any) -> list[str]:
    return [hit.id for hit in (await search(engine, text, **options)).hits]


async def vocabulary(engine: PostgresFTSBackend) -> dict[str, int]:
    rows = await engine._client.execute_query_dict(
        f"SELECT word, documents FROM {engine.words_table}"
    )
    return {row["word"]: row["documents"] for row in rows}


async def analyse(engine: PostgresFTSBackend) -> None:
    await engine._client.execute_script(f"VACUUM ANALYZE {engine.documents_table}")


def many(count: int) -> list[SearchDoc]:
    """`count` posts of a hundred-odd words that all say "common"; every 1000th says "scarce"."""
    return [
        doc(f"post-{n}", "Re: question", " ".join([
            "common", "scarce" if n % 1000 == 1 else "plain",
            *(f"w{(n * 31 + i * 17) % 4000}" for i in range(120)),
        ]))
        for n in range(1, count + 1)
    ]


# -- query semantics --------------------------------------------------------------

WEB = [
    doc("post-1", "Re: a", "The tax bond rate was high."),
    doc("post-2", "Re: b", "A bond for the tax office."),
    doc("post-3", "Re: c", "Rate cuts, no bond at all."),
    doc("post-4", "Re: d", "Tax rate only."),
]


@pytest.mark.parametrize("text", [
    "bond ", "tax bond ", '"tax bond" ', "bond -rate ", '"bond rate" -tax ', "rate -tax -cuts ",
])
async def test_plain_queries_mean_what_websearch_to_tsquery_means(
    backend: PostgresFTSBackend, text: str
) -> None:
    # Short words and a closing space: no typo alternative, no prefix, no synonym.
    await backend.upsert(WEB)
    rows = await backend._client.execute_query_dict(
        f"SELECT id FROM {backend.documents_table} WHERE tsv @@ websearch_to_tsquery('simple', $1)",
        [text],
    )
    assert sorted(await ids(backend, text)) == sorted(row["id"] for row in rows)


@pytest.mark.parametrize("text", [
    "bond & council", "bond | tender", "!bond", "bond:*", "bond:AB", "'bond'", "bond <-> council",
    "bond <2> council", "\\'", "':* | '", "(((", "bond'' OR 1=1 --", "ǅemal", "café\u0301",
    "😀 bond", "x" * 150, "a" * 30 + " bond",
])
async def test_tsquery_syntax_in_a_query_is_only_text(
    backend: PostgresFTSBackend, text: str
) -> None:
    await backend.upsert([
        doc("post-1", "Re: bond", "The council bond."), doc("post-2", "Re: x", "Other."),
    ])
    page = await search(backend, text)
    assert page.total == len(page.hits)
    assert set(await ids(backend, text)) <= {"post-1"}


async def test_a_glossary_wording_is_indexed_as_its_groups_concept(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert([
        doc("post-1", "Re: pensions", "We joined the Local Government Pension Scheme."),
    ])
    rows = await backend._client.execute_query_dict(
        f"SELECT tsv::text AS tsv FROM {backend.documents_table}"
    )
    assert "'=lgps'" in rows[0]["tsv"]
    # Either wording is then found without checking word positions.
    for text in ("lgps", "local government pension scheme"):
        plan = build_plan(parse_query(text + " "), {})
        assert "'=lgps'" in plan.tsquery and "<->" not in plan.tsquery
        assert await ids(backend, text) == ["post-1"]


async def test_a_one_letter_last_word_is_not_a_prefix(backend: PostgresFTSBackend) -> None:
    await backend.upsert([doc("post-1", "Re: a", "bond c"), doc("post-2", "Re: b", "bond council")])
    assert await ids(backend, "bond c") == ["post-1"]
    assert await ids(backend, "bond co") == ["post-2"]


async def test_an_unknown_facet_or_filter_is_a_programming_error(
    backend: PostgresFTSBackend,
) -> None:
    with pytest.raises(ValueError):
        await search(backend, "bond", facets=("colour",))
    with pytest.raises(ValueError):
        await search(backend, "bond", filters={"colour": ("red",)})


async def test_an_unknown_solved_value_matches_nothing(backend: PostgresFTSBackend) -> None:
    await backend.upsert([doc("thread-1", "Bond", "bond", solved=True)])
    assert await ids(backend, "bond", filters={"solved": ("TRUE",)}) == ["thread-1"]
    assert await ids(backend, "bond", filters={"solved": ("maybe",)}) == []


# -- typos, suggestions and the vocabulary ---------------------------------------------


async def test_a_suggestion_never_reveals_a_word_only_hidden_documents_hold(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert([
        doc("thread-1", "TUPE questions", "Public notes."),
        doc("post-2", "Re: minutes", "Confidential minutes.", acl=("space:3",)),
    ])
    assert (await search(backend, "tpue")).did_you_mean == "tupe"
    page = await search(backend, "confidentail")  # one typo: it matches, but not for the public
    assert (page.total, page.did_you_mean) == (0, None)
    page = await search(backend, "cnofidential")  # the first letter kept: only a suggestion
    assert page.did_you_mean is None
    assert await ids(backend, "confidentail", principals=("public", "space:3")) == ["post-2"]


async def test_the_vocabulary_counts_documents_and_forgets_words_no_document_holds(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert([
        doc("post-1", "Re: a", "actuary bond"), doc("post-2", "Re: b", "bond bond"),
    ])
    words = await vocabulary(backend)
    assert (words["bond"], words["actuary"]) == (2, 1)
    await backend.upsert([doc("post-1", "Re: a", "trustee bond")])
    await backend.upsert([doc("post-1", "Re: a", "trustee bond")])  # idempotent
    words = await vocabulary(backend)
    assert "actuary" not in words and (words["bond"], words["trustee"]) == (2, 1)
    assert (await search(backend, "actuarx")).did_you_mean is None
    await backend.delete(["post-1", "post-2"])
    assert await vocabulary(backend) == {}
    await backend.upsert([doc("post-3", "Re: c", "bond")])
    await backend.reset()
    assert await vocabulary(backend) == {}


# -- plans: bounded work, whatever the word and the cached plans -----------------------


async def prepared(engine: PostgresFTSBackend, text: str, **options: Any) -> _Matches:
    """The statements of a search, as `search` prepares them."""
    return await engine._search.prepare(engine._client, checked(SearchQuery(text=text, **options)))


def literal(value: Any) -> str:
    if isinstance(value, list):
        value = "{" + ",".join(f'"{item}"' for item in value) + "}"
    return "'" + str(value).replace("'", "''") + "'"


async def explain(
    engine: PostgresFTSBackend, sql: str, values: list[Any], mode: str = "force_custom_plan"
) -> str:
    """The plan of `sql` prepared and run as a search does, in plan cache `mode`."""
    async with engine._client._in_transaction() as db:
        await db.execute_script(f"SET LOCAL plan_cache_mode = {mode}; PREPARE probe AS {sql}")
        rows = await db.execute_query_dict(
            f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE probe({', '.join(map(literal, values))})"
        )
        await db.execute_script("DEALLOCATE probe")
    return "\n".join(row["QUERY PLAN"] for row in rows)


def ran(plan: str, node: str) -> bool:
    """Whether a `node` of `plan` ran (rather than being planned and never executed)."""
    return any(node in line and "never executed" not in line for line in plan.splitlines())


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_rare_word_is_found_through_the_gin_index_and_a_common_one_by_walking_dates(
    backend: PostgresFTSBackend, mode: str
) -> None:
    await backend.upsert(many(3000))
    await analyse(backend)
    gin = f"Bitmap Index Scan on {backend.documents_table}_tsv"
    walk = f"Index Scan using {backend.documents_table}_created"
    found = await prepared(backend, "scarce ", facets=("kind", "tags"))
    plan = await explain(backend, *found.statement("relevance", 0, 20), mode)
    assert ran(plan, gin) and walk not in plan and "Seq Scan" not in plan
    found = await prepared(backend, "common ", facets=("kind", "tags"))
    plan = await explain(backend, *found.statement("relevance", 0, 20), mode)
    assert ran(plan, walk) and not ran(plan, gin) and "Seq Scan" not in plan
    # Only the newest WALK_LIMIT + 1 matches were read, not the 3,000.
    assert f"rows={postgres_search.WALK_LIMIT + 1} loops=1" in plan
    # They were ranked as they were met: only the page's 20 hits are read again.
    reread = [line for line in plan.splitlines() if ran(line, "Tid Scan")]
    assert reread and all("loops=20)" in line for line in reread)
    # How far the walk went is counted in the date index, however the planner
    # estimates a row comparison on an analysed table.
    assert ran(plan, f"Index Only Scan using {backend.documents_table}_created")


async def test_after_optimize_how_far_a_walk_went_is_counted_in_the_index_alone(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert(many(3000))
    await backend.upsert(many(3000))  # a reindex: every row rewritten
    await backend.optimize()
    found = await prepared(backend, "common ", facets=("kind",))
    plan = await explain(backend, *found.statement("relevance", 0, 20))
    count = plan.split(f"Index Only Scan using {backend.documents_table}_created")[1]
    assert "Heap Fetches: 0" in count.splitlines()[2]
    assert (await search(backend, "common")).total > 2000


async def test_how_far_a_walk_may_go_is_written_in_its_statement(
    backend: PostgresFTSBackend,
) -> None:
    # A plan PostgreSQL keeps for every word (a generic plan) must still know how
    # far the walk goes: else it may read the whole table once that is large.
    await backend.upsert(many(3000))
    await analyse(backend)
    found = await prepared(backend, "common ")
    sql, values = found.statement("relevance", 0, 20)
    assert found.walk and found.walk & (found.walk - 1) == 0  # few different statements
    assert f"LIMIT {found.walk}\n" in sql and found.walk not in values


async def test_a_statements_text_is_kept_by_shape_and_its_values_are_each_searchs_own(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert(many(3000))
    await analyse(backend)
    postgres_search._TEXTS.clear()
    echo = Alongside("SELECT 1, 2, 3, $1::text, 5", ("stamp",))

    async def statement(text: str, kind: str) -> tuple[str, list[Any]]:
        found = await prepared(backend, text, facets=("kind", "tags"), filters={"kind": (kind,)},
                               principals=["public"])
        return found.statement("relevance", 0, 20, echo)

    built = await statement("common plain", "thread")
    kept = await statement("plain common", "post")
    # The same shape: the text built once, each search's words and filter its own.
    assert kept[0] is built[0] and len(postgres_search._TEXTS) == 1
    assert kept[1] != built[1] and ["post"] in kept[1] and kept[1][-1] == "stamp"
    postgres_search._TEXTS.clear()
    assert await statement("plain common", "post") == kept  # as if built afresh
    # Another shape (a rare word: the GIN index) is another text.
    assert (await statement("scarce", "post"))[0] != kept[0]
    # And a kept text finds what its own values ask for.
    for _ in range(2):
        assert (await search(backend, "plain common", filters={"kind": ["post"]})).total > 2000
        assert (await search(backend, "plain common", filters={"kind": ["thread"]})).total == 0


async def test_a_walk_that_meets_too_few_matches_reads_the_gin_index_instead(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert(many(3000))
    await analyse(backend)
    # Exclusions do not lower the estimate: the walk is chosen, and finds 3 matches.
    found = await prepared(backend, "common -plain")
    assert found.walk
    statement = found.statement("relevance", 0, 20)
    result = found.read(await backend._client.execute_query_dict(*statement))
    assert result.walked_too_few == ["matches"]
    # The search then runs again, through the GIN index.
    found.read_every_match(result.walked_too_few)
    plan = await explain(backend, *found.statement("relevance", 0, 20))
    assert ran(plan, f"Bitmap Index Scan on {backend.documents_table}_tsv")
    page = await search(backend, "common -plain")
    assert sorted(hit.id for hit in page.hits) == ["post-1", "post-1001", "post-2001"]
    assert (page.total, page.total_is_exact) == (3, True)


async def test_only_the_sets_of_matches_whose_walk_fell_short_are_read_again(
    backend: PostgresFTSBackend,
) -> None:
    docs = many(3000)
    for n in (10, 1500, 2990):  # three questions among 3,000 posts saying "common"
        docs[n - 1] = replace(docs[n - 1], kind="question")
    await backend.upsert(docs)
    await analyse(backend)
    found = await prepared(
        backend, "common ", facets=("kind",), filters={"kind": ("question",)}
    )
    result = found.read(
        await backend._client.execute_query_dict(*found.statement("relevance", 0, 20))
    )
    # The questions are too few for a walk; every kind (the kind facet's own
    # counts, which ignore the kind filter) is not.
    assert result.walked_too_few == ["matches"]
    found.read_every_match(result.walked_too_few)
    plan = await explain(backend, *found.statement("relevance", 0, 20))
    assert ran(plan, f"Bitmap Index Scan on {backend.documents_table}_tsv")
    assert ran(plan, f"Index Scan using {backend.documents_table}_created")
    page = await search(
        backend, "common", facets=("kind",), filters={"kind": ("question",)}
    )
    assert sorted(hit.id for hit in page.hits) == ["post-10", "post-1500", "post-2990"]
    assert (page.total, page.total_is_exact) == (3, True)
    kinds = page.facets["kind"]
    assert 2700 <= kinds["post"] <= 3300 and kinds["question"] >= 1


async def test_totals_are_exact_up_to_the_limit_and_beyond_when_every_match_was_read(
    backend: PostgresFTSBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.upsert(many(3000))
    await analyse(backend)
    page = await search(backend, "scarce", facets=("kind",))
    assert (page.total, page.total_is_exact, page.facets) == (3, True, {"kind": {"post": 3}})
    # The walk reads the newest 251 of 3,000: an estimate, and facets scaled to it.
    page = await search(backend, "common", facets=("kind",))
    assert not page.total_is_exact and 2700 <= page.total <= 3300
    assert page.facets == {"kind": {"post": page.total}}
    assert len(page.hits) == 50
    # Through the GIN index every match is read: exact whatever their number.
    monkeypatch.setattr(postgres_search, "WALK_COST", 10**9)
    page = await search(backend, "common", facets=("kind",))
    assert (page.total, page.total_is_exact, page.facets) == (3000, True, {"kind": {"post": 3000}})


@pytest.mark.parametrize(("count_limit", "walk_limit"), [(500, 250), (5, 5), (8, 4)])
async def test_both_plans_for_a_page_give_the_same_results(
    backend: PostgresFTSBackend, monkeypatch: pytest.MonkeyPatch, count_limit: int,
    walk_limit: int,
) -> None:
    await backend.upsert([
        doc(f"post-{n}", "Re: bond", "bond " * (n % 4 + 1), created_at=T0 + timedelta(hours=n % 7))
        for n in range(1, 30)
    ])
    await analyse(backend)
    monkeypatch.setattr(postgres_search, "COUNT_LIMIT", count_limit)
    monkeypatch.setattr(postgres_search, "WALK_LIMIT", walk_limit)
    monkeypatch.setattr(postgres_search, "RANK_LIMIT", min(walk_limit, 3))
    results = []
    for walk_cost in (0, 10**9):  # always walk the date index; never
        monkeypatch.setattr(postgres_search, "WALK_COST", walk_cost)
        results.append([
            await ids(backend, "bond", sort=sort, page=page, per_page=7)
            for sort in ("newest", "relevance") for page in (1, 2, 5)
        ])
    assert results[0] == results[1]
    assert sorted(sum(results[0][3:5], [])) == sorted(sum(results[0][0:2], []))


@pytest.mark.parametrize("count_limit", [500, 6])
async def test_pages_past_the_ranked_matches_continue_without_repeats_or_gaps(
    backend: PostgresFTSBackend, monkeypatch: pytest.MonkeyPatch, count_limit: int
) -> None:
    monkeypatch.setattr(postgres_search, "RANK_LIMIT", 4)
    monkeypatch.setattr(postgres_search, "COUNT_LIMIT", count_limit)
    await backend.upsert([
        doc(f"post-{n}", "Re: bond", "bond " * (n % 3 + 1)) for n in range(1, 11)
    ])
    pages = [await ids(backend, "bond", page=p, per_page=3) for p in range(1, 6)]
    seen = [hit for page in pages for hit in page]
    assert sorted(seen) == sorted(f"post-{n}" for n in range(1, 11))
    assert [len(page) for page in pages] == [3, 3, 3, 1, 0]
    # Past the ranked four, the newest first.
    assert seen[4:] == ["post-6", "post-5", "post-4", "post-3", "post-2", "post-1"]


@pytest.mark.parametrize("count_limit", [20, 4])
async def test_facet_counts_of_a_filtered_facet_come_from_their_own_matches(
    backend: PostgresFTSBackend, monkeypatch: pytest.MonkeyPatch, count_limit: int
) -> None:
    monkeypatch.setattr(postgres_search, "COUNT_LIMIT", count_limit)
    await backend.upsert([
        doc(f"{'thread' if n % 3 else 'post'}-{n}", "Bond", "bond", topic=f"t{n % 2}")
        for n in range(1, 13)
    ])
    page = await search(
        backend, "bond", facets=("kind", "topic"), filters={"kind": ("thread",)}
    )
    assert (page.total, page.total_is_exact) == (8, True)
    # Kinds ignore the kind filter (12 matches); topics follow it (8). Past
    # COUNT_LIMIT, counts are the newest matches' scaled to the total.
    assert sum(page.facets["kind"].values()) == 12
    assert sum(page.facets["topic"].values()) == 8
    if count_limit == 20:
        assert page.facets == {"kind": {"thread": 8, "post": 4}, "topic": {"t0": 4, "t1": 4}}


# -- the vocabulary's memory -------------------------------------------------------------


def _another_process(backend: PostgresFTSBackend) -> tuple[list[float], PostgresFTSBackend]:
    """A clock for `backend`'s remembered words, and a second backend on the same index
    (as another web process has)."""
    now = [1000.0]
    backend._vocabulary._clock = lambda: now[0]
    other = PostgresFTSBackend(
        backend._client, table_prefix=backend.documents_table.removesuffix("documents")
    )
    return now, other


async def test_words_another_process_indexes_become_typo_alternatives_within_the_cache_time(
    backend: PostgresFTSBackend,
) -> None:
    now, other = _another_process(backend)
    await backend.upsert([doc("post-1", "Re: a", "bond")])
    assert await ids(backend, "actuarz ") == []
    await other.upsert([doc("post-2", "Re: b", "actuary")])
    assert await ids(backend, "actuarz ") == []  # remembered
    assert await ids(backend, "actuary ") == ["post-2"]  # exact words never wait
    now[0] += postgres_vocabulary.CACHE_SECONDS
    assert await ids(backend, "actuarz ") == ["post-2"]
    await other.delete(["post-2"])
    await backend.upsert([doc("post-3", "Re: c", "actuary")])  # this process: at once
    assert await ids(backend, "actuarz ") == ["post-3"]


async def test_the_word_being_typed_marks_the_indexed_words_it_starts(
    backend: PostgresFTSBackend,
) -> None:
    now, other = _another_process(backend)
    await backend.upsert([doc("post-1", "Pensions", "Our pension and pensioners.")])
    [hit] = (await search(backend, "pens")).hits
    assert (hit.title, hit.snippet) == (
        "<mark>Pensions</mark>", "Our <mark>pension</mark> and <mark>pensioners</mark>."
    )
    # A word another process has just indexed is found at once, marked once the
    # remembered completions expire.
    await other.upsert([doc("post-2", "Re: p", "A pensionable salary.")])
    page = await search(backend, "pens")
    assert {h.id for h in page.hits} == {"post-1", "post-2"}
    now[0] += postgres_vocabulary.CACHE_SECONDS
    page = await search(backend, "pens")
    assert "<mark>pensionable</mark>" in next(h for h in page.hits if h.id == "post-2").snippet


# -- storage ------------------------------------------------------------------------------


async def test_only_the_body_may_go_out_of_line_and_older_tables_are_converted(
    backend: PostgresFTSBackend,
) -> None:
    async def storage() -> dict[str, str]:
        rows = await backend._client.execute_query_dict(
            "SELECT attname::text AS name, attstorage::text AS storage FROM pg_attribute "
            f"WHERE attrelid = '{backend.documents_table}'::regclass AND attnum > 0 "
            "AND attlen = -1"  # variable length: the columns that can go out of line
        )
        return {row["name"]: row["storage"] for row in rows}

    in_row = {name: "m" for name in postgres_fts._IN_ROW}
    assert await storage() == {**in_row, "body": "e"}
    # A table made when the tsvector, the ACL or the facets could go out of line.
    await backend._client.execute_script(
        f"ALTER TABLE {backend.documents_table} ALTER COLUMN tsv SET STORAGE EXTERNAL, "
        "ALTER COLUMN acl SET STORAGE EXTENDED, ALTER COLUMN topic SET STORAGE EXTENDED, "
        "SET (toast_tuple_target = 512)"
    )
    await backend.ensure_index()
    assert await storage() == {**in_row, "body": "e"}
    await backend.upsert([doc("post-1", "Re: a", "bond")])
    assert await ids(backend, "bond") == ["post-1"]


# -- documents -------------------------------------------------------------------------


async def test_long_and_odd_documents_are_indexed(backend: PostgresFTSBackend) -> None:
    long_body = "filler " * 28_500 + "needle " + "padding " * 100 + "hidden"
    await backend.upsert([
        doc("post-1", "Re: long", long_body),
        doc("post-2", "Re: odd\x00", "A " + "z" * 300 + " blob and a NUL\x00 inside, ünïcödé."),
    ])
    assert await ids(backend, "needle") == ["post-1"]  # past the last position kept
    assert await ids(backend, "hidden") == []  # past the text indexed
    assert await ids(backend, "unicode") == ["post-2"]
    assert await ids(backend, "blob") == ["post-2"]


async def test_ensure_index_is_safe_to_run_at_once_from_several_processes(
    backend: PostgresFTSBackend,
) -> None:
    prefix = backend.documents_table.removesuffix("documents")
    others = [PostgresFTSBackend(backend._client, table_prefix=prefix) for _ in range(3)]
    await asyncio.gather(*(engine.ensure_index() for engine in others))
    await backend.upsert([doc("post-1", "Re: a", "bond")])
    assert await ids(backend, "bond") == ["post-1"]


def test_a_table_prefix_must_be_a_plain_name() -> None:
    with pytest.raises(ValueError):
        PostgresFTSBackend(None, table_prefix="x; DROP TABLE y; --")  # type: ignore[arg-type]


# -- a query alongside ------------------------------------------------------------------

# Rows about the page: each document id with its number, and the parameters as passed.
ECHO = Alongside(
    "SELECT substr(i, 6)::bigint, $1::bigint, NULL, i, $2::text FROM unnest({ids}) i",
    (7, "seven"),
)


async def test_a_query_alongside_is_answered_about_exactly_the_page_found(
    backend: PostgresFTSBackend,
) -> None:
    await backend.upsert([doc(f"post-{n}", "Re: bond", "bond " * n) for n in range(1, 8)])
    for options in ({"sort": "relevance"}, {"sort": "newest"}, {"page": 2}):
        page = await backend.search(SearchQuery(text="bond", per_page=3, **options), ECHO)
        assert page.alongside is not None
        assert sorted(row[3] for row in page.alongside) == sorted(hit.id for hit in page.hits)
        # Its $1 and $2 are its own values, not the search's first parameters.
        assert all((row[1], row[2], row[4]) == (7, None, "seven") for row in page.alongside)
        assert all(int(row[3].removeprefix("post-")) == row[0] for row in page.alongside)
    # A page past the matches: rows about no document.
    page = await backend.search(SearchQuery(text="bond", page=9, per_page=3), ECHO)
    assert (page.hits, page.alongside) == ([], ())


async def test_no_rows_alongside_when_did_you_mean_looks_further(
    backend: PostgresFTSBackend,
) -> None:
    # Its look-ups come after the statement: the application asks its query last, itself.
    await backend.upsert([doc("post-1", "Re: bond", "The pension bond was renewed.")])
    page = await backend.search(SearchQuery(text="pensoin"), ECHO)
    assert page.hits and page.alongside is not None  # a typo alternative: found
    page = await backend.search(SearchQuery(text="zeppelin"), ECHO)
    assert (page.hits, page.alongside) == ([], None)


async def test_a_query_alongside_follows_a_search_run_again(backend: PostgresFTSBackend) -> None:
    await backend.upsert(many(3000))
    await analyse(backend)
    # The walk meets 3 matches: the search runs again through the GIN index.
    page = await backend.search(SearchQuery(text="common -plain"), ECHO)
    assert page.alongside is not None
    assert sorted(row[3] for row in page.alongside) == ["post-1", "post-1001", "post-2001"]


async def test_the_longest_search_statement_is_kept_prepared(backend: PostgresFTSBackend) -> None:
    # Every facet filtered (ten values each, as many as a results page passes on),
    # every facet counted, walking, with the results page's check of its hits.
    from forum.postgres_engine import MAX_CACHEABLE_STATEMENT
    from forum.search.services import _ALONGSIDE_LIVE_POSTS

    await backend.upsert(many(3000))
    await analyse(backend)
    values = [f"value-{n}" for n in range(10)]
    filters = {name: tuple(values) for name in FACETS if name != "solved"}
    found = await prepared(backend, "common ", facets=FACETS,
                           filters={**filters, "solved": ("true", "false")})
    assert found.walk
    sql, _ = found.statement("relevance", 0, 10, Alongside(_ALONGSIDE_LIVE_POSTS, ([],)))
    assert 15_360 < len(sql) < MAX_CACHEABLE_STATEMENT / 2


async def test_no_rows_alongside_for_a_page_beyond_the_statements_matches(
    backend: PostgresFTSBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its hits are read by a statement of their own: the rows would be about others.
    monkeypatch.setattr(postgres_search, "COUNT_LIMIT", 4)
    await backend.upsert([doc(f"post-{n}", "Re: bond", "bond") for n in range(1, 11)])
    page = await backend.search(SearchQuery(text="bond", page=2, per_page=3), ECHO)
    assert len(page.hits) == 3 and page.alongside is None
    assert (await backend.search(SearchQuery(text="bond"))).alongside is None  # not asked


# -- failures --------------------------------------------------------------------------


async def test_a_database_failure_is_a_search_error(backend: PostgresFTSBackend) -> None:
    missing = PostgresFTSBackend(backend._client, table_prefix="pgfts_never_created_")
    with pytest.raises(SearchError):
        await missing.search(SearchQuery(text="bond"))
    with pytest.raises(SearchError):
        await missing.upsert([doc("post-1", "Re: a", "bond")])


async def test_an_unreachable_database_is_reported_unavailable() -> None:
    client = await _connect("postgres://postgres@127.0.0.1:1/test")
    try:
        with pytest.raises(BackendUnavailable):
            await PostgresFTSBackend(client).search(SearchQuery(text="bond"))
    finally:
        await Tortoise.close_connections()
