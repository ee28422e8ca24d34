"""The search contract: what every backend (SQLite FTS5, PostgreSQL, Meilisearch) does.

Facet convention: the counts of a facet follow the query, the ACL and the
filters on every *other* facet, but not its own filter (so a list of topics
still shows the other topics' counts once one is chosen).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from search_index.backend import (
    MAX_QUERY_LENGTH,
    DocumentRejected,
    SearchBackend,
    SearchPage,
    SearchQuery,
)
from tests.contract.conftest import T0, doc


async def search(backend: SearchBackend, text: str, **options: Any) -> SearchPage:
    options.setdefault("per_page", 50)
    return await backend.search(SearchQuery(text=text, **options))


async def found(backend: SearchBackend, text: str, **options: Any) -> list[str]:
    """The ids of the hits for `text`, in order."""
    return [hit.id for hit in (await search(backend, text, **options)).hits]


PENSIONS = [
    doc("thread-1", "Joining the pension scheme", "Our actuary priced the pension bond."),
    doc("thread-2", "Procurement timetable", "The procurement took nine months."),
    doc("post-3", "Re: staff", "A tender bond was demanded by the council."),
    doc("post-4", "Re: governance", "The bond came back once the council relented."),
]


# -- words ----------------------------------------------------------------------


async def test_an_exact_word_finds_the_documents_containing_it(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert sorted(await found(backend, "actuary")) == ["thread-1"]
    assert sorted(await found(backend, "council")) == ["post-3", "post-4"]


async def test_case_does_not_matter(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "ACTUARY") == ["thread-1"]


async def test_the_last_word_matches_as_a_prefix(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "procure") == ["thread-2"]
    assert await found(backend, "nine mon") == ["thread-2"]


async def test_only_the_last_word_matches_as_a_prefix(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "procurement tim") == ["thread-2"]
    assert await found(backend, "tim procurement") == []


async def test_a_word_with_one_typo_still_matches(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "actuarx") == ["thread-1"]


async def test_a_long_word_with_two_typos_still_matches(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "prokurememt") == ["thread-2"]


async def test_a_word_under_nine_letters_does_not_tolerate_two_typos(
    backend: SearchBackend,
) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "actuxrx") == []


async def test_a_word_under_five_letters_tolerates_no_typo(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "bund") == []


async def test_a_typo_in_the_first_letter_is_not_tolerated(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "bctuary") == []


async def test_exact_matches_rank_above_matches_that_need_a_typo(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("post-1", "Re: question", "We asked the actuarx, as the letter spelled it."),
        doc("post-2", "Re: question", "We asked the actuary about it."),
    ])
    assert await found(backend, "actuary") == ["post-2", "post-1"]


async def test_diacritics_are_ignored_in_documents_and_queries(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("thread-1", "Café network", "A naïve coöperative question."),
        doc("thread-2", "Cafe meeting", "Plain spelling."),
    ])
    assert sorted(await found(backend, "cafe")) == ["thread-1", "thread-2"]
    assert sorted(await found(backend, "café")) == ["thread-1", "thread-2"]
    assert await found(backend, "naive") == ["thread-1"]


async def test_every_word_must_match(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "tender council") == ["post-3"]
    assert await found(backend, "actuary council") == []


async def test_a_quoted_phrase_matches_its_words_in_order_only(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("post-1", "Re: bonds", "The tender bond was ten percent."),
        doc("post-2", "Re: bonds", "The bond for the tender was returned."),
    ])
    assert await found(backend, '"tender bond"') == ["post-1"]
    assert sorted(await found(backend, "tender bond")) == ["post-1", "post-2"]


async def test_a_minus_word_excludes_the_documents_containing_it(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    assert await found(backend, "council -tender") == ["post-4"]


async def test_a_title_match_outranks_a_body_match(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("post-1", "Re: governance", "Somebody mentioned mentoring once in passing here."),
        doc("thread-2", "Mentoring new directors", "How did you find people to help?"),
        doc("post-3", "Re: finance", "Nothing about it at all."),
    ])
    assert await found(backend, "mentoring") == ["thread-2", "post-1"]


async def test_a_tag_match_outranks_a_body_match(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("post-1", "Re: finance", "We had help from a cooperation officer at the council."),
        doc("thread-2", "Finance help", "Who helped you?", tags=("coöpération", "finance")),
    ])
    assert await found(backend, "cooperation") == ["thread-2", "post-1"]
    assert await found(backend, "help", filters={"tags": ("coöpération",)}) == ["thread-2"]


# -- the glossary ---------------------------------------------------------------

SYNONYMS = [
    ("lgps", "We joined the Local Government Pension Scheme last year."),
    ("local government pension scheme", "Our LGPS admission went smoothly."),
    ("tupe", "The transfer of undertakings covered every member of staff."),
    ("transfer of undertakings", "TUPE applied to all forty staff."),
    ("pcg", "The council asked for a parent company guarantee."),
    ("parent company guarantee", "We could not provide a PCG as a new mutual."),
    ("employee ownership trust", "An EOT now holds the shares."),
    ("cic", "We registered as a community interest company."),
]


@pytest.mark.parametrize(("query", "body"), SYNONYMS, ids=[q for q, _ in SYNONYMS])
async def test_either_wording_of_a_glossary_term_finds_the_other(
    backend: SearchBackend, query: str, body: str
) -> None:
    await backend.upsert([
        doc("post-1", "Re: question", body), doc("post-2", "Re: other", "Unrelated."),
    ])
    assert await found(backend, query) == ["post-1"]


# -- filters and facets ---------------------------------------------------------

CATALOGUE = [
    doc("thread-1", "Pension advice", "Pension question one.", topic="tupe-pensions",
        tags=("lgps", "actuary"), stage="business-case", sector="health", solved=True),
    doc("thread-2", "Pension bond", "Pension question two.", topic="tupe-pensions",
        tags=("lgps",), stage="legal-set-up", sector="youth", solved=False),
    doc("post-3", "Re: Pension bond", "Pension answer three.", topic="tupe-pensions",
        tags=("lgps",), stage="legal-set-up", sector="youth"),
    doc("thread-4", "Pension in a tender", "Pension question four.", topic="procurement",
        tags=("tender-bond",), stage="first-re-tender", sector="health", solved=True),
    doc("playbook-5", "Pension playbook", "Pension steps five.", topic="procurement",
        tags=("lgps", "tender-bond"), stage="business-case", sector="care"),
]


async def test_a_filter_keeps_only_matching_documents(backend: SearchBackend) -> None:
    await backend.upsert(CATALOGUE)
    kind = await found(backend, "pension", filters={"kind": ("thread",)})
    assert sorted(kind) == ["thread-1", "thread-2", "thread-4"]
    assert sorted(await found(backend, "pension", filters={"solved": ("true",)})) == [
        "thread-1", "thread-4",
    ]
    assert sorted(await found(backend, "pension", filters={"tags": ("tender-bond",)})) == [
        "playbook-5", "thread-4",
    ]


async def test_values_of_one_filter_are_alternatives(backend: SearchBackend) -> None:
    await backend.upsert(CATALOGUE)
    hits = await found(backend, "pension", filters={"kind": ("post", "playbook")})
    assert sorted(hits) == ["playbook-5", "post-3"]
    hits = await found(backend, "pension", filters={"tags": ("actuary", "tender-bond")})
    assert sorted(hits) == ["playbook-5", "thread-1", "thread-4"]


async def test_filters_on_different_facets_all_apply(backend: SearchBackend) -> None:
    await backend.upsert(CATALOGUE)
    filters = {"topic": ("tupe-pensions",), "stage": ("legal-set-up", "business-case"),
               "kind": ("thread",)}
    assert sorted(await found(backend, "pension", filters=filters)) == ["thread-1", "thread-2"]
    filters = {"sector": ("health",), "solved": ("false",)}
    assert await found(backend, "pension", filters=filters) == []


async def test_facet_counts_follow_the_query(backend: SearchBackend) -> None:
    await backend.upsert(CATALOGUE)
    page = await search(backend, "question", facets=("kind", "topic", "tags", "solved"))
    assert page.facets["kind"] == {"thread": 3}
    assert page.facets["topic"] == {"tupe-pensions": 2, "procurement": 1}
    assert page.facets["tags"] == {"lgps": 2, "actuary": 1, "tender-bond": 1}
    assert page.facets["solved"] == {"true": 2, "false": 1}


async def test_facet_counts_follow_the_other_facets_filters_but_not_their_own(
    backend: SearchBackend,
) -> None:
    await backend.upsert(CATALOGUE)
    page = await search(
        backend, "pension", facets=("kind", "topic", "sector"),
        filters={"topic": ("procurement",), "kind": ("thread", "playbook")},
    )
    assert page.total == 2
    assert page.facets["topic"] == {"tupe-pensions": 2, "procurement": 2}
    assert page.facets["kind"] == {"thread": 1, "playbook": 1}
    assert page.facets["sector"] == {"health": 1, "care": 1}


# -- who sees what --------------------------------------------------------------

PRIVATE = [
    doc("thread-1", "Pension worries", "Public pension question."),
    doc("post-2", "Pension worries", "Pension detail only the space sees.", acl=("space:3",)),
    doc("post-3", "Pension worries", "Pension note for one member.", acl=("user:42",),
        topic="private-topic"),
]


async def test_a_document_the_searcher_may_not_see_is_never_returned(
    backend: SearchBackend,
) -> None:
    await backend.upsert(PRIVATE)
    page = await search(backend, "pension", principals=("public",))
    assert [hit.id for hit in page.hits] == ["thread-1"]
    assert page.total == 1
    assert await found(backend, "member", principals=("public", "user:7")) == []


async def test_a_document_shared_with_any_of_the_searchers_principals_is_returned(
    backend: SearchBackend,
) -> None:
    await backend.upsert(PRIVATE)
    hits = await found(backend, "pension", principals=("public", "space:3", "user:42"))
    assert sorted(hits) == ["post-2", "post-3", "thread-1"]
    assert await found(backend, "member", principals=("user:42",)) == ["post-3"]


async def test_facet_counts_never_count_documents_the_searcher_may_not_see(
    backend: SearchBackend,
) -> None:
    await backend.upsert(PRIVATE)
    page = await search(backend, "pension", principals=("public",), facets=("kind", "topic"))
    assert page.facets["kind"] == {"thread": 1}
    assert "private-topic" not in page.facets.get("topic", {})


# -- writes ---------------------------------------------------------------------


async def test_a_deleted_document_is_gone(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    await backend.delete(["post-3"])
    assert await found(backend, "council") == ["post-4"]
    assert "post-3" not in await backend.ids()


async def test_upserting_again_replaces_the_document(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    edited = doc("thread-1", "Joining the pension scheme", "Rewritten by the mentor.", version=2)
    await backend.upsert([edited])
    await backend.upsert([edited])
    assert await found(backend, "actuary") == []
    assert await found(backend, "rewritten") == ["thread-1"]
    assert await found(backend, "joining") == ["thread-1"]
    assert (await backend.ids())["thread-1"] == 2


async def test_deleting_twice_or_deleting_unknown_ids_is_harmless(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    await backend.delete(["post-3", "post-999"])
    await backend.delete(["post-3"])
    await backend.delete([])
    assert sorted(await backend.ids()) == ["post-4", "thread-1", "thread-2"]


async def test_ids_lists_every_document_with_its_version(backend: SearchBackend) -> None:
    assert await backend.ids() == {}
    await backend.upsert([
        doc("thread-1", "One", "a", version=3), doc("post-2", "Two", "b", version=7),
    ])
    assert await backend.ids() == {"thread-1": 3, "post-2": 7}


async def test_reset_removes_every_document_and_the_index_still_works(
    backend: SearchBackend,
) -> None:
    await backend.upsert(PENSIONS)
    await backend.reset()
    assert await backend.ids() == {}
    assert await found(backend, "council") == []
    await backend.upsert([doc("thread-9", "After the reset", "Council again.")])
    assert await found(backend, "council") == ["thread-9"]


async def test_a_document_with_an_invalid_id_is_rejected_by_name(backend: SearchBackend) -> None:
    with pytest.raises(DocumentRejected) as raised:
        await backend.upsert([
            doc("thread-1", "Fine", "ok"), doc("bad id!", "Bad", "no", kind="post"),
        ])
    assert raised.value.doc_id == "bad id!"
    await backend.upsert([doc("thread-1", "Fine", "ok")])
    assert await found(backend, "fine") == ["thread-1"]


# -- results --------------------------------------------------------------------


async def test_a_hit_carries_what_the_results_page_shows(backend: SearchBackend) -> None:
    await backend.upsert([doc(
        "post-5", "Re: pensions", "The actuary replied.", topic="tupe-pensions",
        author="amira", solved=True,
    )])
    [hit] = (await search(backend, "actuary")).hits
    assert (hit.id, hit.kind, hit.url, hit.topic, hit.author, hit.solved) == (
        "post-5", "post", "/t/5/post-5", "tupe-pensions", "amira", True,
    )
    assert hit.created_at == T0 + timedelta(minutes=5)


async def test_matched_words_are_marked_in_the_title_and_snippet(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("thread-1", "Pension bond advice", "Ask the actuary about the bond."),
    ])
    [hit] = (await search(backend, "bond")).hits
    assert "<mark>bond</mark>" in hit.title
    assert "<mark>bond</mark>" in hit.snippet
    assert "actuary" in hit.snippet


async def test_hostile_markup_comes_back_escaped_around_the_marks(backend: SearchBackend) -> None:
    await backend.upsert([doc(
        "post-1", '<script>alert("x")</script> bond <b>title</b>',
        'Body <img src=x onerror=alert(1)> about the bond & "quotes".',
    )])
    [hit] = (await search(backend, "bond")).hits
    for text in (hit.title, hit.snippet):
        without_marks = text.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in without_marks and ">" not in without_marks
        assert "<mark>bond</mark>" in text
    assert "&lt;script&gt;" in hit.title
    assert "&lt;img" in hit.snippet
    assert "&amp;" in hit.snippet


async def test_newest_sort_orders_by_creation_date(backend: SearchBackend) -> None:
    await backend.upsert([
        doc("post-1", "Re: bond", "bond", created_at=T0 + timedelta(days=2)),
        doc("post-2", "Re: bond", "bond bond bond", created_at=T0),
        doc("post-3", "Bond", "bond", created_at=T0 + timedelta(days=5)),
    ])
    assert await found(backend, "bond", sort="newest") == ["post-3", "post-1", "post-2"]


async def test_pages_split_the_results_and_a_page_past_the_end_is_empty(
    backend: SearchBackend,
) -> None:
    await backend.upsert([doc(f"post-{n}", "Re: bond", f"bond number {n}") for n in range(1, 8)])
    pages = [await search(backend, "bond", sort="newest", page=p, per_page=3) for p in (1, 2, 3, 4)]
    assert [[hit.id for hit in page.hits] for page in pages] == [
        ["post-7", "post-6", "post-5"], ["post-4", "post-3", "post-2"], ["post-1"], [],
    ]
    assert [page.total for page in pages] == [7, 7, 7, 7]
    assert [page.page for page in pages] == [1, 2, 3, 4]
    relevance = [await search(backend, "bond", page=p, per_page=3) for p in (1, 2, 3)]
    ids = [hit.id for page in relevance for hit in page.hits]
    assert sorted(ids) == sorted(f"post-{n}" for n in range(1, 8))


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
async def test_an_empty_query_returns_an_empty_page(backend: SearchBackend, text: str) -> None:
    await backend.upsert(PENSIONS)
    page = await search(backend, text)
    assert (page.hits, page.total) == ([], 0)


@pytest.mark.parametrize("text", ["!!!", "***", '"', '""', "- - -", "()", "...?", "&<>"])
async def test_a_query_of_punctuation_only_returns_an_empty_page(
    backend: SearchBackend, text: str
) -> None:
    await backend.upsert(PENSIONS)
    page = await search(backend, text)
    assert (page.hits, page.total) == ([], 0)


@pytest.mark.parametrize("text", [
    'bond"', '"bond', "bond*", "bond:", "title:bond", "(bond", "bond)", "bond AND", "OR bond",
    "NOT bond", "NEAR(bond council)", "^bond", "bond -", "{title}: bond", "bond'; DROP TABLE x;--",
    "bond\\", "bond\x00",
])
async def test_query_syntax_typed_by_a_user_never_raises(backend: SearchBackend, text: str) -> None:
    await backend.upsert(PENSIONS)
    page = await search(backend, text)
    assert page.total == len(page.hits)


async def test_an_overlong_query_is_cut_not_refused(backend: SearchBackend) -> None:
    await backend.upsert(PENSIONS)
    page = await search(backend, "council " + "x" * (MAX_QUERY_LENGTH * 5))
    assert [hit.id for hit in page.hits] == [] and page.total == 0
    page = await search(backend, "council " * MAX_QUERY_LENGTH)
    assert sorted(hit.id for hit in page.hits) == ["post-3", "post-4"]


async def test_a_close_spelling_is_suggested_when_nothing_matches(
    backend: SearchBackend, backend_name: str
) -> None:
    if backend_name == "meili":
        pytest.skip("Meilisearch offers no spelling suggestions")
    await backend.upsert(PENSIONS)
    page = await search(backend, "bnod")
    assert page.total == 0
    assert page.did_you_mean == "bond"
    assert (await search(backend, "council")).did_you_mean is None
