"""Who may do what to playbooks. Services check these; templates only mirror them.

`maintainer_ids` is the set of the playbook's maintainers' user ids, which the
caller has already read (so templates never query).
"""

from __future__ import annotations

from collections.abc import Collection

from forum.accounts.models import User


def is_moderator(user: User | None) -> bool:
    return user is not None and user.is_moderator


def is_mentor_or_moderator(user: User | None) -> bool:
    return user is not None and (user.is_mentor or user.is_moderator)


def can_create(user: User | None) -> bool:
    """Mentors, moderators and admins write new playbooks."""
    return is_mentor_or_moderator(user)


def is_maintainer(user: User | None, maintainer_ids: Collection[int]) -> bool:
    return user is not None and user.id in maintainer_ids


def can_edit(user: User | None, maintainer_ids: Collection[int]) -> bool:
    """Maintainers, mentors and moderators edit directly (and so restore revisions)."""
    return is_mentor_or_moderator(user) or is_maintainer(user, maintainer_ids)


def can_restore(user: User | None, maintainer_ids: Collection[int]) -> bool:
    return can_edit(user, maintainer_ids)


def can_verify(user: User | None, maintainer_ids: Collection[int] = ()) -> bool:
    """Mentors and moderators vouch that a playbook is still right."""
    return is_mentor_or_moderator(user)


def can_suggest(user: User | None, maintainer_ids: Collection[int]) -> bool:
    """Any signed-in member who can't edit directly suggests an edit instead."""
    return user is not None and not can_edit(user, maintainer_ids)


def can_decide_suggestions(user: User | None, maintainer_ids: Collection[int]) -> bool:
    """Maintainers accept or decline suggestions; moderators may step in."""
    return is_moderator(user) or is_maintainer(user, maintainer_ids)


def can_manage_maintainers(user: User | None, maintainer_ids: Collection[int]) -> bool:
    return is_moderator(user) or is_maintainer(user, maintainer_ids)


def can_see_due_list(user: User | None) -> bool:
    return is_mentor_or_moderator(user)


def can_report_outcome(user: User | None) -> bool:
    return user is not None


def can_track_progress(user: User | None) -> bool:
    """Progress belongs to an organisation: only its members tick items."""
    return user is not None and user.organisation_id is not None  # type: ignore[attr-defined]
