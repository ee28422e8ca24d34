"""Page numbers and the markup of their links (`forum.pagination`)."""

from __future__ import annotations

import re

from forum.pagination import Pages, pagination


def test_one_page_has_no_links():
    assert pagination(Pages(1, 10, 10), "/topics/tupe") == ""
    assert pagination(Pages(1, 10, 0), "/topics/tupe") == ""


def test_the_links_show_the_first_and_last_pages_and_two_either_side_of_this_one():
    html = pagination(Pages(6, 10, 200), "/topics/tupe").__html__()

    assert '<a href="/topics/tupe?page=5" rel="prev">Previous' in html
    assert '<a href="/topics/tupe?page=7" rel="next">Next' in html
    assert '<li><a href="/topics/tupe?page=6" aria-current="page">6</a></li>' in html
    shown = [int(n) for n in re.findall(r"</span>(\d+)</a>", html)]
    assert shown == [1, 4, 5, 7, 8, 20]
    assert html.count('<li aria-hidden="true">…</li>') == 2


def test_the_first_and_last_pages_have_no_previous_and_next():
    first = pagination(Pages(1, 10, 30), "/playbooks").__html__()
    last = pagination(Pages(3, 10, 30), "/playbooks").__html__()

    assert 'rel="prev"' not in first and 'rel="next"' in first
    assert 'rel="prev"' in last and 'rel="next"' not in last


def test_the_page_joins_the_lists_own_query_escaped():
    html = pagination(Pages(1, 10, 30), '/search?q=r&d "plans"').__html__()

    assert 'href="/search?q=r&amp;d &quot;plans&quot;&page=2"' in html
