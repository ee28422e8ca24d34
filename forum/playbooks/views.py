"""Playbook pages: list, journey, reading, writing, history, comparing, restoring, maintainers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.errors import NotAllowed, NotFound, SignInRequired, ValidationFailed
from forum.http.forms import read_form
from forum.pagination import page_number
from forum.playbooks import permissions, queries, services
from forum.playbooks.content import MAX_STEPS, Draft, check_draft, draft_of, item_key
from forum.playbooks.diff import compare
from forum.playbooks.forms import draft_from_form, rearrange, with_blank_steps
from forum.playbooks.promotion import promotion_draft, promotion_source
from forum.playbooks.stages import STAGE_LABELS, STAGES
from forum.templating import render
from forum.threads.queries import all_topics

HISTORY_PAGE_SIZE = 30


def _user(request: Request):
    return request.scope.get("user")


def _signed_in(request: Request):
    user = _user(request)
    if user is None:
        raise SignInRequired()
    return user


def _optional_int(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise NotFound("This playbook has no such revision.")
    return int(raw)


async def index(request: Request) -> Response:
    params = request.query_params
    page = await queries.list_page(
        stage=params.get("stage", ""), topic=params.get("topic", ""),
        page=page_number(params.get("page")), size=request.app.state.settings.page_size,
    )
    if page.pages.number > page.pages.count:
        return RedirectResponse(_list_url(page.stage, page.topic, page.pages.count), status_code=301)
    return render(request, "playbooks/list.html", page=page, stages=STAGES,
                  can=permissions, base=_list_url(page.stage, page.topic))


def _list_url(stage: str, topic: str, page: int = 1) -> str:
    params = [(k, v) for k, v in (("stage", stage), ("topic", topic)) if v]
    if page > 1:
        params.append(("page", str(page)))
    return "/playbooks" + ("?" + "&".join(f"{k}={v}" for k, v in params) if params else "")


async def journey(request: Request) -> Response:
    return render(request, "playbooks/journey.html", stages=await queries.journey_page())


async def detail(request: Request) -> Response:
    page = await queries.playbook_page(request.path_params["slug"], _user(request))
    return _detail(request, page)


def _detail(request: Request, page: queries.PlaybookPage, status_code: int = 200,
            **extra: Any) -> Response:
    return render(request, "playbooks/detail.html", status_code=status_code, page=page,
                  playbook=page.playbook, can=permissions, item_key=item_key,
                  stage_labels=STAGE_LABELS, **extra)


def _form_page(request: Request, template: str, *, draft: Draft, errors: dict[str, str],
               topics: list, status_code: int = 200, notice: str = "", **context: Any) -> Response:
    return render(
        request, template, status_code=status_code, values=with_blank_steps(draft), errors=errors,
        topics=topics, stages=STAGES, notice=notice, max_steps=MAX_STEPS, **context,
    )


async def new(request: Request) -> Response:
    """Write a playbook; `?from_thread=ID` starts from a solved question (promotion)."""
    user = _signed_in(request)
    if not permissions.can_create(user):
        raise NotAllowed("Mentors and moderators write playbooks. Any member can suggest edits.")
    topics = await all_topics()
    source = None
    if (raw := request.query_params.get("from_thread")) is not None:
        if not raw.isdigit():
            raise NotFound("That thread doesn't exist.")
        source = await promotion_source(int(raw))
    context = dict(topics=topics, change_note="", source_thread=source[0] if source else None)
    if request.method == "GET":
        if source is not None:
            draft = promotion_draft(*source)
        else:
            draft = Draft(stage=request.query_params.get("stage", ""),
                          topic=request.query_params.get("topic", ""))
        return _form_page(request, "playbooks/new.html", draft=with_blank_steps(draft, 3),
                          errors={}, **context)
    form = await read_form(request)
    draft = draft_from_form(form)
    if (notice := rearrange(draft, form.get("action", ""))) is not None:
        return _form_page(request, "playbooks/new.html", draft=draft, errors={}, notice=notice,
                          **context)
    try:
        playbook = await services.create_playbook(
            actor=user, draft=draft, source_thread_id=source[0].id if source else None
        )
    except ValidationFailed as exc:
        return _form_page(request, "playbooks/new.html", draft=draft, errors=exc.errors,
                          status_code=422, **context)
    return RedirectResponse(playbook.url, status_code=303)


async def edit(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"], "topic")
    if not permissions.can_edit(user, await services.maintainer_ids(playbook.id)):
        raise NotAllowed("Only maintainers, mentors and moderators edit playbooks. Suggest an edit instead.")
    topics = await all_topics()
    context = dict(playbook=playbook, topics=topics)
    if request.method == "GET":
        draft = draft_of(playbook, playbook.topic.slug if playbook.topic else "")
        return _form_page(request, "playbooks/edit.html", draft=draft, errors={},
                          base_revision=playbook.revision_number, change_note="", **context)
    form = await read_form(request)
    draft, note = draft_from_form(form), form.get("change_note", "")
    base = services.parse_revision(form.get("base_revision", ""))
    context |= dict(base_revision=base, change_note=note)
    if (notice := rearrange(draft, form.get("action", ""))) is not None:
        return _form_page(request, "playbooks/edit.html", draft=draft, errors={}, notice=notice,
                          **context)
    try:
        await services.edit_playbook(
            actor=user, playbook_id=playbook.id, draft=draft, base_revision=base, change_note=note
        )
    except ValidationFailed as exc:
        return _form_page(request, "playbooks/edit.html", draft=draft, errors=exc.errors,
                          status_code=422, **context)
    except services.EditConflict as conflict:
        return await _conflict_page(request, conflict, topics)
    return RedirectResponse(playbook.url, status_code=303)


async def _conflict_page(request: Request, conflict: services.EditConflict, topics: list) -> Response:
    """409: the saved version and the editor's, with what differs, and the form to try again."""
    current = conflict.current
    await current.fetch_related("updated_by", "topic")
    theirs = SimpleNamespace(**check_draft(conflict.draft, {}), topic_id=None)
    theirs.topic_id = next((t.id for t in topics if t.slug == conflict.draft.topic), None)
    sections = compare(current, theirs, {t.id: t.name for t in topics})
    return _form_page(
        request, "playbooks/conflict.html", draft=conflict.draft, errors={}, topics=topics,
        status_code=409, playbook=current, sections=sections, started_from=conflict.base_revision,
        base_revision=current.revision_number, change_note=conflict.change_note,
    )


async def history(request: Request) -> Response:
    data = await queries.history_page(
        request.path_params["slug"], page=page_number(request.query_params.get("page")),
        size=HISTORY_PAGE_SIZE,
    )
    return render(request, "playbooks/history.html", data=data, playbook=data.playbook,
                  can=permissions)


async def compare_view(request: Request) -> Response:
    params = request.query_params
    data = await queries.compare_page(
        request.path_params["slug"], _optional_int(params.get("a")), _optional_int(params.get("b"))
    )
    return render(request, "playbooks/compare.html", data=data, playbook=data.playbook)


async def restore(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"])
    form = await read_form(request)
    await services.restore_revision(
        actor=user, playbook_id=playbook.id,
        number=services.parse_revision(form.get("number", ""), "number"),
        base_revision=services.parse_revision(form.get("base_revision", "")),
    )
    return RedirectResponse(f"{playbook.url}/history", status_code=303)


async def maintainers(request: Request) -> Response:
    user = _signed_in(request)
    playbook = await queries.get_playbook(request.path_params["slug"])
    form = await read_form(request)
    try:
        await services.set_maintainers(
            actor=user, playbook_id=playbook.id, usernames=form.get("maintainers", "")
        )
    except ValidationFailed as exc:
        page = await queries.playbook_page(playbook.slug, user)
        return _detail(request, page, 422, maintainer_form={
            "value": form.get("maintainers", ""), "errors": exc.errors,
        })
    return RedirectResponse(f"{playbook.url}#maintainers", status_code=303)
