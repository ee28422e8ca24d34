"""Member profiles: /u/{username} with the member's threads and answers."""

from __future__ import annotations

from datetime import timedelta

from markupsafe import escape
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.people.models import Organisation
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.web import sign_in


def section(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin: html.index(end, begin)]


async def test_a_profile_shows_who_the_member_is(client):
    organisation = await Organisation.create(slug="north-youth", name="North Youth Mutual CIC")
    await make_user("Ana_M", role=Role.MENTOR, display_name="Ana Mendes",
                    bio="Employee-ownership adviser.", organisation=organisation)
    response = await client.get("/u/ana_m")
    assert response.status_code == 200
    html = response.text
    assert '<h1 id="profile-title">Ana Mendes</h1>' in html
    assert "@Ana_M" in html and '<span class="badge badge-role">Mentor</span>' in html
    assert "North Youth Mutual CIC" in html and "Employee-ownership adviser." in html
    assert "0 threads · 0 replies" in html
    assert "No threads yet." in html and "No replies yet." in html
    assert "HX-Request" in response.headers["vary"]


async def test_usernames_in_profile_addresses_ignore_case(client):
    member = await make_user("Jo_Smith")
    assert member.url == "/u/jo_smith"
    for url in ("/u/jo_smith", "/u/JO_SMITH", "/u/Jo_Smith"):
        assert (await client.get(url)).status_code == 200, url


async def test_a_profile_lists_the_members_threads_and_answers(client):
    member = await make_user("jo_smith")
    asker = await make_user()
    own = await make_thread(member, title="How did you staff your finance team?")
    answered = await make_thread(asker, title="Which LGPS actuary did you use?")
    plain = await make_thread(asker, kind="discussion", title="Share your staff council terms")
    answer = await make_reply(answered, member)
    await make_reply(plain, member)
    await services.accept_answer(actor=asker, thread_id=answered.id, post_id=answer.id)
    await services.accept_answer(
        actor=member, thread_id=own.id,
        post_id=(await make_reply(own, asker)).id,
    )
    html = (await client.get("/u/jo_smith")).text
    threads = section(html, 'id="threads-title"', "</section>")
    assert f'href="{own.url}"' in threads and "✓ Solved" in threads
    answers = section(html, 'id="answers-title"', "</section>")
    assert f'href="/t/{answered.id}/p/2"' in answers and f'href="/t/{plain.id}/p/2"' in answers
    assert answers.count("✓ Accepted") == 1
    assert section(answers, answered.title, "</li>").count("✓ Accepted") == 1
    assert "1 thread · 2 replies" in html


async def test_deleted_posts_and_threads_are_left_off_the_profile(client):
    member = await make_user("jo_smith")
    moderator = await make_user(role=Role.MODERATOR)
    gone = await make_thread(member, title="A question that was deleted")
    elsewhere = await make_thread(title="A thread whose reply was deleted")
    hidden_thread = await make_thread(title="A thread deleted with my reply in it")
    reply = await make_reply(elsewhere, member)
    await make_reply(hidden_thread, member)
    await services.moderate_thread(actor=moderator, thread_id=gone.id, deleted=True)
    await services.delete_post(actor=moderator, post_id=reply.id)
    await services.moderate_thread(actor=moderator, thread_id=hidden_thread.id, deleted=True)
    html = (await client.get("/u/jo_smith")).text
    for title in (gone.title, elsewhere.title, hidden_thread.title):
        assert title not in html
    assert "0 threads · 0 replies" in html
    stored = await User.get(id=member.id)
    assert (stored.thread_count, stored.reply_count) == (0, 0)


async def test_a_profile_shows_the_latest_twenty_of_each_newest_first(client):
    member = await make_user("jo_smith")
    topic = await make_topic()
    start = now() - timedelta(days=30)
    for n in range(22):
        await services.create_thread(
            actor=member, topic_slug=topic.slug, kind="question",
            title=f"Question number {n:02d} about pensions", body="Details.",
            created_at=start + timedelta(hours=n),
        )
    html = (await client.get("/u/jo_smith")).text
    threads = section(html, 'id="threads-title"', "</section>")
    assert threads.count("<li>") == 20
    assert "number 21" in threads and "number 02" in threads and "number 01" not in threads
    assert threads.index("number 21") < threads.index("number 20")
    assert "22 threads" in html


async def test_profile_text_is_escaped(client):
    await make_user("jo_smith", display_name="<script>alert(1)</script>", bio="<b>bold</b>")
    await make_thread(await User.get(username_key="jo_smith"), title="<i>Tags</i> in a title?!")
    html = (await client.get("/u/jo_smith")).text
    assert "<script>alert" not in html and "<b>bold" not in html and "<i>Tags" not in html
    assert str(escape("<script>alert(1)</script>")) in html
    assert str(escape("<i>Tags</i> in a title?!")) in html


async def test_unknown_and_deactivated_members_are_not_found(client):
    await make_user("gone_away", is_active=False)
    for url in ("/u/nobody", "/u/gone_away"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Page not found" in response.text


async def test_the_signed_in_member_reaches_their_profile_from_the_header(client):
    member = await make_user("jo_smith", display_name="Jo Smith")
    await sign_in(client, member)
    home = (await client.get("/")).text
    assert '<a href="/u/jo_smith">Jo Smith</a>' in home
    assert (await client.get(member.url)).status_code == 200


async def test_answers_link_to_the_post_wherever_its_page_is(client):
    member = await make_user("jo_smith")
    thread = await make_thread()
    answer = await make_reply(thread, member)
    html = (await client.get("/u/jo_smith")).text
    assert f'href="/t/{thread.id}/p/{answer.number}"' in html
    response = await client.get(f"/t/{thread.id}/p/{answer.number}")
    assert response.status_code == 303
    assert response.headers["location"] == f"{thread.url}#post-2"
    assert await Post.filter(author_id=member.id).count() == 1
    assert await Thread.all().count() == 1
