"""Learning from practice: outcome reports ("worked for us") and organisations' progress."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tortoise.expressions import F
from tortoise.timezone import now

from forum.accounts.models import User
from forum.content.markdown import render_markdown
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.people.models import Organisation
from forum.playbooks import permissions
from forum.playbooks.content import item_key
from forum.playbooks.models import ChecklistTick, Outcome, OutcomeReport, Playbook
from forum.playbooks.services import locked_playbook, require_user

WHAT_MIN, WHAT_MAX = 20, 5000
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-\d{2})?$")


@dataclass
class OutcomeInput:
    outcome: str = ""
    what_we_did: str = ""
    step: str = ""  # a step key, or "" for the whole playbook
    happened_on: str = ""  # "YYYY-MM"
    evidence_url: str = ""


def _month(raw: str, errors: dict[str, str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    match = _MONTH.match(raw)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1990:
        errors["happened_on"] = "Give the month as year and month, e.g. 2025-09."
        return None
    when = date(int(match.group(1)), int(match.group(2)), 1)
    if when > now().date():
        errors["happened_on"] = "That month hasn't happened yet."
    return when


def check_outcome(values: OutcomeInput, playbook: Playbook, errors: dict[str, str]) -> dict:
    if values.outcome not in {o.value for o in Outcome}:
        errors["outcome"] = "Choose how it went: worked, partly, or did not work."
    what = values.what_we_did.strip()
    if len(what) < WHAT_MIN:
        errors["what_we_did"] = "Say in a sentence or two what you did and what happened."
    elif len(what) > WHAT_MAX:
        errors["what_we_did"] = f"Keep it under {WHAT_MAX:,} characters."
    if values.step and values.step not in {s["key"] for s in playbook.steps}:
        errors["step"] = "Choose one of this playbook's steps, or the whole playbook."
    url = values.evidence_url.strip()
    if url and (not re.match(r"^https?://[^\s/]+\.[^\s]+$", url) or len(url) > 500):
        errors["evidence_url"] = "Give a web address starting with https://, or leave it empty."
    return {
        "outcome": values.outcome, "what_we_did": what, "step_key": values.step,
        "happened_on": _month(values.happened_on, errors), "evidence_url": url,
    }  # fmt: skip


async def report_outcome(*, actor: User | None, playbook_id: int, values: OutcomeInput) -> OutcomeReport:
    """Record what a member's organisation did with a playbook (or a step) and how it went."""
    actor = require_user(actor)
    if not permissions.can_report_outcome(actor):
        raise NotAllowed("Sign in to report an outcome.")
    playbook = await Playbook.get_or_none(id=playbook_id)
    if playbook is None:
        raise NotFound("That playbook doesn't exist.")
    errors: dict[str, str] = {}
    fields = check_outcome(values, playbook, errors)
    if errors:
        raise ValidationFailed(errors)
    organisation = None
    if actor.organisation_id is not None:  # type: ignore[attr-defined]
        organisation = await Organisation.get_or_none(id=actor.organisation_id)  # type: ignore[attr-defined]
    html = render_markdown(fields["what_we_did"])
    async with write_transaction():
        report = await OutcomeReport.create(
            playbook_id=playbook.id, author_id=actor.id, organisation=organisation,
            sector=organisation.sector if organisation else "",
            stage=organisation.stage if organisation else "",
            what_we_did_html=html, created_at=now(), **fields,
        )
        await Playbook.filter(id=playbook.id).update(outcome_count=F("outcome_count") + 1)
    return report


async def set_progress(
    *, actor: User | None, playbook_id: int, step_key: str, done: set[str]
) -> tuple[int, int]:
    """Tick exactly `done` (item keys) among one step's checklist, for the actor's organisation.

    Returns (items ticked, items in the step).
    """
    actor = require_user(actor)
    if not permissions.can_track_progress(actor):
        raise NotAllowed("Progress is kept per organisation: add your organisation to your profile first.")
    organisation_id = actor.organisation_id  # type: ignore[attr-defined]
    async with write_transaction():
        playbook = await locked_playbook(playbook_id)
        step = next((s for s in playbook.steps if s["key"] == step_key), None)
        if step is None:
            raise NotFound("That step isn't in this playbook any more.")
        keys = {item_key(step_key, item) for item in step["checklist"]}
        wanted = done & keys
        existing = set(await ChecklistTick.filter(
            playbook_id=playbook.id, organisation_id=organisation_id, item_key__in=list(keys)
        ).values_list("item_key", flat=True))
        if gone := existing - wanted:
            await ChecklistTick.filter(
                playbook_id=playbook.id, organisation_id=organisation_id, item_key__in=list(gone)
            ).delete()
        when = now()
        await ChecklistTick.bulk_create([
            ChecklistTick(organisation_id=organisation_id, playbook_id=playbook.id, item_key=key,
                          ticked_by_id=actor.id, ticked_at=when)
            for key in sorted(wanted - existing)
        ])  # fmt: skip
    return len(wanted), len(keys)
