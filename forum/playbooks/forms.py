"""The playbook form: reading a draft from submitted fields, and rearranging its steps.

Steps are repeated fieldsets named `step-N-title`, `step-N-body`,
`step-N-checklist` and `step-N-key`. Buttons named `action` add, move or remove
a step without saving, so the form works the same without JavaScript.
"""

from __future__ import annotations

from forum.playbooks.content import MAX_STEPS, Draft, StepDraft

DRAFT_FIELDS = ("title", "summary", "body", "stage", "topic", "tags", "resources")


def draft_from_form(form: dict[str, str]) -> Draft:
    steps = []
    for n in range(1, MAX_STEPS + 1):
        if any(f"step-{n}-{part}" in form for part in ("title", "body", "checklist", "key")):
            steps.append(StepDraft(
                title=form.get(f"step-{n}-title", ""), body=form.get(f"step-{n}-body", ""),
                checklist=form.get(f"step-{n}-checklist", ""), key=form.get(f"step-{n}-key", ""),
            ))  # fmt: skip
    return Draft(**{name: form.get(name, "") for name in DRAFT_FIELDS}, steps=steps)


def rearrange(draft: Draft, action: str) -> str | None:
    """Apply an "add-step", "up-N" or "remove-N" button; returns what happened, for the page.

    None means the action is not a rearrangement (a save).
    """
    verb, _, raw = action.partition("-")
    if action == "add-step":
        if len(draft.steps) >= MAX_STEPS:
            return f"A playbook has at most {MAX_STEPS} steps."
        if draft.steps and draft.steps[-1].is_blank:
            return f"Step {len(draft.steps)} is still empty: fill it in below."
        draft.steps.append(StepDraft())
        return f"Step {len(draft.steps)} added: fill it in below."
    if verb not in ("up", "remove") or not raw.isdigit():
        return None
    n = int(raw)
    if not 1 <= n <= len(draft.steps):
        return "That step isn't in the form any more."
    if verb == "remove":
        draft.steps.pop(n - 1)
        return f"Step {n} removed. It is only gone once you save."
    if n == 1:
        return "Step 1 is already first."
    draft.steps[n - 2], draft.steps[n - 1] = draft.steps[n - 1], draft.steps[n - 2]
    return f"Step {n} moved up to step {n - 1}."


def with_blank_steps(draft: Draft, minimum: int = 1) -> Draft:
    """Room to add a step: at least one blank fieldset (and `minimum` in all), within the limit."""
    while len(draft.steps) < MAX_STEPS and (
        len(draft.steps) < minimum or not draft.steps[-1].is_blank
    ):
        draft.steps.append(StepDraft())
    return draft
