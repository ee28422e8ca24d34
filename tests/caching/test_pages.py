"""The anonymous page cache: pages change on the very next request after content does,
and nothing of a member's ever reaches anybody else."""

from __future__ import annotations

import asyncio
import gzip
import re

import brotli
import pytest

from forum.accounts import services as accounts
from forum.accounts.models import Role
from forum.caching import stamps
from forum.settings import Settings
from forum.threads import services
from tests.factories import make_topic, make_user
from tests.web import sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"page_cache_size": 100})


@pytest.fixture
async def thread(app):
    """A question made through the services, as members make them (the stamp moves)."""
    asker = await make_user("asker")
    await make_topic("tupe-pensions", "TUPE & pensions")
    return await services.create_thread(
        actor=asker, topic_slug="tupe-pensions", kind="question",
        title="How did you get admitted body status?", body="We move 340 staff in April.", tags="",
    )


def url(thread) -> str:
    return f"/t/{thread.id}/{thread.slug}"


async def test_a_second_anonymous_visit_costs_one_query_and_gets_the_same_page(
    client, thread, count_queries
):
    first = await client.get(url(thread))
    count_queries.statements.clear()
    second = await client.get(url(thread))
    assert second.status_code == 200 and second.text == first.text
    (statement,) = count_queries.statements  # the stamp, and nothing else
    assert statement.startswith("SELECT version FROM version_stamps WHERE name =")
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["cache-control"] == "no-cache"
    assert "Accept-Encoding" in second.headers["vary"] and "HX-Request" in second.headers["vary"]


async def test_a_matching_etag_gets_304_without_a_body(client, thread):
    etag = (await client.get(url(thread))).headers["etag"]
    again = await client.get(url(thread), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get(url(thread), headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_pages_are_sent_compressed_as_the_client_accepts(client, thread):
    plain = (await client.get(url(thread), headers={"Accept-Encoding": "identity"})).content
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = await client.get(url(thread), headers={"Accept-Encoding": encoding})
        # httpx decodes for us: the header says what travelled.
        assert response.headers["content-encoding"] == encoding
        assert response.content == plain
    raw = await client.get(url(thread), headers={"Accept-Encoding": "gzip"})
    assert int(raw.headers["content-length"]) < len(plain)
    assert decode is gzip.decompress


async def test_a_head_request_is_answered_from_the_page_without_a_body(client, thread):
    await client.get(url(thread))
    head = await client.head(url(thread))
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"]


async def test_a_reply_edit_accept_and_delete_show_on_the_next_request(client, thread):
    member = await make_user("helper")
    assert "Talk to the pension fund first" not in (await client.get(url(thread))).text

    post = await services.reply(actor=member, thread_id=thread.id, body="Talk to the pension fund first.")
    assert "Talk to the pension fund first" in (await client.get(url(thread))).text

    await services.edit_post(actor=member, post_id=post.id, body="Talk to the LGPS fund first.")
    page = (await client.get(url(thread))).text
    assert "Talk to the LGPS fund first" in page and "Talk to the pension fund first" not in page

    asker = await thread.author
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=post.id)
    assert "Accepted answer" in (await client.get(url(thread))).text

    await services.delete_post(actor=member, post_id=post.id)
    assert "Talk to the LGPS fund first" not in (await client.get(url(thread))).text


async def test_a_deleted_thread_is_gone_on_the_next_request_everywhere(client, thread):
    moderator = await make_user("mod", role=Role.MODERATOR)
    assert thread.title in (await client.get("/")).text
    assert (await client.get(url(thread))).status_code == 200

    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    assert (await client.get(url(thread))).status_code == 404
    assert thread.title not in (await client.get("/")).text
    assert thread.title not in (await client.get("/topics/tupe-pensions")).text


async def test_a_change_of_role_shows_on_the_next_request(client, thread):
    admin = await make_user("admin", role=Role.ADMIN)
    await make_user("newmoderator")
    assert "Moderator" not in (await client.get("/u/newmoderator")).text
    await accounts.set_role(actor=admin, username="newmoderator", role=Role.MODERATOR)
    assert "Moderator" in (await client.get("/u/newmoderator")).text


async def test_a_signed_in_members_page_is_never_kept_nor_served_from_the_cache(client, app, thread):
    anonymous_page = (await client.get(url(thread))).text  # now cached
    member = await make_user("privatemember", display_name="Private Member Name")
    await sign_in(client, member)

    mine = await client.get(url(thread))
    assert "Private Member Name" in mine.text or "privatemember" in mine.text
    assert mine.text != anonymous_page
    assert "etag" not in mine.headers  # not from the shared cache

    async with type(client)(transport=client._transport, base_url="http://testserver") as stranger:
        seen = (await stranger.get(url(thread))).text
        for page in ("/", url(thread), "/topics/tupe-pensions", "/u/asker"):
            body = (await stranger.get(page)).text
            assert "privatemember" not in body and "Private Member Name" not in body
    assert seen == anonymous_page


async def test_a_page_holding_a_visitors_csrf_token_is_never_shared(client, app, thread):
    await client.get("/signin")  # the visitor now has a session with a token
    token = client.cookies.get("mkn_session")
    assert token
    await client.get(url(thread))
    for page in app.state.page_cache.pages.values():
        assert b'name="csrf_token"' not in page.body and b"X-CSRF-Token" not in page.body


async def test_pages_that_are_not_shared_are_passed_through_untouched(client, thread):
    search = await client.get("/search", params={"q": "admitted"})
    assert search.status_code == 200 and "etag" not in search.headers
    missing = await client.get("/t/999999/nothing")
    assert missing.status_code == 404 and "etag" not in missing.headers


async def test_a_stamp_moved_by_another_process_invalidates_the_page(client, thread):
    before = await client.get(url(thread))
    await stamps.advance(stamps.CONTENT)  # any write elsewhere
    after = await client.get(url(thread))
    assert after.text == before.text
    assert after.headers["etag"] == before.headers["etag"]  # same content, same tag


async def test_entries_expire_so_relative_times_stay_right(client, app, thread):
    cache = app.state.page_cache
    await client.get(url(thread))
    (page,) = cache.pages.values()
    page.built_at -= cache.max_age + 1
    await client.get(url(thread))
    (rebuilt,) = cache.pages.values()
    assert rebuilt is not page


async def test_static_files_have_fingerprinted_names_cached_for_a_year(client):
    home = (await client.get("/")).text
    css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home)
    assert css, "the stylesheet link is fingerprinted"
    response = await client.get(css.group(1))
    assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    plain = await client.get("/static/css/site.css")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    stale = await client.get("/static/css/site.000000000000.css")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert (await client.get("/static/css/missing.000000000000.css")).status_code == 404


async def test_simultaneous_requests_for_a_page_being_built_wait_for_that_one_build(
    client, app, thread, count_queries
):
    def page_queries() -> list[str]:
        return [s for s in count_queries.statements if "version_stamps" not in s]

    await client.get(url(thread))
    one_build = len(page_queries())
    app.state.page_cache.pages.clear()
    count_queries.statements.clear()
    pages = await asyncio.gather(*(client.get(url(thread)) for _ in range(8)))
    assert {p.status_code for p in pages} == {200} and len({p.text for p in pages}) == 1
    # One build's queries; the seven others only read the stamp.
    assert len(page_queries()) == one_build


async def test_a_page_that_is_not_kept_lets_the_waiting_requests_build_their_own(client, app, thread):
    cache = app.state.page_cache
    results = await asyncio.gather(*(client.get(url(thread) + "?x=1") for _ in range(3)),
                                   client.get("/no-such-page"), client.get("/no-such-page"))
    assert [r.status_code for r in results] == [200, 200, 200, 404, 404]
    assert cache.building == {}


async def test_a_page_dropped_while_its_stamp_is_read_is_still_served_without_error(
    client, app, thread, monkeypatch
):
    # At expiry under load one request drops the page while others are still
    # reading the stamp for it: those must not fail.
    cache = app.state.page_cache
    await client.get(url(thread))
    (key,) = cache.pages
    page = cache.pages[key]
    current = await stamps.read(stamps.CONTENT)
    reading, release = asyncio.Event(), asyncio.Event()

    async def slow_read(name: str, connection=None) -> int:
        reading.set()
        await release.wait()
        return current

    monkeypatch.setattr(stamps, "read", slow_read)
    pending = asyncio.create_task(cache.fresh(key))
    await reading.wait()
    del cache.pages[key]  # what an expiring request does meanwhile
    release.set()
    assert await pending is page
    assert key not in cache.pages
