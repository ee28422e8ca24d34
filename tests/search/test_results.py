"""Hits and filters made ready for the results page."""

from __future__ import annotations

from datetime import datetime, timezone

from forum.search.results import active_filters, facet_options, shown_hits
from search_index.backend import SearchHit, SearchPage

WHEN = datetime(2026, 3, 1, tzinfo=timezone.utc)


def hit(doc_id: str, kind: str, **fields) -> SearchHit:
    return SearchHit(
        id=doc_id, kind=kind, url=f"/{doc_id}", title="A <mark>bond</mark> &amp; more",
        snippet="&lt;b&gt; <mark>bond</mark>", created_at=WHEN, **fields,
    )


def test_hits_read_their_kind_topic_and_thread_as_words():
    question, reply, message = shown_hits(
        [hit("thread-1", "question", topic="tupe", solved=True), hit("post-7", "reply", solved=True),
         hit("message-3", "message", topic="gone")],
        threads={"post-7": ("Who wrote the bond?", "/t/1/who-wrote-the-bond")},
        topics={"tupe": "TUPE & pensions"},
    )

    assert question.badge == "Question" and question.solved == "✓ Solved"
    assert question.topic_name == "TUPE & pensions"
    assert (question.thread_title, question.thread_url) == ("", "")
    assert (reply.badge, reply.solved) == ("Reply", "✓ Accepted answer")
    assert (reply.thread_title, reply.thread_url) == ("Who wrote the bond?", "/t/1/who-wrote-the-bond")
    assert (message.badge, message.solved, message.topic_name) == ("Message", "", "gone")


def test_hit_titles_and_snippets_stay_as_the_engine_escaped_them():
    [shown] = shown_hits([hit("thread-1", "question")], threads={}, topics={})

    assert shown.title.__html__() == "A <mark>bond</mark> &amp; more"
    assert shown.snippet.__html__() == "&lt;b&gt; <mark>bond</mark>"


def test_a_facet_value_is_added_to_the_search_quoted():
    params = {"q": ["bond value"], "page": ["3"]}
    page = SearchPage(hits=[], total=2, facets={"tags": {"r&d plans": 2}})

    [(name, heading, [option])] = facet_options(page, {}, {}, params)

    assert (name, heading, option.label, option.count) == ("tags", "Tag", "r&d plans", 2)
    assert option.href == "/search?q=bond+value&tags=r%26d+plans"
    assert not option.active


def test_a_chosen_facet_value_links_to_the_search_without_it():
    params = {"q": ["bond"], "kind": ["question", "reply"], "topic": ["tupe"]}
    page = SearchPage(hits=[], total=2, facets={"kind": {"reply": 1, "question": 1, "playbook": 4}})
    chosen = {"kind": ("question", "reply"), "topic": ("tupe",)}

    [(_, _, options)] = facet_options(page, chosen, {"kind": {"question": "Questions"}}, params)

    assert [(o.label, o.active) for o in options] == [
        ("reply", True), ("Questions", True), ("playbook", False),
    ]
    assert options[0].href == "/search?q=bond&kind=question&topic=tupe"
    chips = active_filters(chosen, {"topic": {"tupe": "TUPE"}}, params)
    assert [(chip.heading, chip.label, chip.href) for chip in chips] == [
        ("Kind", "question", "/search?q=bond&kind=reply&topic=tupe"),
        ("Kind", "reply", "/search?q=bond&kind=question&topic=tupe"),
        ("Topic", "TUPE", "/search?q=bond&kind=question&kind=reply"),
    ]


def test_a_hits_markup_escapes_every_value_but_the_engines_title_and_snippet():
    hostile = '<script>"x"</script>'
    [reply] = shown_hits(
        [hit("post-7", "reply", topic="tupe", author=f"Ann{hostile}", solved=True)],
        threads={"post-7": (f"Bonds {hostile}", f'/t/1/x"{hostile}')},
        topics={"tupe": f"TUPE {hostile}"},
    )

    html = reply.html.__html__()

    assert "<script>" not in html
    # The thread, its address, the topic, the author and their address.
    assert html.count("&lt;script&gt;&quot;x&quot;&lt;/script&gt;") == 5
    assert 'href="/u/ann&lt;script&gt;&quot;x&quot;&lt;/script&gt;"' in html
    assert '<a class="hit-title" href="/post-7">A <mark>bond</mark> &amp; more</a>' in html
    assert '<p class="hit-snippet">&lt;b&gt; <mark>bond</mark></p>' in html
    assert '<span class="badge">Reply</span>' in html
    assert '<span class="badge badge-solved">✓ Accepted answer</span>' in html
    assert '<time datetime="2026-03-01T00:00:00+00:00">1 Mar 2026</time>' in html


def test_a_hits_markup_leaves_out_what_it_does_not_have():
    [shown] = shown_hits(
        [SearchHit(id="thread-1", kind="question", url="/t/1/x", title="Bonds", snippet="")],
        threads={}, topics={},
    )

    html = shown.html.__html__()

    assert html.startswith('<li class="search-hit">') and html.endswith("</li>\n")
    for absent in ("badge-solved", "Reply in", "/topics/", "/u/", "<time"):
        assert absent not in html


def test_a_facet_values_markup_escapes_its_label_and_address():
    params = {"q": ["bond"], "tags": ['<b>"x"</b>']}
    page = SearchPage(hits=[], total=3, facets={"tags": {'<b>"x"</b>': 2, "r&d": 1}})

    [(_, _, [chosen, other])] = facet_options(page, {"tags": ('<b>"x"</b>',)}, {}, params)

    assert chosen.html.__html__() == (
        '<li><a href="/search?q=bond" aria-current="true">✓ &lt;b&gt;&quot;x&quot;&lt;/b&gt; '
        '<span class="count">(2)</span><span class="visually-hidden">, remove filter</span>'
        "</a></li>\n"
    )
    assert other.html.__html__() == (
        '<li><a href="/search?q=bond&amp;tags=%3Cb%3E%22x%22%3C%2Fb%3E&amp;tags=r%26d">r&amp;d '
        '<span class="count">(1)</span></a></li>\n'
    )
