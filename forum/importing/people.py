"""The people side of an import: organisation details beyond text, and mentor profiles.

A `user` line with role `mentor` (or any mentor key) gets an approved mentor
profile from its optional keys: `expertise`, `sectors`, `stages`, `topics`
(lists), `capacity` (a number), `availability` (`open` or `paused`) and
`response_time` (`day`, `few-days`, `week`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from forum.importing.lines import _Invalid
from forum.people.models import MentorProfile, MentorStatus, ResponseTime
from forum.people.mentors import CAPACITY_MAX, MAX_EXPERTISE, parse_expertise

MENTOR_KEYS = ("expertise", "sectors", "stages", "topics", "capacity", "availability", "response_time")
ORGANISATION_DATES = ("spin_out_date", "contract_renewal_on")


def check_dates(raw: dict[str, Any]) -> dict[str, date | None]:
    """The organisation's optional dates (ISO `YYYY-MM-DD`)."""
    found: dict[str, date | None] = {}
    for key in ORGANISATION_DATES:
        value = raw.get(key)
        if value is None or value == "":
            found[key] = None
            continue
        try:
            found[key] = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise _Invalid(f"{key!r} must be a date like 2027-04-01, not {value!r}") from None
    return found


def _strings(raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{key!r} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def check_mentor(raw: dict[str, Any], role: str) -> dict[str, Any] | None:
    """An approved mentor profile's values, for mentors (and lines with mentor keys)."""
    if role != "mentor" and not any(key in raw for key in MENTOR_KEYS):
        return None
    errors: dict[str, str] = {}
    expertise = parse_expertise(" ".join(_strings(raw, "expertise")), errors) if raw.get("expertise") else []
    if "expertise" in errors and raw.get("expertise"):
        raise _Invalid(f"'expertise': {errors['expertise']} (at most {MAX_EXPERTISE} tags)")
    capacity = raw.get("capacity", 3)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= CAPACITY_MAX:
        raise _Invalid(f"'capacity' must be a whole number from 1 to {CAPACITY_MAX}, not {capacity!r}")
    availability = raw.get("availability", "open")
    if availability not in ("open", "paused"):
        raise _Invalid(f"'availability' must be open or paused, not {availability!r}")
    response_time = raw.get("response_time", ResponseTime.FEW_DAYS.value)
    if response_time not in {r.value for r in ResponseTime}:
        raise _Invalid(f"'response_time' must be one of day, few-days, week, not {response_time!r}")
    return {
        "expertise": expertise, "sectors": _strings(raw, "sectors"), "stages": _strings(raw, "stages"),
        "topics": _strings(raw, "topics"), "capacity": capacity, "is_open": availability == "open",
        "response_time": response_time, "background": str(raw.get("bio") or "")[:5000],
    }


async def write_mentor_profiles(mentors: dict[str, dict[str, Any]], users: dict[str, int | None],
                                when: datetime) -> None:
    """Create the profiles of mentors imported in this batch (their user ids are known now)."""
    if not mentors:
        return
    await MentorProfile.bulk_create([
        MentorProfile(user_id=users[key], status=MentorStatus.APPROVED, applied_at=when,
                      decided_at=when, **values)
        for key, values in mentors.items()
    ])
