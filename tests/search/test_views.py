"""The search pages through HTTP, on the deployment's real backend."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from tortoise import connections
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.caching import stamps
from forum.db import write_transaction
from forum.search import log as search_log
from forum.search.loader import load_documents
from forum.search.models import SearchLog
from forum.threads import services
from forum.threads.models import Thread, Topic
from tests.database import is_postgres
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.web import sign_in

HTMX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


@pytest.fixture(autouse=True)
def search_log_written_on_demand(monkeypatch):
    """The search log writes its batch when `logged` asks (or the app stops), never on
    its timer in the middle of a request whose queries a test counts."""
    monkeypatch.setattr(search_log, "FLUSH_SECONDS", 3600)


async def drained(app) -> None:
    """Index whatever the outbox holds (tests run with search_indexing="off")."""
    await app.state.indexer.drain()


async def logged(app) -> list[SearchLog]:
    """The search log, once the app has written the searches it batches (forum.search.log)."""
    await app.state.search_log.flush()
    return await SearchLog.all().order_by("id")


def hit_titles(page: str) -> list[str]:
    """The visible titles of the hits, in order, without their <mark>s."""
    titles = re.findall(r'<a class="hit-title" href="[^"]*">(.*?)</a>', page, re.S)
    return [html.unescape(re.sub(r"</?mark>", "", t)) for t in titles]


def hit_links(page: str) -> list[str]:
    return re.findall(r'<a class="hit-title" href="([^"]*)"', page)


def next_links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a href="([^"]*)" rel="next"', page)]


def facet_count(page: str, name: str, label: str) -> int | None:
    """The count shown beside `label` in the `name` facet (None when absent)."""
    start = page.find(f'id="facet-{name}"')
    if start < 0:
        return None
    block = page[start: page.find("</section>", start)]
    match = re.search(rf">\s*(?:✓ )?{re.escape(label)} <span class=\"count\">\((\d+)\)</span>", block)
    return int(match.group(1)) if match else None


async def signed_in(client, role: Role = Role.MEMBER) -> User:
    user = await make_user(role=role)
    await sign_in(client, user)
    return user


async def ask(author: User, topic: Topic, title: str, body: str = "Any advice welcome.", *,
              kind: str = "question", tags: str = "", days_ago: float = 0) -> Thread:
    return await services.create_thread(
        actor=author, topic_slug=topic.slug, kind=kind, title=title, body=body, tags=tags,
        created_at=now() - timedelta(days=days_ago),
    )


@pytest.fixture
async def library(app):
    """A few threads about pensions in two topics, one solved, with replies; indexed."""
    asker = await make_user("asker")
    tupe = await make_topic("tupe-pensions", "TUPE & pensions")
    money = await make_topic("capital-finance", "Capital & finance")
    bond = await ask(asker, tupe, "Who underwrote your pension bond?", tags="lgps bonds", days_ago=3)
    answer = await make_reply(bond, body="An insurer wrote our pension bond.")
    await services.accept_answer(actor=asker, thread_id=bond.id, post_id=answer.id)
    comparable = await ask(asker, tupe, "Is a broadly comparable pension scheme enough?", tags="lgps",
                           days_ago=2)
    chat = await ask(asker, tupe, "Pension stories from the first year", kind="discussion", days_ago=1)
    loan = await ask(asker, money, "Using a pension fund loan for working capital", tags="loans")
    await drained(app)
    return dict(bond=bond, answer=answer, comparable=comparable, chat=chat, loan=loan,
                tupe=tupe, money=money, asker=asker)


# Results


async def test_results_show_highlighted_titles_kinds_topics_and_authors(client, library):
    response = await client.get("/search", params={"q": "bond"})

    assert response.status_code == 200
    page = response.text
    assert 'Who underwrote your pension <mark>bond</mark>?' in page
    assert f'href="{library["bond"].url}"' in page
    assert hit_links(page).count(f"/t/{library['bond'].id}/p/2") == 1  # the reply links to itself
    assert "Reply in <a href=\"" + library["bond"].url in page
    assert ">TUPE &amp; pensions</a>" in page
    assert 'by <a href="/u/asker">asker</a>' in page
    assert "✓ Solved" in page and "✓ Accepted answer" in page
    assert "2 results" in page


async def test_hostile_content_comes_back_escaped_with_highlights(app, client):
    author, topic = await make_user(), await make_topic()
    await ask(author, topic, "Zeppelin <script>alert(1)</script> question",
              body='<script>alert("body")</script> <img src=x onerror=alert(2)> zeppelin & co')
    await drained(app)

    page = (await client.get("/search", params={"q": "zeppelin"})).text

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<mark>Zeppelin</mark> &lt;script&gt;alert(1)&lt;/script&gt; question" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<mark>zeppelin</mark> &amp; co" in page


async def test_a_query_is_echoed_escaped(client, library):
    page = (await client.get("/search", params={"q": '<b>"pension"</b>'})).text

    assert "<b>" not in page.split("<main", 1)[1]
    assert "&lt;b&gt;" in page


async def test_filters_narrow_the_results_and_facets_show_counts(client, library):
    everything = (await client.get("/search", params={"q": "pension"})).text
    assert facet_count(everything, "topic", "TUPE &amp; pensions") == 4  # three threads, one reply
    assert facet_count(everything, "topic", "Capital &amp; finance") == 1
    assert facet_count(everything, "kind", "Questions") == 3
    assert facet_count(everything, "kind", "Discussions") == 1
    assert facet_count(everything, "kind", "Replies") == 1
    assert facet_count(everything, "tags", "lgps") == 3
    assert facet_count(everything, "solved", "Solved") == 2
    assert 'href="/search?q=pension&amp;topic=capital-finance"' in everything

    money = (await client.get("/search", params={"q": "pension", "topic": "capital-finance"})).text
    assert hit_titles(money) == ["Using a pension fund loan for working capital"]
    assert 'aria-label="Active filters"' in money
    assert facet_count(money, "kind", "Questions") == 1
    assert facet_count(money, "kind", "Discussions") is None

    discussions = (await client.get("/search", params={"q": "pension", "kind": "discussion"})).text
    assert hit_titles(discussions) == ["Pension stories from the first year"]

    tagged = (await client.get("/search", params={"q": "pension", "tags": "lgps", "kind": "question"})).text
    assert sorted(hit_titles(tagged)) == [
        "Is a broadly comparable pension scheme enough?", "Who underwrote your pension bond?",
    ]

    solved = (await client.get("/search", params={"q": "pension", "solved": "true"})).text
    assert sorted(hit_titles(solved)) == [
        "An insurer wrote our pension bond.", "Who underwrote your pension bond?",
    ]
    unsolved = (await client.get("/search", params={"q": "pension", "solved": "false", "kind": "question"})).text
    assert sorted(hit_titles(unsolved)) == [
        "Is a broadly comparable pension scheme enough?", "Using a pension fund loan for working capital",
    ]


async def test_a_renamed_topic_shows_its_new_name_on_the_very_next_search(client, library):
    before = (await client.get("/search", params={"q": "pension"})).text
    assert facet_count(before, "topic", "TUPE &amp; pensions") == 4

    async with write_transaction():
        await Topic.filter(id=library["tupe"].id).update(name="Transfers & pensions")
    after = (await client.get("/search", params={"q": "pension"})).text

    assert "TUPE &amp; pensions" not in after
    assert '<a href="/topics/tupe-pensions">Transfers &amp; pensions</a>' in after
    assert facet_count(after, "topic", "Transfers &amp; pensions") == 4


async def test_a_search_reads_the_stamps_it_depends_on_in_one_statement(client, library, count_queries):
    await client.get("/search", params={"q": "pension"})
    count_queries.statements.clear()

    await client.get("/search", params={"q": "bond"})

    assert len([s for s in count_queries.statements if "version_stamps" in s]) == 1


async def test_a_repeated_search_is_one_statement(client, library, count_queries):
    # The remembered answer's hits are checked, and the stamps it was filed under
    # confirmed, in one statement.
    await client.get("/search", params={"q": "pension"})
    count_queries.statements.clear()

    page = (await client.get("/search", params={"q": "pension"})).text

    assert len(hit_titles(page)) == 5
    assert count_queries.count == 1


async def test_a_search_never_asked_checks_its_hits_in_its_own_statement_on_postgresql(
    client, library, settings, count_queries
):
    # PostgreSQL's engine answers the page's check alongside its search; FTS5's runs
    # in the process, where a second statement costs no round trip.
    await client.get("/search", params={"q": "pension"})  # its words' vocabulary
    count_queries.statements.clear()

    page = (await client.get("/search", params={"q": "pension", "sort": "newest"})).text

    assert len(hit_titles(page)) == 5 and "Reply in" in page
    assert len([s for s in count_queries.statements if "version_stamps" in s]) == 1
    if is_postgres(settings.database_url):
        assert count_queries.count == 1


async def _moved_elsewhere(name: str) -> None:
    """Stamp `name` moved by another process (the worker, another web worker): this
    process is not told."""
    await connections.get("default").execute_query(
        f"UPDATE version_stamps SET version = version + 1 WHERE name = '{name}'"
    )


async def test_a_remembered_answer_is_not_served_once_another_process_changed_the_index(app, client, library):
    thread = await make_thread(title="A zeppelin for the pension fund")  # not indexed yet
    assert "Nothing found" in (await client.get("/search", params={"q": "zeppelin"})).text
    # Indexed by another process: the engine changes, and then the stamp.
    await app.state.search.backend.upsert(
        [doc for doc in (await load_documents([f"thread-{thread.id}"])).values() if doc]
    )
    await _moved_elsewhere(stamps.SEARCH_INDEX)

    page = (await client.get("/search", params={"q": "zeppelin"})).text

    assert hit_titles(page) == ["A zeppelin for the pension fund"]


async def test_a_topic_renamed_by_another_process_shows_its_new_name_on_the_next_search(client, library):
    await client.get("/search", params={"q": "pension"})
    await Topic.filter(id=library["tupe"].id).update(name="Transfers & pensions")
    await _moved_elsewhere(stamps.CONTENT)

    page = (await client.get("/search", params={"q": "pension"})).text

    assert '<a href="/topics/tupe-pensions">Transfers &amp; pensions</a>' in page


async def test_the_topics_are_not_read_again_while_nothing_changes(client, library, count_queries):
    await client.get("/search", params={"q": "pension"})
    count_queries.statements.clear()

    page = (await client.get("/search", params={"q": "bond", "topic": "tupe-pensions"})).text

    assert "TUPE &amp; pensions" in page
    assert not [s for s in count_queries.statements if 'FROM "topics"' in s]


async def test_a_filter_without_words_is_answered_and_not_logged(app, client, library):
    response = await client.get("/search", params={"q": "", "topic": "capital-finance"})

    assert response.status_code == 200
    assert "Add some words to search within these filters" in response.text
    assert await logged(app) == []


async def test_removing_a_filter_keeps_the_rest_of_the_search(client, library):
    page = (await client.get("/search", params={"q": "pension", "topic": "tupe-pensions", "kind": "question"})).text

    chips = re.findall(r'<a href="([^"]*)" class="filter-chip">', page)
    assert sorted(html.unescape(c) for c in chips) == [
        "/search?q=pension&kind=question", "/search?q=pension&topic=tupe-pensions",
    ]


async def test_newest_first_sorts_by_date(client, library):
    page = (await client.get("/search", params={"q": "pension", "sort": "newest", "kind": "question"})).text

    assert hit_titles(page) == [
        "Using a pension fund loan for working capital",
        "Is a broadly comparable pension scheme enough?",
        "Who underwrote your pension bond?",
    ]
    assert '<option value="newest" selected>' in page


async def test_an_unknown_sort_falls_back_to_relevance(client, library):
    response = await client.get("/search", params={"q": "pension", "sort": "loudest"})

    assert response.status_code == 200
    assert '<option value="relevance" selected>' in response.text


async def test_results_are_paginated(app, client):
    author, topic = await make_user(), await make_topic()
    for n in range(25):
        await ask(author, topic, f"Zeppelin question number {n}", days_ago=n)
    await drained(app)

    first = (await client.get("/search", params={"q": "zeppelin", "sort": "newest"})).text
    second = (await client.get("/search", params={"q": "zeppelin", "sort": "newest", "page": "2"})).text
    beyond = await client.get("/search", params={"q": "zeppelin", "page": "9"})

    third = (await client.get("/search", params={"q": "zeppelin", "sort": "newest", "page": "3"})).text
    assert "25 results" in first
    assert len(hit_titles(first)) == 10
    assert "/search?q=zeppelin&sort=newest&page=2" in next_links(first)
    assert hit_titles(second) == [f"Zeppelin question number {n}" for n in range(10, 20)]
    assert '<ol class="search-hits" start="11">' in second
    assert 'rel="prev"' in second and 'rel="next"' in second
    assert hit_titles(third) == [f"Zeppelin question number {n}" for n in range(20, 25)]
    assert 'rel="prev"' in third and 'rel="next"' not in third
    assert set(hit_titles(first)).isdisjoint(hit_titles(second))
    assert beyond.status_code == 200 and hit_titles(beyond.text) == []


async def test_the_empty_search_page_invites_a_query(app, client):
    response = await client.get("/search")

    assert response.status_code == 200
    assert "Type what you're looking for" in response.text
    assert '<form method="get" action="/search"' in response.text
    assert await logged(app) == []


async def test_no_results_suggest_asking_the_network(client, library):
    page = (await client.get("/search", params={"q": "zebra crossing"})).text

    assert "Nothing found for “zebra crossing”" in page
    assert '<a href="/new">Ask the network</a>' in page
    assert "Did you mean" not in page


async def test_no_results_with_filters_offer_to_search_without_them(client, library):
    page = (await client.get("/search", params={"q": "bond", "topic": "capital-finance"})).text

    assert "Nothing found" in page
    assert 'href="/search?q=bond">Search again without filters' in page


async def test_a_misspelt_search_asks_did_you_mean(client, library):
    page = (await client.get("/search", params={"q": "pemsiom"})).text

    assert "Nothing found" in page
    assert 'Did you mean <a href="/search?q=pension">pension</a>?' in page


async def test_an_htmx_search_returns_only_the_results_fragment(client, library):
    response = await client.get("/search", params={"q": "bond"}, headers=HTMX)

    assert response.status_code == 200
    assert "<html" not in response.text
    assert '<mark>bond</mark>' in response.text
    assert "HX-Request" in response.headers["vary"]


async def test_a_boosted_navigation_gets_the_whole_page(client, library):
    response = await client.get("/search", params={"q": "bond"}, headers=BOOSTED)

    assert "<html" in response.text
    assert '<mark>bond</mark>' in response.text


async def test_without_javascript_the_search_form_is_a_plain_get(client, library):
    page = (await client.get("/search", params={"q": "bond"})).text

    assert "<html" in page
    assert re.search(r'<form method="get" action="/search"[^>]*role="search"', page)
    assert '<input id="q" name="q" type="search" value="bond"' in page
    assert '<button type="submit" class="button">Search</button>' in page
    assert "<mark>bond</mark>" in page


async def test_a_deleted_thread_and_its_replies_never_show(app, client, library):
    moderator = await make_user(role=Role.MODERATOR)
    bond = library["bond"]

    await services.moderate_thread(actor=moderator, thread_id=bond.id, deleted=True)
    await drained(app)

    page = (await client.get("/search", params={"q": "bond"})).text
    assert hit_titles(page) == []
    assert "Nothing found" in page


async def test_a_deleted_thread_does_not_show_even_before_the_indexer_catches_up(app, client, library):
    moderator = await make_user(role=Role.MODERATOR)
    bond = library["bond"]

    await services.moderate_thread(actor=moderator, thread_id=bond.id, deleted=True)
    await services.delete_post(actor=await library["chat"].author, post_id=(await library["chat"].posts.all())[0].id)

    page = (await client.get("/search", params={"q": "pension"})).text
    assert sorted(hit_titles(page)) == [
        "Is a broadly comparable pension scheme enough?", "Using a pension fund loan for working capital",
    ]
    similar = (await client.get("/search/similar", params={"title": "Who underwrote your pension bond"})).text
    assert bond.url not in similar


async def test_a_deleted_reply_does_not_show_before_or_after_the_index_catches_up(app, client, library):
    await services.delete_post(actor=await library["answer"].author, post_id=library["answer"].id)

    before = (await client.get("/search", params={"q": "insurer"})).text
    await drained(app)
    after = (await client.get("/search", params={"q": "insurer"})).text

    assert hit_titles(before) == hit_titles(after) == []
    assert "Nothing found" in after


async def test_search_unavailable_is_a_calm_message(app, client):
    class Down:
        async def search(self, query):
            from search_index.backend import BackendUnavailable

            raise BackendUnavailable("down (test)")

    real, app.state.search = app.state.search, Down()
    try:
        response = await client.get("/search", params={"q": "bond"})
    finally:
        app.state.search = real

    assert response.status_code == 200
    assert "Search is unavailable for a moment" in response.text
    assert await logged(app) == []


# Logging what people look for


async def test_a_submitted_search_is_logged_normalised_with_nothing_personal(
    app, client, library
):
    await signed_in(client)

    await client.get("/search", params={"q": "  Pension   BOND "})

    rows = await logged(app)
    assert len(rows) == 1
    assert (rows[0].query, rows[0].results) == ("pension bond", 2)
    assert set(SearchLog._meta.fields_map) == {"id", "query", "results", "created_at"}


async def test_instant_searches_and_later_pages_are_not_logged(app, client, library):
    for text in ("p", "pe", "pen", "pension"):
        await client.get("/search", params={"q": text}, headers=HTMX)
    await client.get("/search", params={"q": "pension", "page": "2"})

    assert await logged(app) == []


async def test_search_gaps_lists_frequent_empty_searches_for_moderators(client, library):
    for text in ("zebra crossing", "Zebra  crossing", "unicorn", "zebra crossing", "pension"):
        await client.get("/search", params={"q": text})
    await signed_in(client, Role.MODERATOR)

    response = await client.get("/moderation/search-gaps")

    assert response.status_code == 200
    rows = re.findall(r"<tr><td><a href=\"[^\"]*\">([^<]*)</a></td><td>(\d+)</td></tr>", response.text)
    assert rows == [("zebra crossing", "3"), ("unicorn", "1")]


async def test_search_gaps_say_so_when_every_search_found_something(client, library):
    await client.get("/search", params={"q": "pension"})
    await signed_in(client, Role.MODERATOR)

    response = await client.get("/moderation/search-gaps")

    assert "No search has come back empty lately." in response.text


async def test_search_gaps_are_refused_to_members(client):
    await signed_in(client)

    response = await client.get("/moderation/search-gaps")

    assert response.status_code == 403


async def test_search_gaps_ask_anonymous_visitors_to_sign_in(client):
    response = await client.get("/moderation/search-gaps")

    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/moderation/search-gaps"


# Similar questions while asking


async def test_similar_questions_are_a_fragment_of_matching_threads(client, library):
    response = await client.get("/search/similar", params={"title": "Who will underwrite a pension bond"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Already asked?" in response.text
    assert f'href="{library["bond"].url}"' in response.text
    assert "✓ Solved" in response.text
    assert "/p/" not in response.text  # threads only, not replies


async def test_similar_questions_find_a_question_worded_differently(client, library):
    response = await client.get(
        "/search/similar", params={"title": "How do we get a pension bond underwritten?"}
    )

    assert f'href="{library["bond"].url}"' in response.text


async def test_similar_questions_wait_for_more_than_one_word(client, library):
    response = await client.get("/search/similar", params={"title": "pension"})

    assert response.status_code == 200
    assert response.text.strip() == ""


async def test_similar_questions_show_nothing_when_nothing_matches(client, library):
    response = await client.get("/search/similar", params={"title": "zebra crossing unicorn"})

    assert response.text.strip() == ""


# A fixed number of SQL queries


async def _queries(client, count_queries, params: dict[str, str], headers=None) -> int:
    count_queries.statements.clear()
    response = await client.get("/search", params=params, headers=headers or {})
    assert response.status_code == 200
    return count_queries.count


async def _zeppelins(app, how_many: int) -> None:
    author, topic = await make_user(), await make_topic()
    for n in range(how_many):
        thread = await ask(author, topic, f"Zeppelin question number {n}", tags="airships")
        await make_reply(thread, body=f"A zeppelin answer, number {n}.")
    await drained(app)


@pytest.mark.parametrize("signed", [False, True])
async def test_the_search_page_runs_a_fixed_number_of_queries(app, client, count_queries, signed):
    if signed:
        await signed_in(client)
    await _zeppelins(app, 2)
    searches = [
        {"q": "answer"}, {"q": "question"}, {"q": "zeppelin", "sort": "newest", "tags": "airships"},
        {"q": "nothing"}, {},
    ]
    few = [await _queries(client, count_queries, s) for s in searches]
    few_htmx = await _queries(client, count_queries, {"q": "answer"}, HTMX)

    await _zeppelins(app, 30)
    many = [await _queries(client, count_queries, s) for s in searches]
    many_htmx = await _queries(client, count_queries, {"q": "answer"}, HTMX)

    assert few == many
    assert few_htmx == many_htmx


async def test_an_email_address_typed_into_search_is_never_logged(app, client):
    await client.get("/search", params={"q": "dana@example.org pension"})
    assert [row.query for row in await logged(app)] == ["[email] pension"]


async def test_playbook_hits_and_the_stage_facet_read_as_words(client, app):
    from tests.playbooks.builders import make_playbook

    await make_playbook(title="Getting admitted body status for your LGPS pensions")
    await drained(app)
    page = (await client.get("/search", params={"q": "admitted body"})).text
    assert '<span class="badge">Playbook</span>' in page
    assert "TUPE &amp; pensions <span" in page or "TUPE & pensions <span" in page


async def test_related_by_search_never_shows_a_thread_deleted_before_the_index_caught_up(client, app):
    topic = await make_topic("tupe-pensions", "TUPE & pensions")
    kept = await make_thread(topic=topic, title="Admitted body status took nine months for us")
    gone = await make_thread(topic=topic, title="Admitted body status: a spam thread to delete")
    await drained(app)
    moderator = await make_user(role=Role.MODERATOR)
    await services.moderate_thread(actor=moderator, thread_id=gone.id, deleted=True)

    page = (await client.get("/search/related", params={"q": "admitted body status", "kind": "question"})).text
    assert kept.url in page
    assert gone.url not in page


async def test_a_facet_shows_its_ten_most_frequent_values_and_every_chosen_one(client, app):
    author, topic = await make_user(), await make_topic()
    # tag-00 is on one thread, tag-11 on twelve (five tags at most per thread).
    threads: list[list[str]] = [[] for _ in range(16)]
    for number in range(11, -1, -1):
        for tags in sorted(threads, key=len)[:number + 1]:
            tags.append(f"tag-{number:02}")
    for number, tags in enumerate(threads):
        await ask(author, topic, f"Tendering question number {number}", tags=" ".join(tags))
    await drained(app)

    page = (await client.get("/search", params={"q": "tendering"})).text
    shown = re.findall(r'tags=(tag-\d\d)"', page)
    assert shown == [f"tag-{n:02}" for n in range(11, 1, -1)]

    chosen = (await client.get("/search", params={"q": "tendering", "tags": "tag-00"})).text
    assert facet_count(chosen, "tags", "tag-00") == 1
    assert 'aria-current="true">✓ tag-00' in chosen
