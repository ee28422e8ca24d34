"""Thread and post services: rules, counters and what ends up in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from forum.accounts.models import Role, User
from forum.errors import NotAllowed, NotFound, RateLimited, SignInRequired, ValidationFailed
from forum.http.ratelimit import RateLimiter
from forum.threads import services
from forum.threads.models import HelpfulVote, Post, PostRevision, Thread, Topic
from tests.factories import make_reply, make_thread, make_topic, make_user

pytestmark = pytest.mark.usefixtures("db")

GOOD = dict(kind="question", title="How do we get admitted body status?", body="We spin out in April.")


async def _counts(*, topic: Topic | None = None, thread: Thread | None = None,
                  user: User | None = None) -> dict[str, object]:
    """Fresh counters from the database, for one-line assertions."""
    out: dict[str, object] = {}
    if topic is not None:
        t = await Topic.get(id=topic.id)
        out["topic"] = (t.thread_count, t.post_count)
    if thread is not None:
        th = await Thread.get(id=thread.id)
        out["thread"] = (th.reply_count, th.last_post_number, th.last_poster_id)
    if user is not None:
        u = await User.get(id=user.id)
        out["user"] = (u.thread_count, u.reply_count)
    return out


async def _nothing_written() -> None:
    assert await Thread.all().count() == 0
    assert await Post.all().count() == 0
    assert all(t.thread_count == 0 and t.post_count == 0 for t in await Topic.all())
    assert all(u.thread_count == 0 and u.reply_count == 0 for u in await User.all())


# Creating threads


async def test_creating_a_thread_writes_the_thread_its_opening_post_and_counters():
    author = await make_user()
    topic = await make_topic("tupe-pensions")
    thread = await services.create_thread(
        actor=author, topic_slug="tupe-pensions", tags="LGPS, tupe  #admitted-body tupe", **GOOD
    )
    stored = await Thread.get(id=thread.id)
    assert stored.title == GOOD["title"]
    assert stored.slug == "how-do-we-get-admitted-body-status"
    assert stored.kind == "question"
    assert stored.tags == ["lgps", "tupe", "admitted-body"]
    assert (stored.reply_count, stored.last_post_number, stored.last_poster_id) == (0, 1, author.id)
    opening = await Post.get(thread_id=thread.id)
    assert (opening.number, opening.author_id, opening.body_source) == (1, author.id, GOOD["body"])
    assert await _counts(topic=topic, user=author) == {"topic": (1, 1), "user": (1, 0)}


async def test_the_title_is_tidied_and_the_body_trimmed():
    await make_topic("finance")
    thread = await services.create_thread(
        actor=await make_user(), topic_slug="finance", kind="discussion",
        title="  Pension   bonds:\n who   paid?  ", body="\n\n  Ours was £200k.  \n",
    )
    stored = await Thread.get(id=thread.id)
    assert stored.title == "Pension bonds: who paid?"
    assert (await Post.get(thread_id=thread.id)).body_source == "Ours was £200k."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "Help?"}, "title", "at least 10 characters"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"title": "          "}, "title", "at least 10 characters"),
        ({"body": " "}, "body", "the message is empty"),
        ({"body": "x" * 50_001}, "body", "under 50,000 characters"),
        ({"kind": "poll"}, "kind", "Choose question or discussion"),
        ({"topic_slug": "no-such-topic"}, "topic", "Choose a topic"),
        ({"topic_slug": ""}, "topic", "Choose a topic"),
        ({"tags": "a b c d e f"}, "tags", "at most 5 tags"),
        ({"tags": "tupe, Social_Value"}, "tags", "'social_value' doesn't"),
        ({"tags": "-leading-hyphen"}, "tags", "lowercase letters, digits and hyphens"),
        ({"tags": "x" * 31}, "tags", "lowercase letters, digits and hyphens"),
    ],
)
async def test_create_thread_refuses_bad_input_with_a_field_message_and_writes_nothing(
    changes, field, message
):
    author = await make_user()
    await make_topic("governance")
    values = {**GOOD, "topic_slug": "governance", **changes}
    with pytest.raises(ValidationFailed) as caught:
        await services.create_thread(actor=author, **values)
    assert list(caught.value.errors) == [field]
    assert message in caught.value.errors[field]
    await _nothing_written()


async def test_create_thread_reports_every_bad_field_at_once():
    with pytest.raises(ValidationFailed) as caught:
        await services.create_thread(
            actor=await make_user(), topic_slug="nowhere", kind="", title="", body="", tags="A!",
        )
    assert set(caught.value.errors) == {"title", "body", "kind", "topic", "tags"}
    await _nothing_written()


async def test_five_tags_are_allowed_and_duplicates_count_once():
    await make_topic("procurement")
    thread = await services.create_thread(
        actor=await make_user(), topic_slug="procurement", **GOOD,
        tags=["tender", "bonds", "pcg", "social-value", "lots", "tender", "TENDER"],
    )
    assert (await Thread.get(id=thread.id)).tags == ["tender", "bonds", "pcg", "social-value", "lots"]


# Replies and counters


async def test_replies_get_consecutive_numbers_and_update_the_counters():
    asker, helper = await make_user(), await make_user()
    topic = await make_topic()
    thread = await make_thread(asker, topic)
    posts = [await make_reply(thread, helper), await make_reply(thread, asker),
             await make_reply(thread, helper)]
    assert [p.number for p in posts] == [2, 3, 4]
    assert await _counts(topic=topic, thread=thread, user=helper) == {
        "topic": (1, 4), "thread": (3, 4, helper.id), "user": (0, 2),
    }
    assert await _counts(user=asker) == {"user": (1, 1)}


async def test_a_deleted_reply_keeps_its_number_and_the_next_reply_gets_a_new_one():
    thread = await make_thread()
    second = await make_reply(thread)
    moderator = await make_user(role=Role.MODERATOR)
    await services.delete_post(actor=moderator, post_id=second.id)
    third = await make_reply(thread)
    assert third.number == 3
    assert (await Thread.get(id=thread.id)).last_post_number == 3


async def test_deleting_and_restoring_a_reply_keeps_every_counter_right():
    asker, helper = await make_user(), await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    topic = await make_topic()
    thread = await make_thread(asker, topic)
    first = await make_reply(thread, helper)
    last = await make_reply(thread, asker)

    await services.delete_post(actor=helper, post_id=first.id)
    assert await _counts(topic=topic, thread=thread, user=helper) == {
        "topic": (1, 2), "thread": (1, 3, asker.id), "user": (0, 0),
    }
    await services.restore_post(actor=moderator, post_id=first.id)
    assert await _counts(topic=topic, thread=thread, user=helper) == {
        "topic": (1, 3), "thread": (2, 3, asker.id), "user": (0, 1),
    }
    # Restoring twice changes nothing.
    await services.restore_post(actor=moderator, post_id=first.id)
    assert await _counts(topic=topic, thread=thread) == {"topic": (1, 3), "thread": (2, 3, asker.id)}
    await services.delete_post(actor=asker, post_id=last.id)
    await services.delete_post(actor=moderator, post_id=last.id)  # already deleted: no change
    assert await _counts(topic=topic, thread=thread, user=asker) == {
        "topic": (1, 2), "thread": (1, 3, helper.id), "user": (1, 0),
    }


async def test_deleting_the_latest_reply_gives_the_thread_back_its_previous_last_poster():
    asker, helper, spammer = await make_user(), await make_user(), await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread(asker)
    answer = await make_reply(thread, helper)
    spam = await make_reply(thread, spammer)
    await services.delete_post(actor=moderator, post_id=spam.id)
    stored = await Thread.get(id=thread.id)
    assert stored.last_poster_id == helper.id
    assert stored.last_activity_at == answer.created_at
    await services.restore_post(actor=moderator, post_id=spam.id)
    stored = await Thread.get(id=thread.id)
    assert stored.last_poster_id == spammer.id
    assert stored.last_activity_at == spam.created_at


async def test_deleting_and_restoring_a_thread_keeps_topic_and_member_counters_right():
    asker, helper = await make_user(), await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    topic = await make_topic()
    other = await make_thread(helper, topic)
    thread = await make_thread(asker, topic)
    await make_reply(thread, helper)
    await make_reply(thread, helper)
    await make_reply(other, asker)
    before = await _counts(topic=topic, user=asker) | {"helper": await _counts(user=helper)}
    assert before == {"topic": (2, 5), "user": (1, 1), "helper": {"user": (1, 2)}}

    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    assert (await Thread.get(id=thread.id)).deleted_at is not None
    assert await _counts(topic=topic, user=asker) == {"topic": (1, 2), "user": (0, 1)}
    assert await _counts(user=helper) == {"user": (1, 0)}
    # Deleting twice changes nothing.
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    assert await _counts(topic=topic) == {"topic": (1, 2)}

    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=False)
    assert (await Thread.get(id=thread.id)).deleted_at is None
    assert await _counts(topic=topic, user=asker) | {"helper": await _counts(user=helper)} == before


async def test_deleting_and_restoring_replies_of_a_deleted_thread_keeps_the_counters_right():
    asker, helper = await make_user(), await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    topic = await make_topic()
    thread = await make_thread(asker, topic)
    kept = await make_reply(thread, helper)
    removed = await make_reply(thread, helper)
    await services.delete_post(actor=moderator, post_id=removed.id)
    # While the thread is hidden, a reply is deleted: hidden counts must not move.
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    await services.delete_post(actor=moderator, post_id=kept.id)
    assert await _counts(topic=topic, user=helper) == {"topic": (0, 0), "user": (0, 0)}
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=False)
    assert await _counts(topic=topic, thread=thread, user=helper) == {
        "topic": (1, 1), "thread": (0, 3, asker.id), "user": (0, 0),
    }
    # While the thread is hidden, a reply is restored.
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    await services.restore_post(actor=moderator, post_id=removed.id)
    assert await _counts(topic=topic, user=helper) == {"topic": (0, 0), "user": (0, 0)}
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=False)
    assert await _counts(topic=topic, thread=thread, user=helper) == {
        "topic": (1, 2), "thread": (1, 3, helper.id), "user": (0, 1),
    }


async def test_moving_a_thread_moves_its_counts_between_topics():
    moderator = await make_user(role=Role.MODERATOR)
    source, target = await make_topic("finance"), await make_topic("capital")
    thread = await make_thread(topic=source)
    await make_reply(thread)
    await make_reply(thread)
    moved = await services.moderate_thread(actor=moderator, thread_id=thread.id, topic_slug="capital")
    assert moved.topic_id == target.id
    assert (await Thread.get(id=thread.id)).topic_id == target.id
    assert await _counts(topic=source) == {"topic": (0, 0)}
    assert await _counts(topic=target) == {"topic": (1, 3)}
    # Moving to where it already is changes nothing.
    await services.moderate_thread(actor=moderator, thread_id=thread.id, topic_slug="capital")
    assert await _counts(topic=target) == {"topic": (1, 3)}


async def test_a_deleted_thread_moves_no_counts_until_it_is_restored():
    moderator = await make_user(role=Role.MODERATOR)
    source, target = await make_topic("finance"), await make_topic("capital")
    thread = await make_thread(topic=source)
    await make_reply(thread)
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    await services.moderate_thread(actor=moderator, thread_id=thread.id, topic_slug="capital")
    assert await _counts(topic=source) | {"t": await _counts(topic=target)} == {
        "topic": (0, 0), "t": {"topic": (0, 0)},
    }
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=False)
    assert await _counts(topic=source) == {"topic": (0, 0)}
    assert await _counts(topic=target) == {"topic": (1, 2)}


async def test_moving_to_an_unknown_topic_is_refused_and_changes_nothing():
    moderator = await make_user(role=Role.MODERATOR)
    topic = await make_topic()
    thread = await make_thread(topic=topic)
    with pytest.raises(ValidationFailed) as caught:
        await services.moderate_thread(actor=moderator, thread_id=thread.id, topic_slug="nowhere")
    assert caught.value.errors == {"topic": "Choose a topic."}
    assert (await Thread.get(id=thread.id)).topic_id == topic.id
    assert await _counts(topic=topic) == {"topic": (1, 1)}


async def test_moderators_lock_and_pin_threads_and_members_may_not():
    moderator, member = await make_user(role=Role.MODERATOR), await make_user()
    thread = await make_thread(member)
    with pytest.raises(NotAllowed):
        await services.moderate_thread(actor=member, thread_id=thread.id, locked=True)
    stored = await Thread.get(id=thread.id)
    assert not stored.is_locked and not stored.is_pinned
    await services.moderate_thread(actor=moderator, thread_id=thread.id, locked=True, pinned=True)
    stored = await Thread.get(id=thread.id)
    assert stored.is_locked and stored.is_pinned
    await services.moderate_thread(actor=moderator, thread_id=thread.id, locked=False)
    stored = await Thread.get(id=thread.id)
    assert not stored.is_locked and stored.is_pinned


# Locked and deleted threads


async def test_reply_to_locked_thread_is_refused_but_moderators_may_reply():
    asker = await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread(asker)
    await services.moderate_thread(actor=moderator, thread_id=thread.id, locked=True)
    with pytest.raises(NotAllowed, match="locked"):
        await services.reply(actor=asker, thread_id=thread.id, body="One more thing.")
    assert await Post.filter(thread_id=thread.id).count() == 1
    assert await _counts(thread=thread) == {"thread": (0, 1, asker.id)}
    post = await services.reply(actor=moderator, thread_id=thread.id, body="Closing note.")
    assert post.number == 2
    assert await _counts(thread=thread) == {"thread": (1, 2, moderator.id)}


async def test_reply_to_a_deleted_or_unknown_thread_is_not_found():
    moderator, member = await make_user(role=Role.MODERATOR), await make_user()
    thread = await make_thread()
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    with pytest.raises(NotFound):
        await services.reply(actor=member, thread_id=thread.id, body="Hello?")
    with pytest.raises(NotFound):
        await services.reply(actor=member, thread_id=thread.id + 100, body="Hello?")
    assert await Post.all().count() == 1


async def test_an_empty_reply_is_refused_and_writes_nothing():
    thread = await make_thread()
    with pytest.raises(ValidationFailed) as caught:
        await services.reply(actor=await make_user(), thread_id=thread.id, body="  \n ")
    assert list(caught.value.errors) == ["body"]
    assert await Post.all().count() == 1
    assert await _counts(thread=thread) == {"thread": (0, 1, thread.author_id)}


# Editing


async def test_only_the_author_or_a_moderator_can_edit_a_post():
    author, other = await make_user(), await make_user()
    mentor = await make_user(role=Role.MENTOR)
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread()
    post = await make_reply(thread, author, body="First draft.")
    for outsider in (other, mentor):
        with pytest.raises(NotAllowed):
            await services.edit_post(actor=outsider, post_id=post.id, body="Hijacked.")
    stored = await Post.get(id=post.id)
    assert (stored.body_source, stored.edit_count, stored.edited_at) == ("First draft.", 0, None)
    assert await PostRevision.all().count() == 0

    await services.edit_post(actor=author, post_id=post.id, body="Second draft.")
    await services.edit_post(actor=moderator, post_id=post.id, body="Tidied by a moderator.")
    stored = await Post.get(id=post.id)
    assert (stored.body_source, stored.edit_count) == ("Tidied by a moderator.", 2)
    assert stored.edited_at is not None


async def test_editing_keeps_a_revision_with_the_previous_text():
    author = await make_user()
    thread = await make_thread()
    post = await make_reply(thread, author, body="Ask for **broadly comparable** status.")
    await services.edit_post(actor=author, post_id=post.id, body="Ask for Fair Deal protection.")
    revision = await PostRevision.get(post_id=post.id)
    assert revision.body_source == "Ask for **broadly comparable** status."
    assert "<strong>broadly comparable</strong>" in revision.body_html
    assert (revision.editor_id, revision.title) == (author.id, "")
    stored = await Post.get(id=post.id)
    assert stored.body_source == "Ask for Fair Deal protection."
    assert "Fair Deal" in stored.body_html


async def test_editing_the_opening_post_keeps_the_previous_title_and_changes_the_thread():
    author = await make_user()
    thread = await make_thread(author, title="Pension bond sizes?", body="What did yours cost?",
                               tags="lgps")
    opening = await Post.get(thread_id=thread.id, number=1)
    await services.edit_post(
        actor=author, post_id=opening.id, body="What did your pension bond cost?",
        title="How big was your LGPS pension bond?", tags="lgps pension-bond",
    )
    revision = await PostRevision.get(post_id=opening.id)
    assert (revision.title, revision.body_source) == ("Pension bond sizes?", "What did yours cost?")
    stored = await Thread.get(id=thread.id)
    assert stored.title == "How big was your LGPS pension bond?"
    assert stored.slug == "how-big-was-your-lgps-pension-bond"
    assert stored.tags == ["lgps", "pension-bond"]


async def test_an_edit_with_bad_input_changes_nothing():
    author = await make_user()
    thread = await make_thread(author, title="Pension bond sizes?")
    opening = await Post.get(thread_id=thread.id, number=1)
    with pytest.raises(ValidationFailed) as caught:
        await services.edit_post(actor=author, post_id=opening.id, body="", title="Short",
                                 tags="a b c d e f")
    assert set(caught.value.errors) == {"body", "title", "tags"}
    assert await PostRevision.all().count() == 0
    assert (await Thread.get(id=thread.id)).title == "Pension bond sizes?"
    assert (await Post.get(id=opening.id)).edit_count == 0


async def test_members_cannot_edit_in_a_locked_thread_but_moderators_can():
    author = await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread()
    post = await make_reply(thread, author)
    await services.moderate_thread(actor=moderator, thread_id=thread.id, locked=True)
    with pytest.raises(NotAllowed):
        await services.edit_post(actor=author, post_id=post.id, body="Changed my mind.")
    await services.edit_post(actor=moderator, post_id=post.id, body="Redacted phone number.")
    assert (await Post.get(id=post.id)).body_source == "Redacted phone number."


async def test_editing_an_unknown_post_is_not_found():
    with pytest.raises(NotFound):
        await services.edit_post(actor=await make_user(), post_id=999, body="Anything.")


# Deleting and restoring


async def test_deleting_is_soft_and_only_a_moderator_restores():
    author = await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread()
    post = await make_reply(thread, author, body="Oops, wrong thread.")
    await services.delete_post(actor=author, post_id=post.id)
    stored = await Post.get(id=post.id)
    assert stored.deleted_at is not None
    assert stored.deleted_by_id == author.id
    assert stored.body_source == "Oops, wrong thread."
    with pytest.raises(NotAllowed):
        await services.restore_post(actor=author, post_id=post.id)
    assert (await Post.get(id=post.id)).deleted_at is not None
    await services.restore_post(actor=moderator, post_id=post.id)
    stored = await Post.get(id=post.id)
    assert (stored.deleted_at, stored.deleted_by_id) == (None, None)


async def test_members_cannot_delete_other_members_posts():
    author, other = await make_user(), await make_user()
    thread = await make_thread(other)
    post = await make_reply(thread, author)
    with pytest.raises(NotAllowed):
        await services.delete_post(actor=other, post_id=post.id)
    assert (await Post.get(id=post.id)).deleted_at is None
    assert await _counts(thread=thread) == {"thread": (1, 2, author.id)}


async def test_a_moderator_deletes_any_post():
    thread = await make_thread()
    post = await make_reply(thread)
    moderator = await make_user(role=Role.MODERATOR)
    await services.delete_post(actor=moderator, post_id=post.id)
    assert (await Post.get(id=post.id)).deleted_by_id == moderator.id


async def test_deleting_the_accepted_answer_clears_it():
    asker, helper = await make_user(), await make_user()
    thread = await make_thread(asker)
    answer = await make_reply(thread, helper)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    await services.delete_post(actor=helper, post_id=answer.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None
    await services.restore_post(actor=await make_user(role=Role.MODERATOR), post_id=answer.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None


async def test_the_author_cannot_delete_the_opening_post_once_there_are_replies():
    asker = await make_user()
    topic = await make_topic()
    thread = await make_thread(asker, topic)
    await make_reply(thread)
    opening = await Post.get(thread_id=thread.id, number=1)
    with pytest.raises(NotAllowed, match="Others have replied"):
        await services.delete_post(actor=asker, post_id=opening.id)
    assert (await Thread.get(id=thread.id)).deleted_at is None
    assert await _counts(topic=topic) == {"topic": (1, 2)}
    await services.delete_post(actor=await make_user(role=Role.MODERATOR), post_id=opening.id)
    assert (await Thread.get(id=thread.id)).deleted_at is not None
    assert await _counts(topic=topic) == {"topic": (0, 0)}


async def test_the_author_deletes_an_unanswered_thread_by_deleting_its_opening_post():
    asker = await make_user()
    topic = await make_topic()
    thread = await make_thread(asker, topic)
    opening = await Post.get(thread_id=thread.id, number=1)
    await services.delete_post(actor=asker, post_id=opening.id)
    assert (await Thread.get(id=thread.id)).deleted_at is not None
    assert await _counts(topic=topic, user=asker) == {"topic": (0, 0), "user": (0, 0)}
    await services.restore_post(actor=await make_user(role=Role.MODERATOR), post_id=opening.id)
    assert (await Thread.get(id=thread.id)).deleted_at is None
    assert await _counts(topic=topic, user=asker) == {"topic": (1, 1), "user": (1, 0)}


# Accepted answers


async def test_only_the_asker_or_a_moderator_can_accept_an_answer():
    asker, helper, bystander = await make_user(), await make_user(), await make_user()
    moderator = await make_user(role=Role.MODERATOR)
    thread = await make_thread(asker)
    answer = await make_reply(thread, helper)
    for outsider in (helper, bystander):
        with pytest.raises(NotAllowed):
            await services.accept_answer(actor=outsider, thread_id=thread.id, post_id=answer.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None
    await services.accept_answer(actor=moderator, thread_id=thread.id, post_id=answer.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id == answer.id
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=None)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    stored = await Thread.get(id=thread.id)
    assert stored.accepted_post_id == answer.id and stored.is_solved


async def test_accepting_another_reply_changes_the_accepted_answer():
    asker = await make_user()
    thread = await make_thread(asker)
    first, second = await make_reply(thread), await make_reply(thread)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=first.id)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=second.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id == second.id


async def test_accepting_the_current_answer_again_or_nothing_clears_it():
    asker = await make_user()
    thread = await make_thread(asker)
    answer = await make_reply(thread)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=answer.id)
    await services.accept_answer(actor=asker, thread_id=thread.id, post_id=None)
    stored = await Thread.get(id=thread.id)
    assert stored.accepted_post_id is None and not stored.is_solved


async def test_accepting_the_opening_post_a_deleted_reply_or_another_threads_post_is_refused():
    asker = await make_user()
    thread, elsewhere = await make_thread(asker), await make_thread(asker)
    opening = await Post.get(thread_id=thread.id, number=1)
    foreign = await make_reply(elsewhere)
    deleted = await make_reply(thread)
    await services.delete_post(actor=await make_user(role=Role.MODERATOR), post_id=deleted.id)
    for post_id in (opening.id, foreign.id, deleted.id, 9999):
        with pytest.raises(NotFound):
            await services.accept_answer(actor=asker, thread_id=thread.id, post_id=post_id)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None


async def test_discussions_have_no_accepted_answer():
    author = await make_user()
    thread = await make_thread(author, kind="discussion")
    post = await make_reply(thread)
    with pytest.raises(NotAllowed):
        await services.accept_answer(actor=author, thread_id=thread.id, post_id=post.id)
    assert (await Thread.get(id=thread.id)).accepted_post_id is None


# Helpful marks


async def test_helpful_toggles_once_per_member_and_keeps_the_count_right():
    author, reader, other = await make_user(), await make_user(), await make_user()
    post = await make_reply(await make_thread(), author)
    post_after, marked = await services.toggle_helpful(actor=reader, post_id=post.id)
    assert marked and post_after.helpful_count == 1
    _, marked = await services.toggle_helpful(actor=other, post_id=post.id)
    assert marked
    assert (await Post.get(id=post.id)).helpful_count == 2
    assert await HelpfulVote.filter(post_id=post.id).count() == 2
    post_after, marked = await services.toggle_helpful(actor=reader, post_id=post.id)
    assert not marked and post_after.helpful_count == 1
    assert await HelpfulVote.filter(post_id=post.id, user_id=reader.id).count() == 0
    assert (await Post.get(id=post.id)).helpful_count == 1


async def test_marking_your_own_post_helpful_is_refused():
    author = await make_user()
    post = await make_reply(await make_thread(), author)
    with pytest.raises(NotAllowed):
        await services.toggle_helpful(actor=author, post_id=post.id)
    assert (await Post.get(id=post.id)).helpful_count == 0
    assert await HelpfulVote.all().count() == 0


async def test_marking_a_deleted_or_unknown_post_helpful_is_not_found():
    post = await make_reply(await make_thread())
    await services.delete_post(actor=await make_user(role=Role.MODERATOR), post_id=post.id)
    for post_id in (post.id, 9999):
        with pytest.raises(NotFound):
            await services.toggle_helpful(actor=await make_user(), post_id=post_id)
    assert await HelpfulVote.all().count() == 0


async def test_posts_of_a_deleted_thread_cannot_be_marked_helpful_by_members():
    thread = await make_thread()
    post = await make_reply(thread)
    moderator = await make_user(role=Role.MODERATOR)
    await services.moderate_thread(actor=moderator, thread_id=thread.id, deleted=True)
    with pytest.raises(NotFound):
        await services.toggle_helpful(actor=await make_user(), post_id=post.id)
    assert (await Post.get(id=post.id)).helpful_count == 0
    _, marked = await services.toggle_helpful(actor=moderator, post_id=post.id)
    assert marked


# Signed out, rate limits, markdown


def _signed_out_calls(thread: Thread, post: Post) -> list[Callable[[], Awaitable[object]]]:
    return [
        lambda: services.create_thread(actor=None, topic_slug="x", **GOOD),
        lambda: services.reply(actor=None, thread_id=thread.id, body="Hello there."),
        lambda: services.edit_post(actor=None, post_id=post.id, body="Hello there."),
        lambda: services.delete_post(actor=None, post_id=post.id),
        lambda: services.restore_post(actor=None, post_id=post.id),
        lambda: services.toggle_helpful(actor=None, post_id=post.id),
        lambda: services.accept_answer(actor=None, thread_id=thread.id, post_id=post.id),
        lambda: services.moderate_thread(actor=None, thread_id=thread.id, locked=True),
    ]


async def test_a_signed_out_actor_is_asked_to_sign_in_for_every_change():
    thread = await make_thread()
    post = await make_reply(thread)
    for call in _signed_out_calls(thread, post):
        with pytest.raises(SignInRequired):
            await call()
    stored = await Thread.get(id=thread.id)
    assert (stored.reply_count, stored.accepted_post_id, stored.is_locked) == (1, None, False)
    assert (await Post.get(id=post.id)).helpful_count == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_posting_rate_limiter_refuses_with_rate_limited_and_writes_nothing():
    author = await make_user()
    topic = await make_topic("finance")
    clock = FakeClock()
    limiter = RateLimiter(2, 60, clock=clock)
    thread = await services.create_thread(actor=author, topic_slug="finance", limiter=limiter, **GOOD)
    await services.reply(actor=author, thread_id=thread.id, body="An update.", limiter=limiter)
    with pytest.raises(RateLimited) as caught:
        await services.reply(actor=author, thread_id=thread.id, body="Spam.", limiter=limiter)
    assert 1 <= caught.value.retry_after <= 61
    with pytest.raises(RateLimited):
        await services.create_thread(actor=author, topic_slug="finance", limiter=limiter, **GOOD)
    assert await Thread.all().count() == 1
    assert await Post.all().count() == 2
    assert await _counts(topic=topic, user=author) == {"topic": (1, 2), "user": (1, 1)}
    # Someone else is not held back, and the author may post again after the window.
    await services.reply(actor=await make_user(), thread_id=thread.id, body="Hi.", limiter=limiter)
    clock.now += 61
    await services.reply(actor=author, thread_id=thread.id, body="Later.", limiter=limiter)
    assert await Post.all().count() == 4


async def test_markdown_is_stored_rendered_and_sanitised():
    author = await make_user()
    await make_topic("legal")
    source = (
        "**CIC** or *co-op*? <script>alert(1)</script>\n\n"
        "[click](javascript:alert(1)) <img src=x onerror=alert(1)> thanks @Bob_1"
    )
    thread = await services.create_thread(
        actor=author, topic_slug="legal", kind="question", title="Which legal form suits us?",
        body=source,
    )
    opening = await Post.get(thread_id=thread.id, number=1)
    assert opening.body_source == source
    html = opening.body_html
    assert "<strong>CIC</strong>" in html and "<em>co-op</em>" in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    assert '<a href="/u/bob_1" class="mention"' in html or 'href="/u/bob_1"' in html

    post = await services.reply(actor=author, thread_id=thread.id, body="<b>x</b> _fine_")
    assert "<b>" not in (await Post.get(id=post.id)).body_html
    assert "<em>fine</em>" in (await Post.get(id=post.id)).body_html
    await services.edit_post(actor=author, post_id=post.id, body="<iframe src=//evil></iframe> ok")
    edited = await Post.get(id=post.id)
    assert "<iframe" not in edited.body_html and "ok" in edited.body_html


async def test_a_reply_moves_every_counter_and_notes_the_post_for_search(count_queries):
    from forum.caching import stamps
    from search_index.outbox import OutboxEntry

    topic = await make_topic("tupe")
    asker, replier = await make_user(), await make_user()
    thread = await make_thread(asker, topic)
    stamp = await stamps.read(stamps.CONTENT)
    count_queries.statements.clear()
    post = await services.reply(actor=replier, thread_id=thread.id,
                                body="See [the rules](https://a.example/).")
    # One write of five statements and the stamp, after nothing but the checks.
    assert count_queries.count == 6
    stored = await Post.get(id=post.id)
    assert (stored.number, stored.author_id, stored.link_count) == (2, replier.id, 1)
    assert (post.number, post.body_html, post.thread.url) == (2, stored.body_html, thread.url)
    assert await _counts(topic=topic, thread=thread) == {
        "topic": (1, 2), "thread": (1, 2, replier.id),
    }
    assert (await User.get(id=replier.id)).reply_count == 1
    assert (await Thread.get(id=thread.id)).last_activity_at == stored.created_at
    assert f"post-{post.id}" in await OutboxEntry.all().values_list("doc_id", flat=True)
    assert await stamps.read(stamps.CONTENT) == stamp + 1
