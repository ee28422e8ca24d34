"""Reading one line: its type, its required keys and the checks on its fields."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from tortoise.models import Model

from forum.threads.services import parse_tags

REQUIRED = {
    "organisation": ("slug", "name"),
    "user": ("username", "email"),
    "topic": ("slug", "name"),
    "thread": ("ref", "topic", "author", "title", "body", "created_at"),
    "post": ("ref", "thread", "author", "body", "created_at"),
    "playbook": ("slug", "title", "author", "body"),
}
ORGANISATION_DETAILS = (
    "sector", "stage", "parent_body", "legal_form", "ownership_model", "staff_size", "website",
    "description",
)
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class _Invalid(Exception):
    """A problem with the line being read; the reader adds its number."""


def _parse(raw_line: bytes) -> tuple[str, dict[str, Any]]:
    """The type and keys of one line, once it is a JSON object of a known type."""
    try:
        raw = json.loads(raw_line)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except ValueError as exc:  # not UTF-8
        raise _Invalid(f"invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise _Invalid("expected a JSON object")
    kind = raw.get("type")
    if kind not in REQUIRED:
        raise _Invalid(f"unknown type {kind!r}; expected one of {', '.join(REQUIRED)}")
    for key in REQUIRED[kind]:
        if raw.get(key) is None:
            raise _Invalid(f"{kind} is missing required key {key!r}")
    return kind, raw


def _text(raw: dict[str, Any], key: str, limit: int | None = None, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Invalid(f"{key!r} must be a non-empty string, not {value!r}")
    if limit is not None and len(value.strip()) > limit:
        raise _Invalid(f"{key!r} is longer than {limit} characters")
    return value.strip()


def _limit(model: type[Model], name: str) -> int | None:
    return getattr(model._meta.fields_map[name], "max_length", None)


def _slug(raw: dict[str, Any]) -> str:
    value = _text(raw, "slug", 80)
    if not SLUG_RE.match(value):
        raise _Invalid(f"'slug' must be lowercase letters, digits and hyphens, not {value!r}")
    return value


E = TypeVar("E", bound=StrEnum)


def _choice(raw: dict[str, Any], key: str, choices: type[E], default: E) -> E:
    value = raw.get(key, default)
    if value not in {c.value for c in choices}:
        allowed = ", ".join(c.value for c in choices)
        raise _Invalid(f"{key!r} must be one of {allowed}, not {value!r}")
    return choices(value)


def _when(raw: dict[str, Any], key: str) -> datetime:
    value = raw.get(key)
    try:
        when = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        raise _Invalid(f"{key!r} must be an ISO 8601 time with an offset, not {value!r}")
    # One offset for every stored time, so that SQLite's text MAX() orders them.
    return when.astimezone(UTC)


def _tags(raw: dict[str, Any]) -> list[str]:
    tags, errors = raw.get("tags") or [], {"tags": "'tags' must be a list of strings"}
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        errors.clear()
        tags = parse_tags(tags, errors)  # the live rules: lowercase, at most 5
    if errors:
        raise _Invalid(errors["tags"])
    return tags

