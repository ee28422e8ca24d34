"""Deleting an account: the member's posts stay (anonymised) or go, as they choose.

The account row itself stays, renamed and emptied, so that kept posts, playbook
revisions and moderation history still point at someone ("Former member");
nothing in it identifies the person any more. Every search document whose author
or text changes is sent to the search outbox in the same transaction.
"""

from __future__ import annotations

from collections import Counter

from tortoise.expressions import F
from tortoise.timezone import now

from forum.accounts import passwords
from forum.accounts.models import Identity, Invitation, Session, User
from forum.db import write_transaction
from forum.errors import ValidationFailed
from forum.playbooks.documents import playbook_doc_id
from forum.playbooks.models import OutcomeReport, Playbook, PlaybookMaintainer, PlaybookSuggestion
from forum.threads import services as thread_services
from forum.threads.documents import post_doc_id, thread_doc_id
from forum.threads.models import Post, PostRevision
from search_index import outbox

FORMER_MEMBER = "Former member"
REMOVED_TEXT = "*This post was removed by its author.*"
REMOVED_HTML = "<p><em>This post was removed by its author.</em></p>"


async def check_deletion_confirmed(*, user: User, password: str, confirm_username: str) -> None:
    """The member proves it is them (password) and means it (their username, typed)."""
    errors: dict[str, str] = {}
    if confirm_username.strip().lower() != user.username_key:
        errors["confirm_username"] = f"Type your username, {user.username}, to confirm."
    if user.password_hash and not await passwords.verify_password(password, user.password_hash):
        errors["password"] = "That isn't your current password."
    if errors:
        raise ValidationFailed(errors)


async def delete_account(*, user: User, remove_posts: bool) -> None:
    """Delete `user`'s account; with `remove_posts`, their posts and reports go too."""
    if remove_posts:
        await _remove_contributions(user)
    async with write_transaction():
        posts = await Post.filter(author_id=user.id).values_list("id", "thread_id", "number")
        playbooks = await Playbook.filter(created_by_id=user.id).values_list("id", flat=True)
        await User.filter(id=user.id).update(
            username=f"deleted-{user.id}", username_key=f"deleted-{user.id}",
            display_name=FORMER_MEMBER, email=f"deleted-{user.id}@deleted.invalid",
            password_hash="", bio="", organisation_id=None, is_active=False,
            email_verified_at=None, held_reason="", deleted_at=now(),
        )
        await Session.filter(user_id=user.id).delete()
        await Identity.filter(user_id=user.id).delete()
        await PlaybookMaintainer.filter(user_id=user.id).delete()
        await Invitation.filter(created_by_id=user.id, revoked_at=None).update(revoked_at=now())
        # Every document that names them as its author changes.
        await outbox.enqueue(
            [thread_doc_id(t) if n == 1 else post_doc_id(p) for p, t, n in posts]
            + [playbook_doc_id(p) for p in playbooks]
        )


async def _remove_contributions(user: User) -> None:
    """Take down the member's replies, their threads nobody answered, and their reports;
    threads others replied to stay for the replies' sake, their opening text erased."""
    replies = await Post.filter(author_id=user.id, number__gt=1, deleted_at=None).values_list("id", flat=True)
    for post_id in replies:
        await thread_services.delete_post(actor=user, post_id=post_id)
    openings = await Post.filter(author_id=user.id, number=1).select_related("thread")
    for opening in openings:
        if opening.thread.reply_count == 0 and opening.thread.deleted_at is None:
            await thread_services.delete_post(actor=user, post_id=opening.id)
    async with write_transaction():
        post_ids = await Post.filter(author_id=user.id).values_list("id", flat=True)
        await Post.filter(id__in=post_ids).update(
            body_source=REMOVED_TEXT, body_html=REMOVED_HTML, link_count=0
        )
        await PostRevision.filter(post_id__in=post_ids).delete()
        reports = await OutcomeReport.filter(author_id=user.id).values_list("playbook_id", flat=True)
        for playbook_id, count in Counter(reports).items():
            await Playbook.filter(id=playbook_id).update(outcome_count=F("outcome_count") - count)
        await OutcomeReport.filter(author_id=user.id).delete()
        await PlaybookSuggestion.filter(author_id=user.id).delete()
