"""List and detail pages run a fixed number of SQL queries, whatever the number of rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest
from tortoise.expressions import F
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.people.models import Organisation
from forum.threads import services
from forum.threads.models import HelpfulVote, Post, Thread, Topic
from tests.factories import make_thread, make_topic, make_user
from tests.web import sign_in

FEW, MANY = 5, 200


async def _queries_for(client, count_queries, url: str) -> int:
    count_queries.statements.clear()
    response = await client.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    return count_queries.count


async def _add_to_counters(model, increments: Counter, field: str) -> None:
    for row_id, amount in increments.items():
        await model.filter(id=row_id).update(**{field: F(field) + amount})


async def add_replies(thread: Thread, authors: Sequence[User], count: int, *,
                      helpful_from: User | None = None) -> list[Post]:
    """`count` replies by `authors` in turn, every 10th deleted, counters kept right.

    The first reply is accepted (questions), and `helpful_from` marks every
    third visible reply helpful, so that every branch of the page is drawn.
    """
    thread = await Thread.get(id=thread.id)
    start, base = thread.last_post_number + 1, thread.created_at
    await Post.bulk_create([
        Post(
            thread_id=thread.id, author_id=authors[i % len(authors)].id, number=start + i,
            body_source=f"Reply {i} about *pension bonds*.",
            body_html=f"<p>Reply {i} about <em>pension bonds</em>.</p>",
            created_at=base + timedelta(seconds=i + 1),
            deleted_at=base + timedelta(days=1) if i % 10 == 9 else None,
        )
        for i in range(count)
    ])
    posts = list(await Post.filter(thread_id=thread.id, number__gte=start).order_by("number"))
    visible = [p for p in posts if p.deleted_at is None]
    await Thread.filter(id=thread.id).update(
        reply_count=F("reply_count") + len(visible), last_post_number=posts[-1].number,
        last_poster_id=visible[-1].author_id, last_activity_at=visible[-1].created_at,
        accepted_post_id=visible[0].id if thread.is_question else None,
    )
    await Topic.filter(id=thread.topic_id).update(post_count=F("post_count") + len(visible))
    await _add_to_counters(User, Counter(p.author_id for p in visible), "reply_count")
    if helpful_from is not None:
        marked = [p for p in visible[::3] if p.author_id != helpful_from.id]
        await HelpfulVote.bulk_create([HelpfulVote(post_id=p.id, user_id=helpful_from.id) for p in marked])
        await Post.filter(id__in=[p.id for p in marked]).update(helpful_count=F("helpful_count") + 1)
    return posts


async def add_threads(topic: Topic, authors: Sequence[User], count: int, *, label: str,
                      repliers: Sequence[User] = ()) -> list[Thread]:
    """`count` threads of mixed kinds and states, each with one reply by `repliers` in turn."""
    base = now() - timedelta(days=2)
    rows = []
    for i in range(count):
        author = authors[i % len(authors)]
        replier = repliers[i % len(repliers)] if repliers else None
        when = base + timedelta(seconds=i)
        rows.append(Thread(
            topic_id=topic.id, author_id=author.id, kind="discussion" if i % 3 == 0 else "question",
            title=f"{label} {i}: how did you handle TUPE?", slug=f"{label}-{i}-tupe",
            tags=["tupe", f"stage-{i % 4}"], reply_count=1 if replier else 0,
            last_post_number=2 if replier else 1, last_activity_at=when,
            last_poster_id=(replier or author).id, is_pinned=i % 50 == 0, is_locked=i % 7 == 0,
            created_at=when, import_ref=f"{label}-{i}",
        ))
    await Thread.bulk_create(rows)
    threads = list(await Thread.filter(import_ref__startswith=f"{label}-").order_by("id"))
    assert len(threads) == count
    posts = [Post(thread_id=t.id, author_id=t.author_id, number=1, body_source="Opening.",
                  body_html="<p>Opening.</p>", created_at=t.created_at) for t in threads]
    if repliers:
        posts += [Post(thread_id=t.id, author_id=t.last_poster_id, number=2, body_source="Answer.",
                       body_html="<p>Answer.</p>", created_at=t.created_at) for t in threads]
    await Post.bulk_create(posts)
    if repliers:
        # Every other question is solved by its reply.
        answers = await Post.filter(thread_id__in=[t.id for t in threads[1::2]], number=2)
        for answer in answers:
            await Thread.filter(id=answer.thread_id, kind="question").update(accepted_post_id=answer.id)
    await Topic.filter(id=topic.id).update(
        thread_count=F("thread_count") + count,
        post_count=F("post_count") + count * (2 if repliers else 1),
        last_activity_at=threads[-1].last_activity_at,
    )
    await _add_to_counters(User, Counter(t.author_id for t in threads), "thread_count")
    if repliers:
        await _add_to_counters(User, Counter(t.last_poster_id for t in threads), "reply_count")
    return threads


async def _people() -> list[User]:
    organisation = await Organisation.create(slug="youth-mutual", name="Youth Mutual CIC")
    return [
        await make_user(role=Role.MENTOR, organisation=organisation),
        await make_user(),
        await make_user(role=Role.MODERATOR),
    ]


async def _viewer(client, kind: str) -> User | None:
    if kind == "anonymous":
        return None
    user = await make_user(role=Role.MODERATOR if kind == "moderator" else Role.MEMBER)
    await sign_in(client, user)
    return user


# The thread page: the thread, its posts and its playbooks; a member's session, unread
# notification count (the header) and helpful marks; a moderator's topic list (for moving
# the thread).
CEILING = {"anonymous": 3, "member": 6, "moderator": 7}


@pytest.mark.parametrize("viewer_kind", ["anonymous", "member", "moderator"])
async def test_the_thread_page_runs_the_same_queries_for_5_and_200_replies(
    client, count_queries, viewer_kind
):
    viewer = await _viewer(client, viewer_kind)
    people = await _people()
    topic = await make_topic()
    short = await make_thread(people[0], topic, tags="tupe lgps")
    long = await make_thread(people[0], topic, tags="tupe lgps")
    await add_replies(short, people, FEW, helpful_from=viewer)
    await add_replies(long, people, MANY, helpful_from=viewer)
    long = await Thread.get(id=long.id)
    assert long.reply_count == MANY - MANY // 10 and long.last_post_number == MANY + 1

    few = await _queries_for(client, count_queries, short.url)
    many = await _queries_for(client, count_queries, long.url)
    later_page = await _queries_for(client, count_queries, f"{long.url}?page=5")
    assert few == many == later_page, count_queries.statements
    assert many <= CEILING[viewer_kind], count_queries.statements


async def test_quoting_a_post_costs_one_query_whatever_the_thread_length(client, count_queries):
    await _viewer(client, "member")
    people = await _people()
    short, long = await make_thread(people[0]), await make_thread(people[0])
    await add_replies(short, people, FEW)
    await add_replies(long, people, MANY)
    few = await _queries_for(client, count_queries, f"{short.url}?quote=3")
    many = await _queries_for(client, count_queries, f"{long.url}?quote=150")
    assert few == many <= CEILING["member"] + 1, count_queries.statements


@pytest.mark.parametrize("viewer_kind", ["anonymous", "member"])
async def test_the_topic_page_runs_the_same_queries_for_5_and_200_threads(
    client, count_queries, viewer_kind
):
    await _viewer(client, viewer_kind)
    people = await _people()
    small, big = await make_topic("small"), await make_topic("big")
    await add_threads(small, people, FEW, label="small", repliers=people[::-1])
    await add_threads(big, people, MANY, label="big", repliers=people[::-1])
    assert (await Topic.get(id=big.id)).thread_count == MANY

    counts = [
        await _queries_for(client, count_queries, url)
        for url in ("/topics/small", "/topics/big", "/topics/big?page=3",
                    "/topics/big?filter=solved", "/topics/big?filter=unanswered")
    ]
    assert len(set(counts)) == 1, counts
    assert counts[0] <= CEILING[viewer_kind] + 1, count_queries.statements


async def test_the_home_page_runs_the_same_queries_with_few_or_many_threads(client, count_queries):
    people = await _people()
    topic = await make_topic("tupe-pensions")
    await add_threads(topic, people, 3, label="few", repliers=people)
    await add_threads(topic, people, 2, label="waiting")
    few = await _queries_for(client, count_queries, "/")
    for n in range(20):
        await make_topic(f"extra-{n}")
    await add_threads(topic, people, MANY, label="many", repliers=people)
    await add_threads(topic, people, 30, label="unanswered")
    many = await _queries_for(client, count_queries, "/")
    assert few == many <= 3, count_queries.statements
    await _viewer(client, "member")
    # A member's session, which brings the header's unread notification count along.
    assert await _queries_for(client, count_queries, "/") == many + 1


async def test_the_profile_page_runs_the_same_queries_with_few_or_many_posts(client, count_queries):
    people = await _people()
    mentor, others = people[0], people[1:]
    topic = await make_topic()
    await add_threads(topic, [mentor], 2, label="mine-few")
    await add_threads(topic, others, 2, label="answered-few", repliers=[mentor])
    few = await _queries_for(client, count_queries, mentor.url)
    await add_threads(topic, [mentor], MANY, label="mine-many")
    await add_threads(topic, others, MANY, label="answered-many", repliers=[mentor])
    response = await client.get(mentor.url)
    assert "✓ Accepted" in response.text and "Youth Mutual CIC" in response.text
    many = await _queries_for(client, count_queries, mentor.url)
    # The fourth asks for an approved mentor profile (this mentor has none: no stats).
    assert few == many <= 4, count_queries.statements
    stored = await User.get(id=mentor.id)
    assert (stored.thread_count, stored.reply_count) == (2 + MANY, 2 + MANY)


async def test_bulk_data_agrees_with_the_services(client):
    """The builders above keep the same counters the services would."""
    people = await _people()
    topic = await make_topic()
    thread = await make_thread(people[0], topic)
    posts = await add_replies(thread, people, 12)
    reply = await services.reply(actor=people[1], thread_id=thread.id, body="One more.")
    assert reply.number == 14
    await services.delete_post(actor=people[2], post_id=posts[0].id)
    stored = await Thread.get(id=thread.id)
    assert stored.reply_count == 12 - 1 - 1 + 1
    assert stored.accepted_post_id is None
    assert await Post.filter(thread_id=thread.id, deleted_at=None, number__gt=1).count() == stored.reply_count
    assert (await Topic.get(id=topic.id)).post_count == stored.reply_count + 1


async def test_posting_a_reply_runs_the_same_queries_however_much_the_member_posted_today(
    app, client, count_queries
):
    from forum.accounts.trust import NewMemberLimits
    from tests.web import csrf_from

    # A new member's allowance is checked on every post (as the write bench does).
    app.state.new_member_limits = NewMemberLimits(posts_per_day=10_000, links_per_day=10_000)
    topic = await make_topic("tupe")
    thread = await make_thread(await make_user("asker"), topic)
    member = await make_user("newcomer")  # a new member: the daily allowance is checked
    await sign_in(client, member)
    token = await csrf_from(client, thread.url)
    counts = []
    for already in (FEW, MANY):
        await add_replies(thread, [member], already - await Post.filter(author_id=member.id).count())
        count_queries.statements.clear()
        response = await client.post(f"/t/{thread.id}/reply", data={
            "csrf_token": token, "body": "See [the rules](https://a.example/).",
        })
        assert response.status_code == 303, response.text[:300]
        counts.append(count_queries.count)
    # The session, the allowance (one aggregate), then one write: five statements
    # and the content stamp. No read of the thread, the member's posts or their HTML.
    assert counts == [8, 8]
