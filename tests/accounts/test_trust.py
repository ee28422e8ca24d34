"""New members post and link a little less per day until they have taken part."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.accounts.trust import NewMemberLimits, count_links
from forum.errors import RateLimited, ValidationFailed
from forum.threads.models import Post
from forum.threads import services
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.web import post_form, sign_in

LIMITS = NewMemberLimits(days=3, min_posts=3, posts_per_day=3, links_per_day=2)


async def test_a_fresh_account_is_new_and_a_seasoned_one_is_not(db):
    fresh = await make_user("fresh")
    assert LIMITS.is_new(fresh)
    seasoned = await make_user("seasoned", thread_count=1, reply_count=2)
    await User.filter(id=seasoned.id).update(created_at=now() - timedelta(days=4))
    assert not LIMITS.is_new(await User.get(id=seasoned.id))
    mentor = await make_user("mentor", role=Role.MENTOR)
    assert not LIMITS.is_new(mentor)


async def test_a_new_member_gets_a_daily_allowance_of_posts_with_a_wait(db):
    member = await make_user("fresh")
    thread = await make_thread(member)
    for _ in range(2):
        await Post.create(thread=thread, author=member, number=await Post.filter(thread=thread).count() + 1,
                          body_source="x", body_html="<p>x</p>", created_at=now())
    with pytest.raises(RateLimited) as refused:
        await LIMITS.check(member, links=0)
    assert "3 times a day" in refused.value.message
    assert 0 < refused.value.retry_after <= 24 * 3600


async def test_a_new_member_shares_only_a_few_links_a_day_and_mentions_do_not_count(db):
    member = await make_user("fresh")
    two = '<a href="https://a.example/">a</a> <a href="http://b.example/">b</a>'
    assert count_links(two + ' <a href="/u/alice" class="mention">@alice</a>') == 2
    await LIMITS.check(member, links=2)
    thread = await make_thread(
        member, body="[a](https://a.example/) and [b](https://b.example/), thanks @alice"
    )
    assert (await Post.get(thread_id=thread.id)).link_count == 2
    with pytest.raises(ValidationFailed) as refused:
        await LIMITS.check(member, links=1)
    assert "up to 2 links a day" in refused.value.errors["body"]
    await LIMITS.check(member, links=0)  # no links is fine


async def test_the_posting_form_keeps_the_text_and_says_why(app, client):
    app.state.new_member_limits = LIMITS
    topic = await make_topic("tupe")
    member = await make_user("fresh")
    await sign_in(client, member)
    body = "Links: [a](https://a.example/) [b](https://b.example/) [c](https://c.example/)"
    response = await post_form(client, "/new", {"topic": topic.slug, "kind": "question",
                                                 "title": "Where do we find the LGPS rules?", "body": body},
                               from_url="/new")
    assert response.status_code == 422 and "up to 2 links a day" in response.text
    assert "https://c.example/" in response.text
    for n in range(3):
        ok = await post_form(client, "/new", {"topic": topic.slug, "kind": "discussion",
                                              "title": f"Discussion number {n} about pensions", "body": "Hello all."},
                             from_url="/new")
        assert ok.status_code == 303
    limited = await post_form(client, "/new", {"topic": topic.slug, "kind": "discussion",
                                               "title": "One discussion too many today", "body": "Hello."},
                              from_url="/new")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "One discussion too many today" in limited.text


async def test_a_new_member_waits_until_their_oldest_post_of_the_day_is_a_day_old(db):
    member = await make_user("fresh")
    thread = await make_thread(member)  # one post, now
    for hours_ago in (23, 20):
        await Post.create(thread=thread, author=member, number=hours_ago, body_source="x",
                          body_html="<p>x</p>", created_at=now() - timedelta(hours=hours_ago))
    await Post.create(thread=thread, author=member, number=99, body_source="x",
                      body_html="<p>x</p>", created_at=now() - timedelta(hours=25))  # yesterday
    with pytest.raises(RateLimited) as refused:
        await LIMITS.check(member, links=0)
    assert 3500 <= refused.value.retry_after <= 3601  # the 23-hour-old post leaves in an hour
    assert "1 hour" in refused.value.message


async def test_links_are_counted_once_per_post_and_only_for_the_last_day(db):
    member = await make_user("fresh")
    thread = await make_thread(member, body="See [rules](https://a.example/).")
    reply = await make_reply(thread, member, body="And [b](https://b.example/).")
    assert [p.link_count for p in await Post.filter(author_id=member.id).order_by("number")] == [1, 1]
    with pytest.raises(ValidationFailed):
        await LIMITS.check(member, links=1)  # 1 + 1 + 1 > 2
    await Post.filter(id=reply.id).update(created_at=now() - timedelta(days=1, minutes=1))
    await LIMITS.check(member, links=1)  # yesterday's link no longer counts


async def test_editing_a_post_recounts_its_links(db):
    member = await make_user("fresh")
    thread = await make_thread(member, body="No links yet.")
    opening = await Post.get(thread_id=thread.id)
    assert opening.link_count == 0
    await services.edit_post(actor=member, post_id=opening.id,
                             body="Now [a](https://a.example/) and [b](https://b.example/).")
    assert (await Post.get(id=opening.id)).link_count == 2


async def test_checking_a_new_member_is_one_query_however_much_they_posted(db, count_queries):
    member = await make_user("fresh")
    thread = await make_thread(member)
    for n in range(2, 40):
        await Post.create(thread=thread, author=member, number=n, body_source="x",
                          body_html='<p><a href="https://a.example/">a</a></p>', link_count=1,
                          created_at=now())
    limits = NewMemberLimits(posts_per_day=1000, links_per_day=1000)
    count_queries.statements.clear()
    await limits.check(member, links=1)
    assert count_queries.count == 1
    seasoned = await make_user("mentor", role=Role.MENTOR)
    count_queries.statements.clear()
    await limits.check(seasoned, links=100)
    assert count_queries.count == 0
