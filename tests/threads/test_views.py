"""Thread pages through HTTP: JavaScript off (POST, 303) and htmx (fragments)."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from forum.accounts.models import Role, User
from forum.http.ratelimit import RateLimiter
from forum.settings import Settings
from forum.threads import services
from forum.threads.models import HelpfulVote, Post, PostRevision, Thread, Topic
from tests.factories import make_reply, make_thread, make_topic, make_user
from tests.web import post_form, sign_in

HTMX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
PAGE_SIZE = 4
POSTS_PER_PAGE = 3
QUESTION = {
    "topic": "tupe-pensions", "kind": "question", "title": "How did you get admitted body status?",
    "body": "We move **340 staff** across in April.", "tags": "lgps tupe",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small pages, so that pagination needs only a handful of rows."""
    return settings.model_copy(update={"page_size": PAGE_SIZE, "posts_per_page": POSTS_PER_PAGE})


def escaped(text: str) -> str:
    return str(escape(text))


def is_fragment(html: str) -> bool:
    return html.lstrip().startswith('<div id="thread">') and "<html" not in html


def assert_varies_on_htmx(response) -> None:
    assert "HX-Request" in response.headers.get("vary", ""), response.headers


def section(html: str, start: str, end: str) -> str:
    """The part of `html` from `start` up to `end` (both must be there)."""
    begin = html.index(start)
    return html[begin: html.index(end, begin)]


def post_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="post[^"]*" id="post-(\d+)"', html)]


async def signed_in(client, role: Role = Role.MEMBER, username: str | None = None) -> User:
    user = await make_user(username, role=role)
    await sign_in(client, user)
    return user


# Asking


async def test_asking_a_question_redirects_to_the_new_thread(client):
    topic = await make_topic("tupe-pensions", "TUPE & pensions")
    asker = await signed_in(client)
    form = (await client.get("/new?topic=tupe-pensions")).text
    assert '<option value="tupe-pensions" selected>' in form
    response = await post_form(client, "/new", QUESTION, from_url="/new")
    assert response.status_code == 303
    thread = await Thread.get(author_id=asker.id)
    assert response.headers["location"] == f"/t/{thread.id}/how-did-you-get-admitted-body-status"
    assert (thread.kind, thread.tags, thread.topic_id) == ("question", ["lgps", "tupe"], topic.id)
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert "How did you get admitted body status?" in page.text
    assert "<strong>340 staff</strong>" in page.text
    assert (await Topic.get(id=topic.id)).thread_count == 1


async def test_asking_needs_a_signed_in_member(client):
    response = await client.get("/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/new"


async def test_new_thread_errors_are_shown_next_to_fields_with_the_input_kept(client):
    await make_topic("tupe-pensions")
    await signed_in(client)
    bad = {**QUESTION, "title": "Help?", "kind": "discussion", "tags": "a b c d e f",
           "body": "Our <council> says no."}
    response = await post_form(client, "/new", bad, from_url="/new")
    assert response.status_code == 422
    html = response.text
    assert '<p class="field-error" id="title-error">' in html
    assert "Use at least 10 characters" in section(html, 'for="title"', "</div>")
    assert "Use at most 5 tags." in section(html, 'for="tags"', "</div>")
    assert 'aria-invalid="true"' in section(html, 'id="title"', ">")
    assert 'value="Help?"' in html and 'value="a b c d e f"' in html
    assert f">{escaped('Our <council> says no.')}</textarea>" in html
    assert '<option value="tupe-pensions" selected>' in html
    assert 'value="discussion" checked' in html
    assert '<div class="error-summary" role="alert"' in html
    assert await Thread.all().count() == 0 and await Post.all().count() == 0


async def test_a_missing_topic_is_reported_on_the_topic_field(client):
    await make_topic("tupe-pensions")
    await signed_in(client)
    response = await post_form(client, "/new", {**QUESTION, "topic": ""}, from_url="/new")
    assert response.status_code == 422
    assert "Choose a topic." in section(response.text, 'for="topic"', "</select>")
    assert await Thread.all().count() == 0


async def test_a_rate_limited_question_is_shown_again_with_the_text_kept(app, client):
    app.state.post_limiter = RateLimiter(1, 60)
    await make_topic("tupe-pensions")
    await signed_in(client)
    assert (await post_form(client, "/new", QUESTION, from_url="/new")).status_code == 303
    again = {**QUESTION, "title": "And a second question, too soon", "body": "Long text kept."}
    response = await post_form(client, "/new", again, from_url="/new")
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 61
    assert "posting very quickly" in response.text
    assert 'value="And a second question, too soon"' in response.text
    assert ">Long text kept.</textarea>" in response.text
    assert await Thread.all().count() == 1


# Replying


async def test_replying_redirects_to_the_new_post(client):
    thread = await make_thread()
    replier = await signed_in(client)
    response = await post_form(client, f"/t/{thread.id}/reply", {"body": "Ask for a *bond*."},
                               from_url=thread.url)
    assert response.status_code == 303
    assert response.headers["location"] == f"{thread.url}#post-2"
    post = await Post.get(thread_id=thread.id, number=2)
    assert (post.author_id, post.body_source) == (replier.id, "Ask for a *bond*.")
    page = (await client.get(thread.url)).text
    assert "Ask for a <em>bond</em>." in section(page, 'id="post-2"', "</article>")


async def test_a_reply_on_a_later_page_redirects_to_that_page(client):
    thread = await make_thread()
    for _ in range(POSTS_PER_PAGE):
        await make_reply(thread)
    await signed_in(client)
    response = await post_form(client, f"/t/{thread.id}/reply", {"body": "Page two."},
                               from_url=thread.url)
    assert response.status_code == 303
    assert response.headers["location"] == f"{thread.url}?page=2#post-{POSTS_PER_PAGE + 2}"


async def test_reply_errors_are_shown_with_422_and_the_text_kept(client):
    thread = await make_thread()
    await signed_in(client)
    response = await post_form(client, f"/t/{thread.id}/reply", {"body": "x"}, from_url=thread.url)
    assert response.status_code == 422
    assert "Write a little more" in section(response.text, 'id="reply"', "</form>")
    assert ">x</textarea>" in response.text
    assert await Post.filter(thread_id=thread.id).count() == 1


async def test_a_rate_limited_reply_is_shown_again_with_the_text_kept(app, client):
    app.state.post_limiter = RateLimiter(1, 60)
    thread = await make_thread()
    await signed_in(client)
    url = f"/t/{thread.id}/reply"
    assert (await post_form(client, url, {"body": "First."}, from_url=thread.url)).status_code == 303
    response = await post_form(client, url, {"body": "Second, too soon."}, from_url=thread.url)
    assert response.status_code == 429
    assert "retry-after" in response.headers
    assert "posting very quickly" in section(response.text, 'id="reply"', "</form>")
    assert ">Second, too soon.</textarea>" in response.text
    assert await Post.filter(thread_id=thread.id).count() == 2


async def test_replying_with_htmx_returns_the_thread_fragment_on_the_right_page(client):
    thread = await make_thread()
    await signed_in(client)
    response = await post_form(client, f"/t/{thread.id}/reply", {"body": "Via htmx."},
                               from_url=thread.url, headers=HTMX)
    assert response.status_code == 200
    assert is_fragment(response.text)
    assert "Via htmx." in response.text
    assert response.headers["hx-push-url"] == thread.url
    assert_varies_on_htmx(response)


async def test_signed_out_replies_are_sent_to_sign_in_and_write_nothing(client):
    thread = await make_thread()
    page = (await client.get(thread.url)).text
    assert f'action="/t/{thread.id}/reply"' not in page
    assert "to reply" in page
    response = await post_form(client, f"/t/{thread.id}/reply", {"body": "Anonymous."})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")
    assert await Post.filter(thread_id=thread.id).count() == 1


async def test_quoting_prefills_the_reply_with_a_blockquote(client):
    thread = await make_thread()
    await make_reply(thread, await make_user("quoted_one"), body="Use an *admitted body*\nagreement.")
    await signed_in(client)
    html = (await client.get(f"{thread.url}?quote=2")).text
    textarea = section(html, '<textarea id="body"', "</textarea>")
    expected = "> **@quoted_one** wrote:\n>\n> Use an *admitted body*\n> agreement.\n\n"
    assert textarea.endswith(escaped(expected))
    # Nonsense or unknown numbers leave the box empty.
    for quote in ("abc", "99"):
        html = (await client.get(f"{thread.url}?quote={quote}")).text
        assert '<textarea id="body" name="body" rows="6" required aria-describedby="body-hint"></textarea>' in html


# Locked threads


async def test_a_locked_thread_shows_no_reply_form_and_refuses_replies(client):
    thread = await make_thread()
    await services.moderate_thread(
        actor=await make_user(role=Role.MODERATOR), thread_id=thread.id, locked=True
    )
    await signed_in(client)
    page = (await client.get(thread.url)).text
    assert f'action="/t/{thread.id}/reply"' not in page
    assert "This thread is locked" in page
    assert "?quote=" not in page
    response = await post_form(client, f"/t/{thread.id}/reply", {"body": "Let me in."},
                               from_url=thread.url)
    assert response.status_code == 403
    assert "locked" in response.text
    assert await Post.filter(thread_id=thread.id).count() == 1


# Editing, history, deleting


async def test_editing_a_reply_keeps_its_history(client):
    thread = await make_thread()
    author = await signed_in(client)
    post = await make_reply(thread, author, body="First *draft*.")
    form = await client.get(f"/posts/{post.id}/edit")
    assert form.status_code == 200
    assert ">First *draft*.</textarea>" in form.text
    assert 'name="title"' not in form.text
    response = await post_form(client, f"/posts/{post.id}/edit", {"body": "Second draft."},
                               from_url=f"/posts/{post.id}/edit")
    assert response.status_code == 303
    assert response.headers["location"] == f"{thread.url}#post-2"
    assert (await Post.get(id=post.id)).body_source == "Second draft."
    page = (await client.get(thread.url)).text
    assert f'href="/posts/{post.id}/history">edited</a>' in page
    history = await client.get(f"/posts/{post.id}/history")
    assert history.status_code == 200
    current = section(history.text, 'id="rev-current"', "</article>")
    assert "Second draft." in current
    older = history.text[history.text.index("Version before the edit"):]
    assert f"by {author.display_name}" in older
    assert "First <em>draft</em>." in older


async def test_editing_the_question_changes_the_title_and_history_lists_the_old_one(client):
    author = await signed_in(client)
    thread = await make_thread(author, title="Pension bond sizes?", tags="lgps")
    opening = await Post.get(thread_id=thread.id, number=1)
    form = (await client.get(f"/posts/{opening.id}/edit")).text
    assert 'value="Pension bond sizes?"' in form and 'value="lgps"' in form
    response = await post_form(
        client, f"/posts/{opening.id}/edit",
        {"title": "How big was your pension bond?", "body": "Ours was £200k.", "tags": "lgps"},
        from_url=f"/posts/{opening.id}/edit",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{thread.id}/how-big-was-your-pension-bond"
    history = (await client.get(f"/posts/{opening.id}/history")).text
    assert "<strong>Title:</strong> Pension bond sizes?" in history


async def test_edit_errors_are_shown_with_422_and_change_nothing(client):
    author = await signed_in(client)
    thread = await make_thread(author, title="Pension bond sizes?")
    opening = await Post.get(thread_id=thread.id, number=1)
    response = await post_form(client, f"/posts/{opening.id}/edit",
                               {"title": "Short", "body": "Kept text.", "tags": ""},
                               from_url=f"/posts/{opening.id}/edit")
    assert response.status_code == 422
    assert "Use at least 10 characters" in section(response.text, 'for="title"', "</div>")
    assert 'value="Short"' in response.text and ">Kept text.</textarea>" in response.text
    assert await PostRevision.all().count() == 0
    assert (await Thread.get(id=thread.id)).title == "Pension bond sizes?"


async def test_nobody_edits_another_members_post(client):
    thread = await make_thread()
    post = await make_reply(thread, body="Mine.")
    await signed_in(client)
    assert (await client.get(f"/posts/{post.id}/edit")).status_code == 403
    response = await post_form(client, f"/posts/{post.id}/edit", {"body": "Yours now."})
    assert response.status_code == 403
    assert (await Post.get(id=post.id)).body_source == "Mine."
    assert f'href="/posts/{post.id}/edit"' not in (await client.get(thread.url)).text


async def test_deleting_a_reply_and_a_moderator_restoring_it(client):
    thread = await make_thread()
    author = await signed_in(client)
    post = await make_reply(thread, author, body="Posted in the wrong place.")
    response = await post_form(client, f"/posts/{post.id}/delete", from_url=thread.url)
    assert response.status_code == 303
    assert response.headers["location"] == f"{thread.url}#post-2"
    assert (await Post.get(id=post.id)).deleted_at is not None
    page = (await client.get(thread.url)).text
    reply = section(page, 'id="post-2"', "</article>")
    assert "This reply was deleted." in reply and "wrong place" not in reply
    response = await post_form(client, f"/posts/{post.id}/restore", from_url=thread.url)
    assert response.status_code == 403

    await signed_in(client, Role.MODERATOR)
    page = (await client.get(thread.url)).text
    reply = section(page, 'id="post-2"', "</article>")
    assert "only moderators see this" in reply and "wrong place" in reply
    assert f'action="/posts/{post.id}/restore"' in reply
    response = await post_form(client, f"/posts/{post.id}/restore", from_url=thread.url)
    assert response.status_code == 303
    assert (await Post.get(id=post.id)).deleted_at is None
    assert (await Thread.get(id=thread.id)).reply_count == 1


async def test_the_asker_deletes_an_unanswered_question(client):
    asker = await signed_in(client)
    thread = await make_thread(asker)
    opening = await Post.get(thread_id=thread.id, number=1)
    response = await post_form(client, f"/posts/{opening.id}/delete", from_url=thread.url)
    assert response.status_code == 303
    topic = await thread.topic
    assert response.headers["location"] == f"/topics/{topic.slug}"
    assert (await client.get(thread.url)).status_code == 404


async def test_the_asker_cannot_delete_an_answered_question(client):
    asker = await signed_in(client)
    thread = await make_thread(asker)
    await make_reply(thread)
    opening = await Post.get(thread_id=thread.id, number=1)
    page = (await client.get(thread.url)).text
    assert f'action="/posts/{opening.id}/delete"' not in page
    response = await post_form(client, f"/posts/{opening.id}/delete", from_url=thread.url)
    assert response.status_code == 403
    assert (await Thread.get(id=thread.id)).deleted_at is None


# Helpful and accepted answers


async def test_marking_helpful_without_javascript(client):
    thread = await make_thread()
    post = await make_reply(thread)
    reader = await signed_in(client)
    response = await post_form(client, f"/posts/{post.id}/helpful", from_url=thread.url)
    assert response.status_code == 303
    assert response.headers["location"] == f"{thread.url}#post-2"
    assert await HelpfulVote.filter(post_id=post.id, user_id=reader.id).exists()
    page = (await client.get(thread.url)).text
    reply = section(page, 'id="post-2"', "</article>")
    assert 'aria-pressed="true"' in reply and "1 person found this helpful" in reply
    await post_form(client, f"/posts/{post.id}/helpful", from_url=thread.url)
    assert (await Post.get(id=post.id)).helpful_count == 0


async def test_marking_helpful_with_htmx_returns_the_button_fragment(client):
    thread = await make_thread()
    post = await make_reply(thread)
    await signed_in(client)
    response = await post_form(client, f"/posts/{post.id}/helpful", from_url=thread.url,
                               headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<form") and "<html" not in response.text
    assert 'aria-pressed="true"' in response.text
    assert "1 person found this helpful" in response.text
    assert_varies_on_htmx(response)
    response = await post_form(client, f"/posts/{post.id}/helpful", from_url=thread.url,
                               headers=HTMX)
    assert 'aria-pressed="false"' in response.text
    assert "0 people found this helpful" in response.text


async def test_your_own_post_has_no_helpful_button_and_marking_it_is_refused(client):
    author = await signed_in(client)
    thread = await make_thread()
    post = await make_reply(thread, author)
    page = (await client.get(thread.url)).text
    assert f'action="/posts/{post.id}/helpful"' not in page
    response = await post_form(client, f"/posts/{post.id}/helpful", from_url=thread.url)
    assert response.status_code == 403
    assert await HelpfulVote.all().count() == 0


async def test_accepting_an_answer_without_javascript(client):
    asker = await signed_in(client)
    thread = await make_thread(asker)
    answer = await make_reply(thread, body="Get the admitted body agreement signed first.")
    response = await post_form(client, f"/t/{thread.id}/accept", {"post_id": answer.id},
                               from_url=thread.url)
    assert response.status_code == 303
    assert response.headers["location"] == thread.url
    assert (await Thread.get(id=thread.id)).accepted_post_id == answer.id
    page = (await client.get(thread.url)).text
    assert "✓ Solved" in page
    assert _accepted_section_follows_the_question(page)
    # Unaccept: the form posts an empty post_id.
    response = await post_form(client, f"/t/{thread.id}/accept", {"post_id": ""}, from_url=thread.url)
    assert response.status_code == 303
    assert (await Thread.get(id=thread.id)).accepted_post_id is None
    assert "Accepted answer" not in (await client.get(thread.url)).text


def _accepted_section_follows_the_question(html: str) -> bool:
    after_question = html[html.index('id="post-1"'):]
    after_question = after_question[after_question.index("</article>") + len("</article>"):]
    return after_question.lstrip().startswith('<section class="accepted-answer"') and (
        'id="accepted-title">Accepted answer</h2>' in after_question.split("</section>")[0]
    )


async def test_accepting_an_answer_with_htmx_returns_the_thread_fragment(client):
    asker = await signed_in(client)
    thread = await make_thread(asker)
    answer = await make_reply(thread, body="Ask the council for a pension bond quote.")
    response = await post_form(client, f"/t/{thread.id}/accept",
                               {"post_id": answer.id, "page": "1"}, from_url=thread.url,
                               headers=HTMX)
    assert response.status_code == 200
    assert is_fragment(response.text)
    assert _accepted_section_follows_the_question(response.text)
    accepted = section(response.text, '<section class="accepted-answer"', "</section>")
    assert "pension bond quote" in accepted
    assert_varies_on_htmx(response)
    assert (await Thread.get(id=thread.id)).accepted_post_id == answer.id


async def test_only_the_asker_sees_accept_buttons_and_others_are_refused(client):
    thread = await make_thread()
    answer = await make_reply(thread)
    await signed_in(client)
    page = (await client.get(thread.url)).text
    assert f'action="/t/{thread.id}/accept"' not in page
    response = await post_form(client, f"/t/{thread.id}/accept", {"post_id": answer.id},
                               from_url=thread.url)
    assert response.status_code == 403
    assert (await Thread.get(id=thread.id)).accepted_post_id is None


# htmx and full pages


async def test_htmx_gets_the_thread_fragment_and_boosted_navigation_the_full_page(client):
    thread = await make_thread(title="Pension bond sizes?")
    full = await client.get(thread.url)
    fragment = await client.get(thread.url, headers=HTMX)
    boosted = await client.get(thread.url, headers=BOOSTED)
    assert "<html" in full.text and '<div id="thread">' in full.text
    assert is_fragment(fragment.text) and "Pension bond sizes?" in fragment.text
    assert "<html" in boosted.text and '<div id="thread">' in boosted.text
    for response in (full, fragment, boosted):
        assert response.status_code == 200
        assert_varies_on_htmx(response)


# Moderation


async def test_a_moderator_locks_pins_moves_and_deletes_a_thread(client):
    source, target = await make_topic("finance", "Capital & finance"), await make_topic("legal")
    thread = await make_thread(topic=source)
    await make_reply(thread)
    await signed_in(client, Role.MODERATOR)
    page = (await client.get(thread.url)).text
    assert "Moderator tools" in page

    url = f"/t/{thread.id}/moderate"
    for data in ({"locked": "1"}, {"pinned": "1"}, {"topic": "legal"}):
        response = await post_form(client, url, data, from_url=thread.url)
        assert response.status_code == 303
        assert response.headers["location"] == thread.url
    stored = await Thread.get(id=thread.id)
    assert stored.is_locked and stored.is_pinned and stored.topic_id == target.id
    assert (await Topic.get(id=source.id)).post_count == 0
    assert (await Topic.get(id=target.id)).post_count == 2
    page = (await client.get(thread.url)).text
    assert "Unlock thread" in page and "Unpin thread" in page
    assert '<span class="badge">Locked</span>' in page
    assert "Pinned" in section((await client.get("/topics/legal")).text, 'class="thread-list"', "</ul>")

    response = await post_form(client, url, {"deleted": "1"}, from_url=thread.url)
    assert response.status_code == 303
    assert (await Thread.get(id=thread.id)).deleted_at is not None
    assert (await Topic.get(id=target.id)).thread_count == 0
    response = await post_form(client, url, {"topic": "nowhere"}, from_url=thread.url)
    assert response.status_code == 422
    assert (await Thread.get(id=thread.id)).topic_id == target.id


async def test_members_get_403_for_moderation(client):
    thread = await make_thread()
    await signed_in(client)
    assert "Moderator tools" not in (await client.get(thread.url)).text
    for data in ({"locked": "1"}, {"pinned": "1"}, {"deleted": "1"}, {"topic": "elsewhere"}):
        response = await post_form(client, f"/t/{thread.id}/moderate", data, from_url=thread.url)
        assert response.status_code == 403
    stored = await Thread.get(id=thread.id)
    assert not stored.is_locked and not stored.is_pinned and stored.deleted_at is None


async def test_a_deleted_thread_is_not_found_for_members_but_visible_to_moderators(client):
    thread = await make_thread(title="Pension bond sizes?")
    post = await make_reply(thread)
    moderator = await make_user(role=Role.MODERATOR)
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    for url in (thread.url, f"/t/{thread.id}", f"/t/{thread.id}/p/2", f"/posts/{post.id}/history"):
        assert (await client.get(url)).status_code == 404, url
    await signed_in(client)
    assert (await client.get(thread.url)).status_code == 404
    assert "Pension bond sizes?" not in (await client.get("/")).text
    await sign_in(client, moderator)
    page = await client.get(thread.url)
    assert page.status_code == 200
    assert '<span class="badge badge-danger">Deleted</span>' in page.text
    assert "Restore thread" in page.text


# Lists: topics, home, profiles


async def test_topic_page_filters_unanswered_and_solved_questions(client):
    topic = await make_topic("governance", "Legal form & governance")
    asker = await make_user()
    unanswered = await make_thread(asker, topic, title="Is a CIC right for a leisure trust?")
    answered = await make_thread(asker, topic, title="Who sits on your staff council?")
    solved = await make_thread(asker, topic, title="Did you need an employee ownership trust?")
    chat = await make_thread(asker, topic, kind="discussion", title="Share your governance diagrams")
    await make_reply(answered)
    answer = await make_reply(solved)
    await services.accept_answer(actor=asker, thread_id=solved.id, post_id=answer.id)

    def titles(html: str) -> set[str]:
        return set(re.findall(r'class="thread-title" href="[^"]+">([^<]+)</a>', html))

    everything = (await client.get("/topics/governance")).text
    assert titles(everything) == {unanswered.title, answered.title, solved.title, chat.title}
    solved_row = section(everything, solved.title, "</li>")
    assert "✓ Solved" in solved_row
    assert "✓ Solved" not in section(everything, answered.title, "</li>")
    page = (await client.get("/topics/governance?filter=unanswered")).text
    assert titles(page) == {unanswered.title}
    assert '?filter=unanswered" aria-current="page"' in page
    page = (await client.get("/topics/governance?filter=solved")).text
    assert titles(page) == {solved.title} and "✓ Solved" in page
    assert titles((await client.get("/topics/governance?filter=bogus")).text) == titles(everything)


async def test_topic_page_is_paginated_and_odd_page_numbers_fall_back_to_the_first(client):
    topic = await make_topic("finance")
    author = await make_user()
    for n in range(PAGE_SIZE + 1):
        await make_thread(author, topic, title=f"Finance question number {n:02d}")
    first = await client.get("/topics/finance")
    rows = first.text.count('class="thread-row"')
    assert rows == PAGE_SIZE
    assert 'href="/topics/finance?page=2" rel="next"' in first.text
    second = await client.get("/topics/finance?page=2")
    assert second.status_code == 200
    assert second.text.count('class="thread-row"') == 1
    assert "Finance question number 00" in second.text  # the oldest activity comes last
    for odd in ("abc", "-1", "0", "1.5"):
        response = await client.get(f"/topics/finance?page={odd}")
        assert response.status_code == 200, odd
        assert response.text.count('class="thread-row"') == PAGE_SIZE
        assert '<a href="/topics/finance?page=1" aria-current="page">1</a>' in response.text
    filtered = (await client.get("/topics/finance?filter=unanswered")).text
    assert 'href="/topics/finance?filter=unanswered&page=2"' in filtered


async def test_home_page_lists_latest_threads_unanswered_questions_and_topics(client):
    pensions = await make_topic("tupe-pensions", "TUPE & pensions")
    await make_topic("procurement", "Procurement & tendering")
    answered = await make_thread(topic=pensions, title="Who paid for your pension bond?")
    waiting = await make_thread(topic=pensions, title="Can we stay in the LGPS as an admitted body?")
    await make_reply(answered)
    html = (await client.get("/")).text
    latest = section(html, 'id="latest-title"', "</section>")
    assert answered.title in latest and waiting.title in latest
    unanswered = section(html, 'id="unanswered-title"', "</section>")
    assert waiting.title in unanswered and answered.title not in unanswered
    topics = section(html, 'id="topics-title"', "</section>")
    assert escaped("TUPE & pensions") in topics and "2 threads · 3 posts" in topics
    assert escaped("Procurement & tendering") in topics and "0 threads · 0 posts" in topics


async def test_a_profile_shows_the_members_threads_and_answers(client):
    member = await make_user("jo_smith", display_name="Jo Smith")
    own = await make_thread(member, title="How did you staff your finance team?")
    elsewhere = await make_thread(title="Which LGPS actuary did you use?")
    answer = await make_reply(elsewhere, member)
    await services.accept_answer(actor=await User.get(id=elsewhere.author_id),
                                 thread_id=elsewhere.id, post_id=answer.id)
    gone = await make_thread(title="A thread that will be deleted")
    await make_reply(gone, member)
    await services.moderate_thread(actor=await make_user(role=Role.MODERATOR), thread_id=gone.id,
                                   deleted=True)
    response = await client.get("/u/Jo_Smith")
    assert response.status_code == 200
    html = response.text
    threads = section(html, 'id="threads-title"', "</section>")
    assert own.title in threads
    answers = section(html, 'id="answers-title"', "</section>")
    assert elsewhere.title in answers and "✓ Accepted" in answers
    assert f'href="/t/{elsewhere.id}/p/2"' in answers
    assert gone.title not in html
    assert "1 thread · 1 reply" in html


async def test_unknown_pages_are_not_found(client):
    thread = await make_thread()
    for url in ("/u/nobody", "/topics/nowhere", "/t/999/anything", "/t/999", "/t/999/p/2",
                f"/t/{thread.id}/p/99", "/posts/999/history", "/posts/999/edit"):
        response = await client.get(url)
        assert response.status_code in ((404,) if "edit" not in url else (303, 404)), url
    await signed_in(client)
    assert (await client.get("/posts/999/edit")).status_code == 404
    response = await client.get("/t/999/anything")
    assert "Page not found" in response.text


# Thread pages


async def test_the_thread_page_is_paginated_and_shows_the_question_on_every_page(client):
    thread = await make_thread()
    for _ in range(2 * POSTS_PER_PAGE + 1):  # posts 2..8 over three pages
        await make_reply(thread)
    first = (await client.get(thread.url)).text
    assert post_numbers(first) == [1, 2, 3, 4]
    assert f'href="{thread.url}?page=2" rel="next"' in first
    assert post_numbers((await client.get(f"{thread.url}?page=2")).text) == [1, 5, 6, 7]
    assert post_numbers((await client.get(f"{thread.url}?page=3")).text) == [1, 8]
    assert post_numbers((await client.get(f"{thread.url}?page=abc")).text) == [1, 2, 3, 4]
    assert "7 replies" in first


async def test_post_links_redirect_to_the_right_page_and_anchor(client):
    thread = await make_thread()
    for _ in range(2 * POSTS_PER_PAGE + 1):
        await make_reply(thread)
    expected = {1: thread.url, 2: f"{thread.url}#post-2", 4: f"{thread.url}#post-4",
                5: f"{thread.url}?page=2#post-5", 7: f"{thread.url}?page=2#post-7",
                8: f"{thread.url}?page=3#post-8"}
    for number, location in expected.items():
        response = await client.get(f"/t/{thread.id}/p/{number}")
        assert response.status_code == 303
        assert response.headers["location"] == location, number
    response = await client.get(f"/t/{thread.id}")
    assert response.status_code == 301 and response.headers["location"] == thread.url


async def test_the_accepted_answer_shows_under_the_question_on_every_page(client):
    asker = await make_user()
    thread = await make_thread(asker)
    answer = await make_reply(thread, body="The answer on page one.")
    for _ in range(POSTS_PER_PAGE):
        await make_reply(thread)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    page = (await client.get(f"{thread.url}?page=2")).text
    assert post_numbers(page) == [1, 5]
    assert _accepted_section_follows_the_question(page)
    assert "The answer on page one." in section(page, '<section class="accepted-answer"', "</section>")


async def test_an_old_slug_or_a_bare_id_moves_permanently_to_the_thread_address(client):
    thread = await make_thread(title="Where do we start with TUPE?")
    for url in (f"/t/{thread.id}", f"/t/{thread.id}/an-old-title"):
        response = await client.get(url)
        assert response.status_code == 301
        assert response.headers["location"] == thread.url


async def test_a_page_past_the_end_of_a_thread_moves_to_its_last_page(client):
    thread = await make_thread()
    for _ in range(4):
        await make_reply(thread)
    response = await client.get(f"{thread.url}?page=99")
    assert response.status_code == 301
    assert response.headers["location"] == f"{thread.url}?page=2"


async def test_accepting_with_a_malformed_post_id_changes_nothing(client):
    asker = await signed_in(client)
    thread = await make_thread(asker)
    answer = await make_reply(thread)
    await post_form(client, f"/t/{thread.id}/accept", {"post_id": str(answer.id)}, from_url=thread.url)
    response = await post_form(client, f"/t/{thread.id}/accept", {"post_id": "abc"}, from_url=thread.url)
    assert response.status_code == 422
    assert (await Thread.get(id=thread.id)).accepted_post_id == answer.id


async def test_a_topic_page_past_the_end_moves_to_the_last_page(client):
    topic = await make_topic("procurement")
    for n in range(PAGE_SIZE + 1):
        await make_thread(topic=topic, title=f"Tender bonds question number {n}")
    response = await client.get("/topics/procurement?filter=unanswered&page=7")
    assert response.status_code == 301
    assert response.headers["location"] == "/topics/procurement?filter=unanswered&page=2"
