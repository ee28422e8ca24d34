"""Playbook rows and form data for the CSRF tests (tests/http/test_csrf.py), which cover
every POST route in the URL table: these make each playbook route change something."""

from __future__ import annotations

from dataclasses import dataclass

from forum.accounts.models import User
from forum.people.models import Organisation
from forum.playbooks import suggestions
from forum.playbooks.content import draft_of, item_key
from forum.playbooks.models import Playbook, PlaybookSuggestion
from tests.playbooks.builders import edit, make_mentor, make_playbook

PLAYBOOK_PATHS = {
    "/playbooks/new", "/playbooks/{slug}/edit", "/playbooks/{slug}/restore",
    "/playbooks/{slug}/maintainers", "/playbooks/{slug}/verify", "/playbooks/{slug}/suggest",
    "/playbooks/{slug}/suggestions/{id}/accept", "/playbooks/{slug}/suggestions/{id}/decline",
    "/playbooks/{slug}/outcomes/new", "/playbooks/{slug}/progress",
}


@dataclass
class PlaybookScene:
    """A playbook at revision 2 with a waiting suggestion; `actor` may do everything to it."""

    actor: User
    playbook: Playbook
    suggestion: PlaybookSuggestion

    def path_values(self, path: str) -> dict[str, object]:
        return {"slug": self.playbook.slug, "id": self.suggestion.id} if path.startswith("/playbooks") else {}

    def forms(self) -> dict[str, dict[str, str]]:
        p = self.playbook
        content = {
            "title": p.title, "summary": p.summary, "body": p.body_source, "stage": str(p.stage),
            "tags": " ".join(p.tags), "step-1-key": p.steps[0]["key"], "step-1-title": p.steps[0]["title"],
            "step-1-body": "Rewritten in this request.", "change_note": "Rewrote step 1",
        }
        step = p.steps[0]
        return {
            "/playbooks/new": content | {"title": "A new playbook about tender bonds"},
            "/playbooks/{slug}/edit": content | {"base_revision": str(p.revision_number)},
            "/playbooks/{slug}/suggest": content | {"base_revision": str(p.revision_number)},
            "/playbooks/{slug}/restore": {"number": "1", "base_revision": str(p.revision_number)},
            "/playbooks/{slug}/maintainers": {"maintainers": self.actor.username},
            "/playbooks/{slug}/verify": {},
            "/playbooks/{slug}/suggestions/{id}/accept": {"seen_revision": str(p.revision_number)},
            "/playbooks/{slug}/suggestions/{id}/decline": {"reason": "Step 2 already says this."},
            "/playbooks/{slug}/outcomes/new": {"outcome": "worked", "what_we_did": "We followed it and it worked."},
            "/playbooks/{slug}/progress": {
                "step": step["key"], f"item-{item_key(step['key'], step['checklist'][0])}": "on",
            },
        }


async def playbook_scene(actor: User) -> PlaybookScene:
    """Gives `actor` (a moderator) an organisation, so progress can be ticked for it."""
    actor.organisation = await Organisation.create(slug="csrf-mutual", name="CSRF Mutual")  # type: ignore[assignment]
    await actor.save(update_fields=["organisation_id"])
    author = await make_mentor()
    playbook = await make_playbook(author)
    await edit(playbook, author, summary="A second version of the summary, long enough.")
    playbook = await Playbook.get(id=playbook.id)
    proposal = draft_of(playbook)
    proposal.summary = "A member's suggested summary for this playbook."
    suggestion = await suggestions.suggest_edit(
        actor=author, playbook_id=playbook.id, draft=proposal, base_revision=2, change_note="Idea"
    )
    return PlaybookScene(actor, playbook, suggestion)
