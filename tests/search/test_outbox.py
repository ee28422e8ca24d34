"""Every change to searchable content writes its outbox rows in the change's own transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from forum.accounts.models import Role, User
from forum.db import Statement, write_transaction
from forum.errors import NotAllowed, ValidationFailed
from forum.threads import posting, services
from forum.threads.models import Post, PostRevision, Thread, Topic
from search_index import outbox
from search_index.outbox import OutboxEntry
from tests.factories import make_reply, make_thread, make_topic, make_user


class CrashAfterEnqueue(Exception):
    """Stands for anything that fails after the outbox row was written (a bug, a lost connection)."""


@dataclass
class Scene:
    """A question with two replies, and the people and places to act on it."""

    asker: User
    helper: User
    moderator: User
    thread: Thread
    opening: Post
    first: Post
    second: Post
    elsewhere: Topic

    def whole_thread(self) -> list[str]:
        return [f"thread-{self.thread.id}", f"post-{self.first.id}", f"post-{self.second.id}"]


async def build_scene() -> Scene:
    asker, helper = await make_user("asker"), await make_user("helper")
    moderator = await make_user("moddy", role=Role.MODERATOR)
    thread = await make_thread(
        asker, await make_topic("tupe-pensions"), title="Who underwrote your pension bond?",
        body="The LGPS fund wants a bond before admitting us.",
    )
    first = await make_reply(thread, helper, "Our council stood guarantor.")
    second = await make_reply(thread, helper, "We paid for an insurance bond.")
    opening = await Post.get(thread_id=thread.id, number=1)
    return Scene(asker, helper, moderator, thread, opening, first, second, await make_topic("finance"))


Action = Callable[[Scene], Awaitable[list[str]]]


async def ask(s: Scene) -> list[str]:
    thread = await services.create_thread(
        actor=s.asker, topic_slug=s.elsewhere.slug, kind="question",
        title="How did you value the building lease?", body="Asking for a friend.",
    )
    return [f"thread-{thread.id}"]


async def reply(s: Scene) -> list[str]:
    post = await services.reply(actor=s.helper, thread_id=s.thread.id, body="Try the pension bond route.")
    return [f"post-{post.id}"]


async def edit_reply(s: Scene) -> list[str]:
    await services.edit_post(actor=s.helper, post_id=s.first.id, body="Our council stood guarantor, in 2019.")
    return [f"post-{s.first.id}"]


async def edit_opening_text(s: Scene) -> list[str]:
    await services.edit_post(actor=s.asker, post_id=s.opening.id, body="The LGPS fund wants a bond.")
    return [f"thread-{s.thread.id}"]


async def retitle(s: Scene) -> list[str]:
    await services.edit_post(
        actor=s.asker, post_id=s.opening.id, body="Same text.", title="Who paid for your pension bond?",
        tags="lgps",
    )
    return s.whole_thread()


async def delete_reply(s: Scene) -> list[str]:
    await services.delete_post(actor=s.helper, post_id=s.first.id)
    return [f"post-{s.first.id}", f"thread-{s.thread.id}"]


async def delete_thread(s: Scene) -> list[str]:
    await services.delete_post(actor=s.moderator, post_id=s.opening.id)
    return s.whole_thread()


async def hide_first_reply(s: Scene) -> None:
    await services.delete_post(actor=s.helper, post_id=s.first.id)


async def restore_reply(s: Scene) -> list[str]:
    await services.restore_post(actor=s.moderator, post_id=s.first.id)
    return [f"post-{s.first.id}"]


async def hide_thread(s: Scene) -> None:
    await services.moderate_thread(actor=s.moderator, thread_id=s.thread.id, deleted=True)


async def restore_thread(s: Scene) -> list[str]:
    await services.moderate_thread(actor=s.moderator, thread_id=s.thread.id, deleted=False)
    return s.whole_thread()


async def move(s: Scene) -> list[str]:
    await services.moderate_thread(actor=s.moderator, thread_id=s.thread.id, topic_slug=s.elsewhere.slug)
    return s.whole_thread()


async def accept(s: Scene) -> list[str]:
    await services.accept_answer(actor=s.asker, thread_id=s.thread.id, post_id=s.first.id)
    return [f"thread-{s.thread.id}", f"post-{s.first.id}"]


async def accept_the_first(s: Scene) -> None:
    await services.accept_answer(actor=s.asker, thread_id=s.thread.id, post_id=s.first.id)


async def change_accepted(s: Scene) -> list[str]:
    await services.accept_answer(actor=s.asker, thread_id=s.thread.id, post_id=s.second.id)
    return [f"thread-{s.thread.id}", f"post-{s.first.id}", f"post-{s.second.id}"]


# name: (what to do first, outside the test's view; the change; it returns the ids it should note)
CHANGES: dict[str, tuple[Callable[[Scene], Awaitable[None]] | None, Action]] = {
    "asking a question": (None, ask),
    "replying": (None, reply),
    "editing a reply": (None, edit_reply),
    "editing the opening post": (None, edit_opening_text),
    "retitling a thread": (None, retitle),
    "deleting a reply": (None, delete_reply),
    "deleting a thread": (None, delete_thread),
    "restoring a reply": (hide_first_reply, restore_reply),
    "restoring a thread": (hide_thread, restore_thread),
    "moving a thread": (None, move),
    "accepting an answer": (None, accept),
    "changing the accepted answer": (accept_the_first, change_accepted),
}


async def outbox_doc_ids() -> list[str]:
    return list(await OutboxEntry.all().order_by("id").values_list("doc_id", flat=True))


async def forum_state() -> tuple[object, ...]:
    """Everything the changes above touch, to compare before and after."""
    return (
        await Thread.all().order_by("id").values(
            "id", "title", "tags", "topic_id", "accepted_post_id", "deleted_at", "reply_count",
            "last_post_number",
        ),
        await Post.all().order_by("id").values("id", "body_source", "deleted_at", "edit_count"),
        await PostRevision.all().count(),
        await Topic.all().order_by("id").values("id", "thread_count", "post_count"),
        await User.all().order_by("id").values("id", "thread_count", "reply_count"),
    )


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_successful_change_leaves_its_outbox_rows(db, change):
    prepare, act = CHANGES[change]
    scene = await build_scene()
    if prepare:
        await prepare(scene)
    await OutboxEntry.all().delete()

    expected = await act(scene)

    assert sorted(await outbox_doc_ids()) == sorted(expected)
    rows = await OutboxEntry.all()
    assert all((r.attempts, r.next_attempt_at, r.dead, r.last_error) == (0, None, False, "") for r in rows)


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_failure_after_enqueueing_rolls_back_the_change_and_its_outbox_rows(
    db, change, monkeypatch
):
    prepare, act = CHANGES[change]
    scene = await build_scene()
    if prepare:
        await prepare(scene)
    await OutboxEntry.all().delete()
    before = await forum_state()
    real_enqueue = outbox.enqueue

    async def enqueue_then_crash(doc_ids) -> None:
        await real_enqueue(doc_ids)
        assert await OutboxEntry.all().count(), "the row was written before the crash"
        raise CrashAfterEnqueue()

    # Changes written as plain statements (a reply) enqueue with a statement of
    # the batch: the crash comes right after all of them, before the commit.
    real_write_statements = posting.write_statements

    async def write_statements_then_crash(statements, **options):
        assert any(s.sql == outbox.ENQUEUE_SQL for s in statements)

        def crash(rows):
            raise CrashAfterEnqueue()

        return await real_write_statements([*statements, Statement("SELECT 1", crash)], **options)

    monkeypatch.setattr(outbox, "enqueue", enqueue_then_crash)
    monkeypatch.setattr(posting, "write_statements", write_statements_then_crash)

    with pytest.raises(CrashAfterEnqueue):
        await act(scene)

    assert await outbox_doc_ids() == []
    assert await forum_state() == before


async def test_an_enqueue_inside_a_failed_write_transaction_is_rolled_back_with_the_change(db):
    scene = await build_scene()
    await OutboxEntry.all().delete()

    with pytest.raises(CrashAfterEnqueue):
        async with write_transaction():
            await Post.filter(id=scene.first.id).update(body_source="Changed")
            await outbox.enqueue([f"post-{scene.first.id}"])
            raise CrashAfterEnqueue()

    assert (await Post.get(id=scene.first.id)).body_source == "Our council stood guarantor."
    assert await outbox_doc_ids() == []


async def test_enqueue_writes_one_row_per_distinct_document_and_nothing_for_none(db):
    async with write_transaction():
        await outbox.enqueue(["post-1", "thread-2", "post-1"])
        await outbox.enqueue([])

    assert await outbox_doc_ids() == ["post-1", "thread-2"]


async def test_a_refused_change_writes_no_outbox_row(db):
    scene = await build_scene()
    await OutboxEntry.all().delete()

    with pytest.raises(NotAllowed):
        await services.edit_post(actor=scene.asker, post_id=scene.first.id, body="Not mine to edit.")
    with pytest.raises(ValidationFailed):
        await services.reply(actor=scene.helper, thread_id=scene.thread.id, body=" ")

    assert await outbox_doc_ids() == []
