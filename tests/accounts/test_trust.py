"""New members post and link a little less per day until they have taken part."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.accounts.trust import NewMemberLimits, count_links
from forum.errors import RateLimited, ValidationFailed
from forum.threads.models import Post
from tests.factories import make_thread, make_topic, make_user
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
        await LIMITS.check(member, "<p>one more</p>")
    assert "3 times a day" in refused.value.message
    assert 0 < refused.value.retry_after <= 24 * 3600


async def test_a_new_member_shares_only_a_few_links_a_day_and_mentions_do_not_count(db):
    member = await make_user("fresh")
    two = '<a href="https://a.example/">a</a> <a href="http://b.example/">b</a>'
    await LIMITS.check(member, two + ' <a href="/u/alice" class="mention">@alice</a>')
    thread = await make_thread(member, body="[a](https://a.example/) and [b](https://b.example/)")
    assert count_links((await Post.get(thread_id=thread.id)).body_html) == 2
    with pytest.raises(ValidationFailed) as refused:
        await LIMITS.check(member, '<a href="https://c.example/">c</a>')
    assert "up to 2 links a day" in refused.value.errors["body"]
    await LIMITS.check(member, "<p>no links is fine</p>")


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
