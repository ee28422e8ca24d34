"""Who may join: the registration policy administrators set, and why an account waits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from forum.accounts.models import Role, SiteSetting, User
from forum.db import write_transaction
from forum.errors import NotAllowed, ValidationFailed

POLICY_KEY = "registration"
MAX_DOMAINS = 200
DOMAIN_PATTERN = re.compile(r"^(\*\.)?([a-z0-9-]+\.)+[a-z]{2,}$")

# Why an account waits (User.held_reason). Confirming the email address lifts the
# first by itself; the second needs an administrator.
HOLD_UNCONFIRMED = "unconfirmed-email"
HOLD_DOMAIN = "domain-not-allowed"
HOLD_LABELS = {
    HOLD_UNCONFIRMED: "Hasn't confirmed their email address yet",
    HOLD_DOMAIN: "Email domain isn't on the allow-list",
}


class Mode(StrEnum):
    OPEN = "open"
    INVITATION = "invitation"
    DOMAINS = "domains"


MODE_LABELS = {
    Mode.OPEN: "Open: anyone can join",
    Mode.INVITATION: "Invitation only",
    Mode.DOMAINS: "Allowed email domains join; everyone else waits for approval",
}


@dataclass(frozen=True)
class Policy:
    mode: Mode = Mode.OPEN
    domains: tuple[str, ...] = ()

    def allows_domain(self, email: str) -> bool:
        return domain_allowed(email, self.domains)


def domain_allowed(email: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """True when the address's domain matches a pattern: `nhs.uk` or `*.gov.uk`.

    `*.gov.uk` matches `leeds.gov.uk` and `gov.uk` itself; matching is on whole labels,
    so `evilgov.uk` never matches.
    """
    domain = email.rpartition("@")[2].lower().rstrip(".")
    for pattern in patterns:
        base = pattern.removeprefix("*.")
        if domain == base or (pattern.startswith("*.") and domain.endswith("." + base)):
            return True
    return False


def hold_label(reason: str, email: str = "") -> str:
    label = HOLD_LABELS.get(reason, reason)
    if reason == HOLD_DOMAIN and email:
        label += f" (@{email.rpartition('@')[2]})"
    return label


def parse_domains(text: str) -> tuple[list[str], str | None]:
    """Domains from a textarea (one per line, or comma-separated) and a problem, if any."""
    domains: list[str] = []
    for raw in re.split(r"[\s,]+", text.lower()):
        item = raw.strip().lstrip("@")
        if not item:
            continue
        if not DOMAIN_PATTERN.match(item):
            return domains, f"{raw!r} isn't a domain: write e.g. nhs.uk or *.gov.uk."
        if item not in domains:
            domains.append(item)
    if len(domains) > MAX_DOMAINS:
        return domains, f"Use at most {MAX_DOMAINS} domains."
    return domains, None


async def current_policy() -> Policy:
    row = await SiteSetting.get_or_none(key=POLICY_KEY)
    if row is None or not isinstance(row.value, dict):
        return Policy()
    try:
        mode = Mode(row.value.get("mode", Mode.OPEN))
    except ValueError:
        mode = Mode.OPEN
    return Policy(mode=mode, domains=tuple(row.value.get("domains", ())))


async def set_policy(*, actor: User, mode: str, domains_text: str) -> Policy:
    """An administrator sets who may join."""
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only administrators can change who may join.")
    errors: dict[str, str] = {}
    try:
        chosen = Mode(mode)
    except ValueError:
        errors["mode"] = "Choose how people join."
        chosen = Mode.OPEN
    domains, problem = parse_domains(domains_text)
    if problem:
        errors["domains"] = problem
    elif chosen == Mode.DOMAINS and not domains:
        errors["domains"] = "List at least one domain, or choose another policy."
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        row = await SiteSetting.get_or_none(key=POLICY_KEY)
        value = {"mode": chosen.value, "domains": domains}
        if row is None:
            await SiteSetting.create(key=POLICY_KEY, value=value, updated_by=actor)
        else:
            row.value, row.updated_by = value, actor  # type: ignore[assignment]
            await row.save()
    return Policy(mode=chosen, domains=tuple(domains))
