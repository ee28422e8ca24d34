"""Download my data: everything the network holds about a member, as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from forum.accounts.models import Identity, Invitation, Session, User
from forum.playbooks.models import OutcomeReport, PlaybookRevision, PlaybookSuggestion
from forum.threads.models import Post


def _when(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


async def export_account(user: User) -> dict[str, Any]:
    """The member's profile, sign-in methods, sessions, posts, playbook edits and reports.

    A fixed number of queries, however much the member wrote.
    """
    member = await User.get(id=user.id).select_related("organisation")
    identities = await Identity.filter(user_id=user.id).order_by("created_at")
    sessions = await Session.filter(user_id=user.id).order_by("-last_seen_at")
    posts = await Post.filter(author_id=user.id).order_by("created_at", "id").select_related("thread")
    revisions = await PlaybookRevision.filter(author_id=user.id).order_by("created_at").select_related("playbook")
    suggestions = await PlaybookSuggestion.filter(author_id=user.id).order_by("created_at").select_related("playbook")
    reports = await OutcomeReport.filter(author_id=user.id).order_by("created_at").select_related("playbook")
    invitations = await Invitation.filter(created_by_id=user.id).order_by("created_at")
    return {
        "format": "mutuals-knowledge-network/account-export/1",
        "profile": {
            "username": member.username, "display_name": member.display_name,
            "email": member.email, "email_verified_at": _when(member.email_verified_at),
            "role": str(member.role), "bio": member.bio,
            "organisation": member.organisation.name if member.organisation else None,
            "joined_at": _when(member.created_at),
        },
        "sign_in_methods": [
            {"provider": i.provider, "email": i.email, "linked_at": _when(i.created_at),
             "last_used_at": _when(i.last_used_at)} for i in identities
        ],
        "sessions": [
            {"started_at": _when(s.created_at), "last_seen_at": _when(s.last_seen_at),
             "ip_address": s.ip_address, "user_agent": s.user_agent} for s in sessions
        ],
        "threads": [
            {"id": p.thread.id, "title": p.thread.title, "kind": str(p.thread.kind),
             "tags": p.thread.tags, "url": p.thread.url, "created_at": _when(p.thread.created_at),
             "deleted": p.thread.deleted_at is not None} for p in posts if p.number == 1
        ],
        "posts": [
            {"id": p.id, "thread_id": p.thread.id, "thread_title": p.thread.title,
             "number": p.number, "url": p.url, "body_markdown": p.body_source,
             "created_at": _when(p.created_at), "edited_at": _when(p.edited_at),
             "deleted": p.deleted_at is not None} for p in posts
        ],
        "playbook_edits": [
            {"playbook": r.playbook.slug, "revision": r.number, "change_note": r.change_note,
             "title": r.title, "created_at": _when(r.created_at)} for r in revisions
        ],
        "playbook_suggestions": [
            {"playbook": s.playbook.slug, "change_note": s.change_note, "status": str(s.status),
             "created_at": _when(s.created_at)} for s in suggestions
        ],
        "outcome_reports": [
            {"playbook": r.playbook.slug, "step": r.step_key, "outcome": str(r.outcome),
             "what_we_did": r.what_we_did, "happened_on": _when(r.happened_on),
             "evidence_url": r.evidence_url, "created_at": _when(r.created_at)} for r in reports
        ],
        "invitations_created": [
            {"created_at": _when(i.created_at), "role": str(i.role), "note": i.note,
             "uses": i.use_count, "max_uses": i.max_uses, "expires_at": _when(i.expires_at)}
            for i in invitations
        ],
    }
