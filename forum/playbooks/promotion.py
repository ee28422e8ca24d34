"""Promoting a solved question: a playbook draft prefilled from the question and its answer."""

from __future__ import annotations

from tortoise.expressions import Q

from forum.content.markdown import excerpt
from forum.errors import NotFound, ValidationFailed
from forum.playbooks.content import Draft, StepDraft
from forum.threads.models import Post, Thread


async def promotion_source(thread_id: int) -> tuple[Thread, Post, Post]:
    """The solved question, its opening post and its accepted answer: two queries."""
    thread = await Thread.get_or_none(id=thread_id, deleted_at=None).select_related("topic")
    if thread is None:
        raise NotFound("That thread doesn't exist.")
    if not thread.is_solved:
        raise ValidationFailed(
            {"__all__": "Only a solved question (one with an accepted answer) can become a playbook."}
        )
    posts = await Post.filter(
        Q(thread_id=thread.id) & (Q(number=1) | Q(id=thread.accepted_post_id))  # type: ignore[attr-defined]
    ).select_related("author")
    opening = next(p for p in posts if p.number == 1)
    answer = next((p for p in posts if p.id == thread.accepted_post_id), None)  # type: ignore[attr-defined]
    if answer is None or answer.deleted_at is not None:
        raise ValidationFailed({"__all__": "The accepted answer was deleted: there is nothing to promote."})
    return thread, opening, answer


def promotion_draft(thread: Thread, opening: Post, answer: Post) -> Draft:
    """A first draft for a mentor to shape: the question as background, the answer as step 1."""
    background = (
        f"Written from the question [{thread.title}]({thread.url}) "
        f"asked by @{opening.author.username}, and the answer by @{answer.author.username}.\n\n"
        + "\n".join(f"> {line}" if line else ">" for line in opening.body_source.splitlines())
    )
    return Draft(
        title=thread.title.rstrip("?").strip(),
        summary=excerpt(answer.body_source, 400),
        body=background, topic=thread.topic.slug, tags=" ".join(thread.tags),
        steps=[StepDraft(title="What worked", body=answer.body_source)],
    )
