"""Kept thread page bodies (forum.threads.rendering): drawn once per class of viewer,
never showing one member's bits to another, and fresh on the very next request
after a reply, an edit, an accepted answer, a deletion or a helpful vote."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx2
import pytest

from forum.accounts.models import Role, User
from forum.settings import Settings
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_topic, make_user
from tests.web import CSRF_FIELD, post_form, sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"thread_cache_size": 100})


async def _client(app) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


class People:
    """The asker, two members who replied, a moderator: each signed in in their own browser."""

    asker: User
    alice: User
    bob: User
    moderator: User
    browsers: dict[str, httpx2.AsyncClient]
    thread: Thread
    opening: Post
    alice_reply: Post
    bob_reply: Post

    def page(self, who: str, path: str = ""):
        return self.browsers[who].get(self.thread.url + path)


@pytest.fixture
async def people(app) -> AsyncIterator[People]:
    """A question with a reply by each member, written through the services (the stamp moves)."""
    p = People()
    await make_topic("tupe-pensions", "TUPE & pensions")
    p.asker, p.alice, p.bob = [await make_user(n) for n in ("asker", "alice", "bob")]
    p.moderator = await make_user("moddy", role=Role.MODERATOR)
    p.thread = await services.create_thread(
        actor=p.asker, topic_slug="tupe-pensions", kind="question",
        title="How did you get admitted body status?", body="We move 340 staff in April.", tags="",
    )
    p.alice_reply = await services.reply(actor=p.alice, thread_id=p.thread.id, body="Ask early.")
    p.bob_reply = await services.reply(actor=p.bob, thread_id=p.thread.id, body="Get a bond.")
    p.opening = await Post.get(thread_id=p.thread.id, number=1)
    p.browsers = {}
    for who in ("asker", "alice", "bob", "moderator"):
        browser = p.browsers[who] = await _client(app)
        await sign_in(browser, getattr(p, who))
    p.browsers["anonymous"] = await _client(app)
    yield p
    for browser in p.browsers.values():
        await browser.aclose()


def _article(page: str, number: int) -> str:
    start = page.index(f'id="post-{number}"')
    return page[start:page.index("</article>", start)]


def _tokens(page: str) -> set[str]:
    return set(CSRF_FIELD.findall(page))


def _edit_links(page: str) -> set[int]:
    return {int(post_id) for post_id in re.findall(r'href="/posts/(\d+)/edit"', page)}


def _delete_forms(page: str) -> set[int]:
    return {int(post_id) for post_id in re.findall(r'action="/posts/(\d+)/delete"', page)}


async def test_each_member_sees_their_own_links_and_token_and_nobody_elses(people):
    pages = {who: (await people.page(who)).text for who in people.browsers}
    # Each asked twice: the second is drawn from what the first kept.
    again = {who: (await people.page(who)).text for who in people.browsers}
    assert again == pages
    own = {"alice": people.alice_reply.id, "bob": people.bob_reply.id, "asker": people.opening.id}
    for who, post_id in own.items():
        assert _edit_links(pages[who]) == {post_id}, who
    assert _delete_forms(pages["alice"]) == {people.alice_reply.id}
    assert _delete_forms(pages["bob"]) == {people.bob_reply.id}
    everything = {people.opening.id, people.alice_reply.id, people.bob_reply.id}
    assert _edit_links(pages["moderator"]) == everything
    assert "Moderator tools" in pages["moderator"]
    assert all("Moderator tools" not in pages[who] for who in ("asker", "alice", "bob"))
    assert _edit_links(pages["anonymous"]) == set() and _tokens(pages["anonymous"]) == set()
    # Only the asker (and a moderator) may accept an answer.
    for who in ("asker", "moderator"):
        assert pages[who].count("Accept as answer") == 2, who
    assert all("Accept as answer" not in pages[who] for who in ("alice", "bob", "anonymous"))
    assert "Ask a mentor to answer" in pages["asker"]
    assert all("Ask a mentor" not in pages[who] for who in ("alice", "bob", "moderator"))
    # One token per page, the member's own, in every form.
    tokens = {who: _tokens(pages[who]) for who in ("asker", "alice", "bob", "moderator")}
    assert all(len(found) == 1 for found in tokens.values()), tokens
    assert len(set.union(*tokens.values())) == 4
    # Nobody is offered a helpful button on their own post.
    assert "aria-pressed" not in _article(pages["alice"], 2)
    assert "aria-pressed" in _article(pages["alice"], 3)
    assert "aria-pressed" not in _article(pages["bob"], 3)
    assert f">{people.alice.display_name}<" in pages["bob"]  # the header is bob's own...
    assert f'href="{people.bob.url}">{people.bob.display_name}</a></li>' in pages["bob"]
    assert f'href="{people.alice.url}">{people.alice.display_name}</a></li>' not in pages["bob"]


async def test_a_helpful_mark_shows_as_the_markers_own_and_as_a_count_to_others(people):
    for who in people.browsers:
        await people.page(who)  # everything kept
    marked = await post_form(
        people.browsers["alice"], f"/posts/{people.bob_reply.id}/helpful", from_url=people.thread.url
    )
    assert marked.status_code == 303
    alice = _article((await people.page("alice")).text, 3)
    assert 'aria-pressed="true"' in alice and "1 person found this helpful" in alice
    asker = _article((await people.page("asker")).text, 3)
    assert 'aria-pressed="false"' in asker and "1 person found this helpful" in asker
    bob = _article((await people.page("bob")).text, 3)
    assert "aria-pressed" not in bob and "1 person found this helpful" in bob
    anonymous = _article((await people.page("anonymous")).text, 3)
    assert "aria-pressed" not in anonymous and "1 person found this helpful" in anonymous


async def test_replies_edits_answers_and_deletions_show_on_the_next_request(people):
    for who in people.browsers:
        await people.page(who)
    reply = await post_form(people.browsers["bob"], f"/t/{people.thread.id}/reply",
                            {"body": "Pension bonds are negotiable."}, from_url=people.thread.url)
    assert reply.status_code == 303
    for who in ("alice", "moderator", "anonymous"):
        assert "Pension bonds are negotiable." in (await people.page(who)).text, who
    assert people.bob_reply.id + 1 in _edit_links((await people.page("bob")).text)

    edited = await post_form(people.browsers["alice"], f"/posts/{people.alice_reply.id}/edit",
                             {"body": "Ask very early."}, from_url=people.thread.url)
    assert edited.status_code == 303
    assert "Ask very early." in (await people.page("bob")).text

    accepted = await post_form(people.browsers["asker"], f"/t/{people.thread.id}/accept",
                               {"post_id": str(people.alice_reply.id)}, from_url=people.thread.url)
    assert accepted.status_code == 303
    bob = (await people.page("bob")).text
    assert "Accepted answer" in bob and "✓ Solved" in bob
    assert "Unaccept" in (await people.page("asker")).text and "Unaccept" not in bob

    deleted = await post_form(people.browsers["bob"], f"/posts/{people.bob_reply.id}/delete",
                              from_url=people.thread.url)
    assert deleted.status_code == 303
    assert "Get a bond." not in (await people.page("alice")).text
    assert "Get a bond." in (await people.page("moderator")).text  # moderators see deleted posts


async def test_a_deleted_thread_kept_for_a_moderator_is_still_not_found_for_members(people):
    await services.moderate_thread(actor=people.moderator, thread_id=people.thread.id, deleted=True)
    assert (await people.page("moderator")).status_code == 200
    assert (await people.page("alice")).status_code == 404
    assert (await people.page("anonymous")).status_code == 404


async def test_a_kept_body_costs_the_member_three_queries(people, count_queries):
    await people.page("alice")
    count_queries.statements.clear()
    response = await people.page("alice")
    assert response.status_code == 200
    # The session (with the unread count), the content stamp, the member's helpful marks.
    assert count_queries.count == 3, count_queries.statements


async def test_quoting_and_a_rejected_reply_keep_what_the_member_typed(people):
    await people.page("alice")
    quoted = (await people.page("alice", "?quote=3")).text
    assert "&gt; Get a bond." in quoted
    refused = await post_form(people.browsers["alice"], f"/t/{people.thread.id}/reply",
                              {"body": ""}, from_url=people.thread.url)
    assert refused.status_code == 422 and _edit_links(refused.text) == {people.alice_reply.id}


@pytest.mark.parametrize("viewer_kind", ["anonymous", "member", "moderator"])
async def test_drawing_a_body_to_keep_runs_the_same_queries_for_5_and_200_replies(
    client, count_queries, viewer_kind
):
    from tests.threads.test_query_counts import CEILING, FEW, MANY, _people, _viewer, add_replies

    viewer = await _viewer(client, viewer_kind)
    authors = await _people()
    short, long = await make_thread_pair(authors[0])
    await add_replies(short, authors, FEW, helpful_from=viewer)
    await add_replies(long, authors, MANY, helpful_from=viewer)
    counts = []
    for url in (short.url, long.url, f"{long.url}?page=5"):
        count_queries.statements.clear()
        assert (await client.get(url)).status_code == 200
        counts.append(count_queries.count)
    # One more for the content stamp: a member's session brings the unread count along,
    # so the member's ceiling holds; an anonymous page reads the stamp for the page cache
    # anyway (off in this test), and the body takes that reading rather than its own.
    ceiling = CEILING[viewer_kind] + (1 if viewer_kind == "anonymous" else 0)
    assert len(set(counts)) == 1 and counts[0] <= ceiling, count_queries.statements


async def make_thread_pair(author: User) -> tuple[Thread, Thread]:
    from tests.factories import make_thread

    topic = await make_topic()
    return await make_thread(author, topic), await make_thread(author, topic)
