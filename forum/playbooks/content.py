"""A playbook's content as typed into a form: checked, tidied and rendered once.

`Draft` is what a person (or an import line) proposes; `check_draft` turns it
into the stored shape, or a dict of field errors keyed like the form fields
("title", "step-2-body", "resources"...).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from forum.content.markdown import render_markdown
from forum.playbooks.stages import STAGE_LABELS
from forum.threads.services import parse_tags

TITLE_MIN, TITLE_MAX = 10, 200
SUMMARY_MIN, SUMMARY_MAX = 20, 1200
BODY_MAX = 20_000
STEP_TITLE_MAX = 160
STEP_BODY_MAX = 20_000
# Four form fields a step, and forms take at most 50 fields: 8 steps leave room.
MAX_STEPS = 8
MAX_CHECKLIST = 15
CHECKLIST_ITEM_MAX = 240
MAX_RESOURCES = 15
NOTE_MIN, NOTE_MAX = 3, 200
STEP_KEY_RE = re.compile(r"^[0-9a-f]{6}$")
_CHECKBOX_PREFIX = re.compile(r"^(?:[-*+]\s*)?(?:\[[ xX]?\]\s*)?")


@dataclass
class StepDraft:
    title: str = ""
    body: str = ""
    # One item per line (a form), or a list (an import).
    checklist: str | list[str] = ""
    key: str = ""

    @property
    def is_blank(self) -> bool:
        checklist = self.checklist if isinstance(self.checklist, str) else "".join(self.checklist)
        return not (self.title.strip() or self.body.strip() or checklist.strip())


@dataclass
class Draft:
    title: str = ""
    summary: str = ""
    body: str = ""
    stage: str = ""
    topic: str = ""  # a topic slug, or "" for none
    tags: str | list[str] = ""
    steps: list[StepDraft] = field(default_factory=list)
    # "Title | https://... | what it is for", one per line (a form), or dicts (an import).
    resources: str | list[dict[str, str]] = ""


def new_step_key(taken: Iterable[str] = ()) -> str:
    taken = set(taken)
    while (key := secrets.token_hex(3)) in taken:
        pass
    return key


def item_key(step_key: str, item: str) -> str:
    """A checklist item's identity: its step and its wording (rewording starts afresh)."""
    digest = hashlib.sha1(" ".join(item.lower().split()).encode("utf-8")).hexdigest()
    return f"{step_key}.{digest[:10]}"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _check_length(value: str, name: str, label: str, low: int, high: int,
                  errors: dict[str, str]) -> None:
    if len(value) < low:
        errors[name] = f"{label}: use at least {low} characters." if low > 1 else f"{label} is empty."
    elif len(value) > high:
        errors[name] = f"{label}: use at most {high:,} characters."


def parse_checklist(raw: str | list[str]) -> list[str]:
    lines = raw.splitlines() if isinstance(raw, str) else [str(item) for item in raw]
    items: list[str] = []
    for line in lines:
        item = _one_line(_CHECKBOX_PREFIX.sub("", line.strip()))
        if item and item not in items:
            items.append(item)
    return items


def _check_steps(drafts: list[StepDraft], errors: dict[str, str]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    keys: set[str] = set()
    for position, draft in enumerate(drafts, 1):
        if draft.is_blank:
            continue
        prefix = f"step-{position}"
        title, body = _one_line(draft.title), draft.body.strip()
        if not title:
            errors[f"{prefix}-title"] = f"Step {position} needs a title."
        elif len(title) > STEP_TITLE_MAX:
            errors[f"{prefix}-title"] = f"Step {position}: keep the title under {STEP_TITLE_MAX} characters."
        if len(body) > STEP_BODY_MAX:
            errors[f"{prefix}-body"] = f"Step {position}: keep the text under {STEP_BODY_MAX:,} characters."
        checklist = parse_checklist(draft.checklist)
        if len(checklist) > MAX_CHECKLIST:
            errors[f"{prefix}-checklist"] = f"Step {position}: use at most {MAX_CHECKLIST} checklist items."
        elif any(len(item) > CHECKLIST_ITEM_MAX for item in checklist):
            errors[f"{prefix}-checklist"] = (
                f"Step {position}: keep each checklist item under {CHECKLIST_ITEM_MAX} characters."
            )
        if not body and not checklist:
            errors.setdefault(f"{prefix}-body", f"Step {position}: say what to do, or list the checks.")
        key = draft.key if STEP_KEY_RE.match(draft.key or "") and draft.key not in keys else ""
        key = key or new_step_key(keys | {d.key for d in drafts})
        keys.add(key)
        steps.append({"key": key, "title": title, "body": body, "checklist": checklist})
    if not steps:
        errors.setdefault("step-1-title", "Add at least one step.")
    elif len(steps) > MAX_STEPS:
        errors["steps"] = f"Use at most {MAX_STEPS} steps: split a longer guide into two playbooks."
    return steps


def _url_ok(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def parse_resources(raw: str | list[dict[str, str]], errors: dict[str, str]) -> list[dict[str, str]]:
    """Resources from "Title | URL | what it is for" lines (or dicts with those keys)."""
    rows: list[tuple[str, str, str]] = []
    if isinstance(raw, str):
        for line in raw.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if not any(parts):
                continue
            if len(parts) == 1:
                parts = ["", parts[0], ""]
            rows.append((parts[0], parts[1], " | ".join(parts[2:])))
    else:
        rows = [(str(r.get("title", "")), str(r.get("url", "")), str(r.get("note", "")))
                for r in raw if isinstance(r, dict)]  # fmt: skip
    resources: list[dict[str, str]] = []
    for number, (title, url, note) in enumerate(rows, 1):
        title, url, note = _one_line(title), url.strip(), _one_line(note)
        if not _url_ok(url):
            errors["resources"] = (
                f"Resource {number}: {url or 'the address'!s} isn't a web address "
                "(it should start with https://)."
            )
            break
        if len(title) > 200 or len(note) > 500 or len(url) > 500:
            errors["resources"] = f"Resource {number} is too long."
            break
        resources.append({"title": title or url, "url": url, "note": note})
    if len(resources) > MAX_RESOURCES:
        errors["resources"] = f"List at most {MAX_RESOURCES} resources."
    return resources


def resources_text(resources: list[dict[str, str]]) -> str:
    """The resources as the form shows them, one per line."""
    return "\n".join(_resource_line(r) for r in resources)


def _resource_line(resource: dict[str, str]) -> str:
    title, url, note = resource["title"], resource["url"], resource["note"]
    if title == url and not note:
        return url
    return " | ".join([title, url] + ([note] if note else []))


def check_draft(draft: Draft, errors: dict[str, str], *, classify: bool = True) -> dict[str, Any]:
    """The stored content for `draft`, with problems added to `errors`.

    `classify` checks stage and tags too (a suggestion keeps the playbook's own).
    Markdown is rendered here, once; the topic slug is checked by the caller.
    """
    title = _one_line(draft.title)
    _check_length(title, "title", "Title", TITLE_MIN, TITLE_MAX, errors)
    summary = _one_line(draft.summary)
    _check_length(summary, "summary", "Summary", SUMMARY_MIN, SUMMARY_MAX, errors)
    body = draft.body.strip()
    if len(body) > BODY_MAX:
        errors["body"] = f"Introduction: use at most {BODY_MAX:,} characters."
    content: dict[str, Any] = {"title": title, "summary": summary, "body_source": body}
    if classify:
        if draft.stage not in STAGE_LABELS:
            errors["stage"] = "Choose the stage this playbook is for."
        content["stage"] = draft.stage
        content["tags"] = parse_tags(draft.tags, errors)
    steps = _check_steps(draft.steps, errors)
    content["resources"] = parse_resources(draft.resources, errors)
    if not errors:
        content["body_html"] = render_markdown(body) if body else ""
        for step in steps:
            step["body_html"] = render_markdown(step["body"]) if step["body"] else ""
    content["steps"] = steps
    return content


def draft_of(content: Any, topic_slug: str = "") -> Draft:
    """A draft holding stored content (a playbook, revision or suggestion), for a form."""
    return Draft(
        title=content.title, summary=content.summary, body=content.body_source,
        stage=str(getattr(content, "stage", "")), topic=topic_slug,
        tags=" ".join(getattr(content, "tags", [])),
        steps=[StepDraft(s["title"], s["body"], "\n".join(s["checklist"]), s["key"])
               for s in content.steps],
        resources=resources_text(content.resources),
    )  # fmt: skip
