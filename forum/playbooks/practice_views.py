"""Outcome reports and organisations' progress through a playbook."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import SignInRequired, ValidationFailed
from forum.http.forms import read_form
from forum.playbooks import practice, queries
from forum.playbooks.models import OUTCOME_LABELS
from forum.templating import render


def _signed_in(request: Request):
    user = request.scope.get("user")
    if user is None:
        raise SignInRequired()
    return user


def _outcome_form(request: Request, playbook, values: practice.OutcomeInput, *,
                  errors: dict, status_code: int = 200) -> Response:
    return render(request, "playbooks/outcome.html", status_code=status_code, playbook=playbook,
                  values=asdict(values), errors=errors, outcomes=OUTCOME_LABELS)


async def new_outcome(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"])
    if request.method == "GET":
        step = request.query_params.get("step", "")
        return _outcome_form(request, playbook, practice.OutcomeInput(step=step), errors={})
    form = await read_form(request)
    values = practice.OutcomeInput(**{
        name: form.get(name, "") for name in ("outcome", "what_we_did", "step", "happened_on", "evidence_url")
    })
    try:
        await practice.report_outcome(actor=user, playbook_id=playbook.id, values=values)
    except ValidationFailed as exc:
        return _outcome_form(request, playbook, values, errors=exc.errors, status_code=422)
    return RedirectResponse(f"{playbook.url}#outcomes-title", status_code=303)


async def progress(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"])
    form = await read_form(request)
    step = form.get("step", "")
    done = {name.removeprefix("item-") for name, value in form.items() if name.startswith("item-") and value}
    await practice.set_progress(actor=user, playbook_id=playbook.id, step_key=step, done=done)
    return RedirectResponse(f"{playbook.url}#step-{step}", status_code=303)
