"""Playbook lines: checked against the playbook rules, written with their revisions.

Besides FORMAT.md's keys (`slug`, `title`, `author`, `body`; optional `summary`,
`stage`, `topic`, `tags`, `steps`, `created_at`), a line may carry keys that
older readers ignore:

- `resources`: `[{"title", "url", "note"}]`;
- `maintainers`: usernames (the author is always one);
- `revisions`: later edits, oldest first, each `{"author", "created_at",
  "change_note"}` plus any content keys it changes (`title`, `summary`, `body`,
  `stage`, `topic`, `tags`, `steps`, `resources`); the line's own keys are revision 1;
- `verified_by` and `verified_at`: the last mentor to verify it, and when;
- `outcomes`: outcome reports, `{"author", "outcome", "what_we_did", "step"
  (1-based, optional), "happened_on" ("YYYY-MM"), "evidence_url", "created_at"}`;
- `thread`: the `ref` of a solved question it was promoted from.

`body` is the introduction above the steps; a line without `steps` becomes a
one-step playbook whose step is the body. `stage` defaults to `exploring`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.timezone import now

from forum.accounts.models import User
from forum.content.markdown import excerpt, render_markdown
from forum.importing.lines import _Invalid, _slug, _text, _when
from forum.people.models import Organisation
from forum.playbooks.content import Draft, StepDraft, check_draft, new_step_key
from forum.playbooks.models import OutcomeReport, Playbook, PlaybookMaintainer, PlaybookRevision
from forum.playbooks.practice import OutcomeInput, check_outcome
from forum.playbooks.services import REVIEW_INTERVAL
from forum.playbooks.stages import Stage

CONTENT_KEYS = ("title", "summary", "body", "stage", "topic", "tags", "steps", "resources")


def _list(raw: dict[str, Any], key: str, what: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise _Invalid(f"{what}: {key!r} must be a list")
    return value


def _steps(raw: dict[str, Any], what: str) -> list[StepDraft]:
    steps = []
    for number, step in enumerate(_list(raw, "steps", what), 1):
        if not isinstance(step, dict):
            raise _Invalid(f"{what}: step {number} must be an object with title, body and checklist")
        checklist = step.get("checklist") or []
        if not isinstance(checklist, list) or not all(isinstance(i, str) for i in checklist):
            raise _Invalid(f"{what}: step {number}'s 'checklist' must be a list of strings")
        steps.append(StepDraft(
            title=str(step.get("title") or ""), body=str(step.get("body") or ""), checklist=checklist,
        ))  # fmt: skip
    return steps


def _keep_step_keys(previous: list[dict[str, Any]], steps: list[dict[str, Any]]) -> None:
    """A revised step keeps its key: matched by title, else by position."""
    by_title = {s["title"]: s["key"] for s in previous}
    used: set[str] = set()
    for position, step in enumerate(steps):
        key = by_title.get(step["title"])
        if key is None and position < len(previous) and previous[position]["title"] not in {
            s["title"] for s in steps
        }:
            key = previous[position]["key"]
        step["key"] = key if key and key not in used else new_step_key(used | set(by_title.values()))
        used.add(step["key"])


def _content(fields: dict[str, Any], what: str, topics: dict[str, int | None]) -> dict[str, Any]:
    topic = fields.get("topic") or ""
    if topic and topic not in topics:
        raise _Invalid(f"{what} names unknown topic {topic!r}")
    steps = fields["steps"] or [StepDraft(title="What to do", body=fields["body"])]
    draft = Draft(
        title=fields["title"], summary=fields["summary"] or excerpt(fields["body"], 300),
        body=fields["body"] if fields["steps"] else "", stage=fields["stage"] or Stage.EXPLORING,
        topic=topic, tags=fields["tags"], steps=steps, resources=fields["resources"],
    )
    errors: dict[str, str] = {}
    content = check_draft(draft, errors)
    if errors:
        raise _Invalid(f"{what}: " + "; ".join(errors.values()))
    content["topic"] = topic
    return content


def check_playbook(raw: dict[str, Any], users: dict, topics: dict, threads: dict) -> dict[str, Any]:
    """Everything a playbook line will write, checked; raises _Invalid naming the problem."""
    slug = _slug(raw)
    what = f"playbook {slug!r}"

    def author(entry: dict[str, Any], key: str = "author") -> str:
        name = _text(entry, key).lower()
        if name not in users:
            raise _Invalid(f"{what} names unknown member {entry[key]!r}")
        return name

    fields: dict[str, Any] = {
        "title": _text(raw, "title"), "summary": _text(raw, "summary", required=False),
        "body": _text(raw, "body"), "stage": _text(raw, "stage", required=False),
        "topic": _text(raw, "topic", required=False), "tags": _list(raw, "tags", what),
        "steps": _steps(raw, what), "resources": _list(raw, "resources", what),
    }  # fmt: skip
    created = _when(raw, "created_at") if raw.get("created_at") is not None else now()
    versions = [(author(raw), created, "First version", _content(fields, what, topics))]
    for number, entry in enumerate(_list(raw, "revisions", what), 2):
        if not isinstance(entry, dict):
            raise _Invalid(f"{what}: revision {number} must be an object")
        for key in CONTENT_KEYS:
            if key in entry:
                fields[key] = _steps(entry, what) if key == "steps" else entry[key]
        content = _content(fields, f"{what} revision {number}", topics)
        _keep_step_keys(versions[-1][3]["steps"], content["steps"])
        when = _when(entry, "created_at")
        if when < versions[-1][1]:
            raise _Invalid(f"{what}: revision {number} is older than the one before it")
        note = _text(entry, "change_note", 200)
        versions.append((author(entry), when, note, content))
    values: dict[str, Any] = {
        "slug": slug, "versions": versions,
        "maintainers": [author({"m": m}, "m") for m in _list(raw, "maintainers", what)],
        "thread": _text(raw, "thread", required=False) or None,
        "verified_by": author(raw, "verified_by") if raw.get("verified_by") else None,
        "verified_at": _when(raw, "verified_at") if raw.get("verified_at") else None,
        "outcomes": [],
    }  # fmt: skip
    if values["thread"] and values["thread"] not in threads:
        raise _Invalid(f"{what} names unknown thread {values['thread']!r}")
    if values["verified_by"] and values["verified_at"] is None:
        raise _Invalid(f"{what}: 'verified_by' needs 'verified_at'")
    final = versions[-1][3]
    for number, entry in enumerate(_list(raw, "outcomes", what), 1):
        values["outcomes"].append(_outcome(entry, final, f"{what} outcome {number}", author))
    return values


def _outcome(entry: Any, final: dict[str, Any], what: str, author) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _Invalid(f"{what} must be an object")
    step = entry.get("step")
    steps = final["steps"]
    if step is not None and (not isinstance(step, int) or not 1 <= step <= len(steps)):
        raise _Invalid(f"{what}: 'step' must be a step number from 1 to {len(steps)}")
    values = OutcomeInput(
        outcome=str(entry.get("outcome", "")), what_we_did=str(entry.get("what_we_did", "")),
        step=steps[step - 1]["key"] if step else "",
        happened_on=str(entry.get("happened_on") or ""), evidence_url=str(entry.get("evidence_url") or ""),
    )  # fmt: skip
    errors: dict[str, str] = {}
    fields = check_outcome(values, _Steps(steps), errors)
    if errors:
        raise _Invalid(f"{what}: " + "; ".join(errors.values()))
    created = _when(entry, "created_at") if entry.get("created_at") else now()
    return {**fields, "author": author(entry), "created_at": created}


class _Steps:
    """Just enough of a playbook for `check_outcome`: its steps."""

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.steps = steps


async def write_playbook(values: dict[str, Any], users: dict, topics: dict, threads: dict) -> int:
    """Insert one checked playbook with its revisions, maintainers and reports; the caller
    holds the transaction. Returns the playbook's id."""
    versions = values["versions"]
    author, created, note, content = versions[0]

    def stored(content: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in content.items() if k != "topic"}
        return {**fields, "topic_id": topics.get(content["topic"]) if content["topic"] else None}

    playbook = await Playbook.create(
        slug=values["slug"], revision_number=1, review_by=created.date() + REVIEW_INTERVAL,
        created_by_id=users[author], updated_by_id=users[author], created_at=created,
        updated_at=created, source_thread_id=threads.get(values["thread"]) if values["thread"] else None,
        **stored(content),
    )  # fmt: skip
    revisions = []
    for number, (author, when, note, content) in enumerate(versions, 1):
        revisions.append(PlaybookRevision(
            playbook_id=playbook.id, number=number, author_id=users[author], created_at=when,
            change_note=note, **stored(content),
        ))  # fmt: skip
    await PlaybookRevision.bulk_create(revisions)
    last_author, last_when, _, last = versions[-1]
    # As on the site: editing doesn't push the review date, verifying does.
    changes: dict[str, Any] = {
        **stored(last), "revision_number": len(versions), "updated_at": last_when,
        "updated_by_id": users[last_author],
    }  # fmt: skip
    if values["verified_by"]:
        verified_at: datetime = values["verified_at"]
        changes |= {
            "last_verified_by_id": users[values["verified_by"]], "last_verified_at": verified_at,
            "review_by": verified_at.astimezone(UTC).date() + REVIEW_INTERVAL,
        }  # fmt: skip
    maintainers = list(dict.fromkeys([versions[0][0], *values["maintainers"]]))
    await PlaybookMaintainer.bulk_create(
        [PlaybookMaintainer(playbook_id=playbook.id, user_id=users[m]) for m in maintainers]
    )
    reports = await _reports(playbook.id, values["outcomes"], users)
    changes["outcome_count"] = len(reports)
    await Playbook.filter(id=playbook.id).update(**changes)
    return playbook.id


async def _reports(playbook_id: int, outcomes: list[dict[str, Any]], users: dict) -> list[OutcomeReport]:
    if not outcomes:
        return []
    author_ids = {users[o["author"]] for o in outcomes}
    their_organisation = dict(await User.filter(id__in=list(author_ids)).values_list("id", "organisation_id"))
    organisations = {
        o.id: o for o in await Organisation.filter(id__in=[i for i in their_organisation.values() if i])
    }
    rows = []
    for o in outcomes:
        organisation = organisations.get(their_organisation.get(users[o["author"]]))  # type: ignore[arg-type]
        rows.append(OutcomeReport(
            playbook_id=playbook_id, author_id=users[o["author"]], step_key=o["step_key"],
            organisation_id=organisation.id if organisation else None,
            sector=organisation.sector if organisation else "",
            stage=organisation.stage if organisation else "", what_we_did=o["what_we_did"],
            what_we_did_html=render_markdown(o["what_we_did"]), outcome=o["outcome"],
            happened_on=o["happened_on"], evidence_url=o["evidence_url"], created_at=o["created_at"],
        ))  # fmt: skip
    await OutcomeReport.bulk_create(rows)
    return rows
