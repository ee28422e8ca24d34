"""Word-level comparison of two versions of a playbook, section by section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from markupsafe import Markup, escape

from forum.playbooks.stages import STAGE_LABELS

Op = Literal["equal", "insert", "delete"]
# Words, runs of whitespace and single punctuation marks: joined, they give the text back.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str

    def html(self) -> Markup:
        """The text, escaped, with its line breaks kept."""
        return Markup("<br>\n").join(escape(self.text).split("\n"))


@dataclass(frozen=True)
class Section:
    label: str
    # "same", "changed", "added" or "removed"
    status: str
    pieces: tuple[Piece, ...]


def diff_words(old: str, new: str) -> list[Piece]:
    """The changes from `old` to `new`, word by word; equal runs are merged."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    pieces: list[Piece] = []

    def add(op: Op, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if pieces and pieces[-1].op == op:
            pieces[-1] = Piece(op, pieces[-1].text + text)
        else:
            pieces.append(Piece(op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
        else:
            # Deletion first, then insertion: reads as "was X, now Y".
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return pieces


def _step_text(step: dict[str, Any]) -> str:
    parts = [step["body"]] if step["body"] else []
    if step["checklist"]:
        parts.append("Checklist:\n" + "\n".join(f"- {item}" for item in step["checklist"]))
    return "\n\n".join(parts)


def _resources_text(resources: list[dict[str, str]]) -> str:
    return "\n".join(
        f"{r['title']} ({r['url']})" + (f": {r['note']}" if r["note"] else "") for r in resources
    )


def _section(label: str, old: str | None, new: str | None) -> Section:
    if old is None:
        return Section(label, "added", (Piece("insert", new or ""),))
    if new is None:
        return Section(label, "removed", (Piece("delete", old),))
    if old == new:
        return Section(label, "same", (Piece("equal", new),))
    return Section(label, "changed", tuple(diff_words(old, new)))


def _fields(version: Any, topics: dict[int, str]) -> list[tuple[str, str]]:
    topic_id = getattr(version, "topic_id", None)
    return [
        ("Title", version.title),
        ("Summary", version.summary),
        ("Stage", STAGE_LABELS.get(str(getattr(version, "stage", "")), "")),
        ("Topic", topics.get(topic_id, "") if topic_id else ""),
        ("Tags", " ".join(getattr(version, "tags", []))),
        ("Introduction", version.body_source),
    ]


def compare(old: Any, new: Any, topics: dict[int, str] | None = None) -> list[Section]:
    """Sections of `new` against `old` (playbooks, revisions or suggestions).

    Steps are matched by their key, so an edited step shows its changes and a
    moved, added or removed step shows as such.
    """
    topics = topics or {}
    sections = [
        _section(label, before, after)
        for (label, before), (_, after) in zip(_fields(old, topics), _fields(new, topics))
        if before or after
    ]
    old_steps = {step["key"]: (n, step) for n, step in enumerate(old.steps, 1)}
    new_keys = {step["key"] for step in new.steps}
    for number, step in enumerate(new.steps, 1):
        label = f"Step {number}: {step['title']}"
        if step["key"] not in old_steps:
            sections.append(_section(label, None, f"{step['title']}\n\n{_step_text(step)}"))
            continue
        old_number, before = old_steps[step["key"]]
        if old_number != number:
            label += f" (was step {old_number})"
        sections.append(_section(
            label, f"{before['title']}\n\n{_step_text(before)}", f"{step['title']}\n\n{_step_text(step)}"
        ))
    for key, (old_number, before) in old_steps.items():
        if key not in new_keys:
            sections.append(_section(
                f"Step {old_number}: {before['title']} (removed)", f"{before['title']}\n\n{_step_text(before)}", None
            ))
    old_resources, new_resources = _resources_text(old.resources), _resources_text(new.resources)
    if old_resources or new_resources:
        sections.append(_section("Resources", old_resources, new_resources))
    return sections


def changed(sections: list[Section]) -> bool:
    return any(section.status != "same" for section in sections)
