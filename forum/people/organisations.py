"""Editing an organisation's page: its admins (or a site administrator) only."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

from forum.accounts.models import User
from forum.db import write_transaction
from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.people.mentors import require_user
from forum.people.models import SECTORS, STAFF_SIZES, Organisation
from forum.people.queries import can_edit_organisation
from forum.playbooks.stages import STAGE_LABELS

URL_RE = re.compile(r"^https?://[^\s/]+\.[^\s]+$")


@dataclass
class OrganisationInput:
    """The form's values, as typed."""

    name: str = ""
    sector: str = ""
    stage: str = ""
    parent_body: str = ""
    spin_out_date: str = ""
    legal_form: str = ""
    ownership_model: str = ""
    staff_size: str = ""
    website: str = ""
    description: str = ""
    contract_renewal_on: str = ""

    @classmethod
    def from_form(cls, form: dict[str, str]) -> OrganisationInput:
        return cls(**{f.name: form.get(f.name, "") for f in fields(cls)})

    @classmethod
    def from_organisation(cls, organisation: Organisation) -> OrganisationInput:
        values = {f.name: getattr(organisation, f.name) for f in fields(cls)}
        return cls(**{k: (v.isoformat() if isinstance(v, date) else v or "") for k, v in values.items()})


def _date(raw: str, name: str, errors: dict[str, str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Give the date as year-month-day, e.g. 2027-04-01."
        return None


def _text(raw: str, name: str, limit: int, errors: dict[str, str]) -> str:
    value = " ".join(raw.split()) if name != "description" else raw.strip()
    if len(value) > limit:
        errors[name] = f"Use at most {limit:,} characters."
    return value


def check_organisation(values: OrganisationInput) -> dict:
    errors: dict[str, str] = {}
    cleaned = {
        "name": _text(values.name, "name", 160, errors),
        "parent_body": _text(values.parent_body, "parent_body", 160, errors),
        "legal_form": _text(values.legal_form, "legal_form", 80, errors),
        "ownership_model": _text(values.ownership_model, "ownership_model", 80, errors),
        "website": values.website.strip(),
        "description": _text(values.description, "description", 5000, errors),
        "sector": values.sector, "stage": values.stage, "staff_size": values.staff_size,
        "spin_out_date": _date(values.spin_out_date, "spin_out_date", errors),
        "contract_renewal_on": _date(values.contract_renewal_on, "contract_renewal_on", errors),
    }
    if len(cleaned["name"]) < 3:
        errors["name"] = "Give the organisation's name."
    if values.sector and values.sector not in SECTORS:
        errors["sector"] = "Choose a sector from the list."
    if values.stage and values.stage not in STAGE_LABELS:
        errors["stage"] = "Choose a stage from the list."
    if values.staff_size and values.staff_size not in STAFF_SIZES:
        errors["staff_size"] = "Choose a size from the list."
    if cleaned["website"] and (not URL_RE.match(cleaned["website"]) or len(cleaned["website"]) > 255):
        errors["website"] = "Give a web address starting with https://, or leave it empty."
    if errors:
        raise ValidationFailed(errors)
    return cleaned


async def update_organisation(*, actor: User | None, slug: str, values: OrganisationInput) -> Organisation:
    """Change an organisation's details."""
    actor = require_user(actor)
    organisation = await Organisation.get_or_none(slug=slug)
    if organisation is None:
        raise NotFound("There is no organisation at this address.")
    if not can_edit_organisation(actor, organisation):
        raise NotAllowed("Only the organisation's admins can edit its page.")
    cleaned = check_organisation(values)
    async with write_transaction():
        await Organisation.filter(id=organisation.id).update(**cleaned)
    await organisation.refresh_from_db()
    return organisation
