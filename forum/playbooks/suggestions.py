"""Suggested edits: any member proposes, a maintainer accepts (a new revision) or declines."""

from __future__ import annotations

from tortoise.timezone import now

from forum.accounts.models import User
from forum.db import write_transaction
from forum.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from forum.playbooks import permissions
from forum.playbooks.content import NOTE_MAX, Draft, check_draft
from forum.playbooks.models import SUGGESTED_FIELDS, Playbook, PlaybookSuggestion, SuggestionStatus
from forum.playbooks.services import (
    apply_content,
    check_note,
    locked_playbook,
    maintainer_ids,
    require_user,
)

REASON_MIN, REASON_MAX = 3, 2000


async def suggest_edit(
    *, actor: User | None, playbook_id: int, draft: Draft, base_revision: int, change_note: str
) -> PlaybookSuggestion:
    """Queue `draft` for the maintainers; nothing changes on the playbook yet."""
    actor = require_user(actor)
    errors: dict[str, str] = {}
    content = check_draft(draft, errors, classify=False)
    note = check_note(change_note, errors)
    if errors:
        raise ValidationFailed(errors)
    playbook = await Playbook.get_or_none(id=playbook_id)
    if playbook is None:
        raise NotFound("That playbook doesn't exist.")
    if base_revision > playbook.revision_number:
        raise ValidationFailed({"base_revision": "That isn't a revision of this playbook."})
    if all(getattr(playbook, name) == content[name] for name in SUGGESTED_FIELDS):
        raise ValidationFailed({"__all__": "Your suggestion is the same as the playbook: change something first."})
    async with write_transaction():
        return await PlaybookSuggestion.create(
            playbook_id=playbook.id, author_id=actor.id, base_revision=base_revision,
            change_note=note, created_at=now(), **{name: content[name] for name in SUGGESTED_FIELDS},
        )


async def _pending(suggestion_id: int) -> tuple[PlaybookSuggestion, Playbook]:
    found = await PlaybookSuggestion.filter(id=suggestion_id).values_list("playbook_id", flat=True)
    if not found:
        raise NotFound("That suggestion doesn't exist.")
    # Read again under the playbook's lock: two maintainers may decide at once.
    playbook = await locked_playbook(found[0])  # type: ignore[arg-type]
    suggestion = await PlaybookSuggestion.get(id=suggestion_id).select_related("author")
    if suggestion.status != SuggestionStatus.PENDING:
        raise Conflict(f"That suggestion was already {suggestion.status}.")
    return suggestion, playbook


async def accept_suggestion(
    *, actor: User | None, suggestion_id: int, seen_revision: int
) -> Playbook:
    """Make the suggestion the playbook's next revision, credited to its author.

    `seen_revision` is the revision the maintainer compared it with: if the
    playbook moved on since, they must look again.
    """
    actor = require_user(actor)
    async with write_transaction():
        suggestion, playbook = await _pending(suggestion_id)
        if not permissions.can_decide_suggestions(actor, await maintainer_ids(playbook.id)):
            raise NotAllowed("Only the playbook's maintainers and moderators decide on suggestions.")
        if playbook.revision_number != seen_revision:
            raise Conflict(
                f"The playbook changed (it is now at revision {playbook.revision_number}) since "
                "you compared this suggestion with it. Look at the suggestion again."
            )
        note = f"{suggestion.change_note} (suggested by {suggestion.author.display_name}, accepted by {actor.display_name})"
        content = {name: getattr(suggestion, name) for name in SUGGESTED_FIELDS}
        await apply_content(playbook, content, suggestion.author, note[:NOTE_MAX], now())
        suggestion.status, suggestion.decided_by_id = SuggestionStatus.ACCEPTED, actor.id  # type: ignore[attr-defined]
        suggestion.decided_at, suggestion.accepted_revision = now(), playbook.revision_number
        await suggestion.save(update_fields=["status", "decided_by_id", "decided_at", "accepted_revision"])
    return playbook


async def decline_suggestion(*, actor: User | None, suggestion_id: int, reason: str) -> PlaybookSuggestion:
    """Turn a suggestion down, telling its author why."""
    actor = require_user(actor)
    reason = reason.strip()
    if len(reason) < REASON_MIN:
        raise ValidationFailed({"reason": "Tell the member why, so they can try again or learn from it."})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": f"Keep the reason under {REASON_MAX:,} characters."})
    async with write_transaction():
        suggestion, playbook = await _pending(suggestion_id)
        if not permissions.can_decide_suggestions(actor, await maintainer_ids(playbook.id)):
            raise NotAllowed("Only the playbook's maintainers and moderators decide on suggestions.")
        suggestion.status, suggestion.decided_by_id = SuggestionStatus.DECLINED, actor.id  # type: ignore[attr-defined]
        suggestion.decided_at, suggestion.decision_reason = now(), reason
        await suggestion.save(update_fields=["status", "decided_by_id", "decided_at", "decision_reason"])
    return suggestion
