"""Keeping playbooks right: suggested edits and their queue, the review list, verifying."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import NotAllowed, NotFound, SignInRequired, ValidationFailed
from forum.http.forms import read_form
from forum.http.redirects import safe_next
from forum.playbooks import permissions, queries, services, suggestions
from forum.playbooks.content import MAX_STEPS, draft_of
from forum.playbooks.forms import draft_from_form, rearrange, with_blank_steps
from forum.playbooks.stages import STAGES
from forum.templating import render


def _signed_in(request: Request):
    user = request.scope.get("user")
    if user is None:
        raise SignInRequired()
    return user


def _id(raw: str) -> int:
    if not raw.isdigit():
        raise NotFound("That suggestion doesn't exist.")
    return int(raw)


def _suggest_form(request: Request, playbook, draft, *, errors: dict, base_revision: int,
                  change_note: str, notice: str = "", status_code: int = 200) -> Response:
    return render(
        request, "playbooks/suggest.html", status_code=status_code, playbook=playbook,
        values=with_blank_steps(draft), errors=errors, topics=[], stages=STAGES,
        max_steps=MAX_STEPS, notice=notice, base_revision=base_revision, change_note=change_note,
    )


async def suggest(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"])
    if request.method == "GET":
        return _suggest_form(request, playbook, draft_of(playbook), errors={},
                             base_revision=playbook.revision_number, change_note="")
    form = await read_form(request)
    draft, note = draft_from_form(form), form.get("change_note", "")
    base = services.parse_revision(form.get("base_revision", ""))
    if (notice := rearrange(draft, form.get("action", ""))) is not None:
        return _suggest_form(request, playbook, draft, errors={}, base_revision=base,
                             change_note=note, notice=notice)
    try:
        suggestion = await suggestions.suggest_edit(
            actor=user, playbook_id=playbook.id, draft=draft, base_revision=base, change_note=note
        )
    except ValidationFailed as exc:
        return _suggest_form(request, playbook, draft, errors=exc.errors, base_revision=base,
                             change_note=note, status_code=422)
    return RedirectResponse(f"{playbook.url}/suggestions/{suggestion.id}", status_code=303)


async def playbook_suggestions(request: Request) -> Response:
    data = await queries.playbook_suggestions(request.path_params["slug"])
    return render(request, "playbooks/suggestions.html", data=data, playbook=data.playbook,
                  can=permissions)


async def queue(request: Request) -> Response:
    user = _signed_in(request)
    data = await queries.suggestion_queue(user)
    return render(request, "playbooks/queue.html", data=data)


async def suggestion(request: Request, *, errors: dict | None = None, reason: str = "",
                     status_code: int = 200) -> Response:
    data = await queries.suggestion_page(request.path_params["slug"], _id(request.path_params["id"]))
    return render(request, "playbooks/suggestion.html", status_code=status_code, data=data,
                  playbook=data.playbook, can=permissions, errors=errors or {}, reason=reason)


async def accept(request: Request) -> Response:
    user = _signed_in(request)
    form = await read_form(request)
    playbook = await suggestions.accept_suggestion(
        actor=user, suggestion_id=_id(request.path_params["id"]),
        seen_revision=services.parse_revision(form.get("seen_revision", ""), "seen_revision"),
    )
    return RedirectResponse(playbook.url, status_code=303)


async def decline(request: Request) -> Response:
    user = _signed_in(request)
    form = await read_form(request)
    reason = form.get("reason", "")
    try:
        await suggestions.decline_suggestion(
            actor=user, suggestion_id=_id(request.path_params["id"]), reason=reason
        )
    except ValidationFailed as exc:
        return await suggestion(request, errors=exc.errors, reason=reason, status_code=422)
    slug = request.path_params["slug"]
    return RedirectResponse(f"/playbooks/{slug}/suggestions/{request.path_params['id']}", status_code=303)


async def verify(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"])
    form = await read_form(request)
    await services.verify_playbook(actor=user, playbook_id=playbook.id)
    return RedirectResponse(safe_next(form.get("next"), playbook.url), status_code=303)


async def due(request: Request) -> Response:
    user = _signed_in(request)
    if not permissions.can_see_due_list(user):
        raise NotAllowed("The review list is for mentors and moderators.")
    return render(request, "playbooks/due.html", data=await queries.due_page())
