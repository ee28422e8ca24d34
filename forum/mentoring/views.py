"""Mentoring pages: requests, private spaces, flags, ask-a-mentor. Thin: parse, call, respond."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts.models import User
from forum.errors import NotAllowed, NotFound, RateLimited, ValidationFailed
from forum.http.forms import first, read_form, read_form_lists
from forum.http.htmx import is_htmx
from forum.http.viewing import now, path_int, signed_in, viewer
from forum.mentoring import asking, queries, requests, spaces
from forum.mentoring.models import GOAL_LABELS, HELP_LABELS
from forum.pagination import page_number
from forum.people.models import MentorProfile, MentorStatus
from forum.playbooks.models import OUTCOME_LABELS
from forum.playbooks.stages import STAGES
from forum.templating import render

MESSAGES_PER_PAGE = 30
DASHBOARD_PAGE_SIZE = 20
FLAGS_PAGE_SIZE = 20


def _errors(exc: ValidationFailed | RateLimited) -> dict[str, str]:
    return exc.errors if isinstance(exc, ValidationFailed) else {"__all__": exc.message}


def _retry_after(exc: Exception, response: Response) -> Response:
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def dashboard(request: Request) -> Response:
    user = signed_in(request)
    data = await queries.dashboard(
        user, page=page_number(request.query_params.get("page")), size=DASHBOARD_PAGE_SIZE
    )
    return render(request, "mentoring/dashboard.html", data=data, now=now(request))


async def _mentor_for_request(username: str) -> tuple[User, MentorProfile]:
    mentor = await User.get_or_none(username_key=username.lower(), is_active=True)
    profile = mentor and await MentorProfile.get_or_none(user_id=mentor.id, status=MentorStatus.APPROVED)
    if mentor is None or profile is None:
        raise NotFound("There is no mentor with that name.")
    return mentor, profile


def _request_form(request: Request, mentor, profile, values: dict, errors: dict,
                  status_code: int = 200) -> Response:
    return render(request, "mentoring/request_form.html", status_code=status_code, mentor=mentor,
                  profile=profile, values=values, errors=errors, stages=STAGES,
                  help_sizes=HELP_LABELS)


async def new_request(request: Request) -> Response:
    user = signed_in(request)
    mentor, profile = await _mentor_for_request(request.path_params["username"])
    if request.method == "GET":
        organisation = await user.organisation if user.organisation_id else None  # type: ignore[attr-defined]
        values = asdict(requests.RequestInput(stage=organisation.stage if organisation else ""))
        return _request_form(request, mentor, profile, values, {})
    form = await read_form(request)
    values = requests.RequestInput(**{k: form.get(k, "") for k in ("goal", "context", "stage", "help_size")})
    try:
        sent = await requests.send_request(
            actor=user, mentor_id=mentor.id, values=values, now=now(request),
            limiter=request.app.state.post_limiter,
            expiry_days=request.app.state.settings.mentor_request_days,
        )
    except (ValidationFailed, RateLimited) as exc:
        return _retry_after(exc, _request_form(
            request, mentor, profile, asdict(values), _errors(exc), status_code=exc.status_code
        ))
    return RedirectResponse(sent.url, status_code=303)


async def request_detail(request: Request) -> Response:
    # Not "sign in first": to anyone but its two people a request doesn't exist.
    user = viewer(request)
    if user is None:
        raise NotFound("That request doesn't exist.")
    page = await queries.request_page(user, path_int(request, "request_id"), now(request))
    return render(request, "mentoring/request.html", page=page, req=page.request, now=now(request))


async def accept(request: Request) -> Response:
    user = signed_in(request)
    space = await requests.accept_request(
        actor=user, request_id=path_int(request, "request_id"), now=now(request)
    )
    return RedirectResponse(space.url, status_code=303)


def _ids(values: list[str]) -> list[int]:
    if any(not v.isdigit() for v in values):
        raise ValidationFailed({"suggested": "Suggest mentors from the list."})
    return [int(v) for v in values]


async def decline(request: Request) -> Response:
    user = signed_in(request)
    form = await read_form_lists(request)
    declined = await requests.decline_request(
        actor=user, request_id=path_int(request, "request_id"), note=first(form, "note"),
        suggested=_ids(form.get("suggested", [])), now=now(request),
    )
    return RedirectResponse(declined.url, status_code=303)


async def withdraw(request: Request) -> Response:
    user = signed_in(request)
    withdrawn = await requests.withdraw_request(
        actor=user, request_id=path_int(request, "request_id"), now=now(request)
    )
    return RedirectResponse(withdrawn.url, status_code=303)


async def _space_view(request: Request, *, values: dict | None = None, errors: dict | None = None,
                      status_code: int = 200, page: int | None = None) -> Response:
    user = viewer(request)
    raw = request.query_params.get("page")
    data = await queries.space_page(
        user, path_int(request, "space_id"), page=page or (page_number(raw) if raw else None),
        size=MESSAGES_PER_PAGE,
    )
    context = dict(data=data, space=data.space, values=values or {}, errors=errors or {},
                   goal_labels=GOAL_LABELS, outcomes=OUTCOME_LABELS)
    if is_htmx(request):
        return render(request, "mentoring/_conversation.html", status_code=status_code, **context)
    return render(request, "mentoring/space.html", status_code=status_code, **context)


async def space(request: Request) -> Response:
    return await _space_view(request)


async def post_message(request: Request) -> Response:
    user = signed_in(request)
    space_id = path_int(request, "space_id")
    form = await read_form(request)
    body = form.get("body", "")
    try:
        message = await spaces.post_message(
            actor=user, space_id=space_id, body=body, now=now(request),
            limiter=request.app.state.post_limiter,
        )
    except (ValidationFailed, RateLimited) as exc:
        return _retry_after(exc, await _space_view(
            request, values={"body": body}, errors=_errors(exc), status_code=exc.status_code
        ))
    page = queries.message_page(message.number, MESSAGES_PER_PAGE)
    if is_htmx(request):
        return await _space_view(request, page=page)
    return RedirectResponse(f"/mentoring/spaces/{space_id}?page={page}#m-{message.number}", status_code=303)


async def _space_form(request: Request, action, field: str, anchor: str) -> Response:
    """Run one of the space's small forms; on bad input show the space with the message."""
    user = signed_in(request)
    space_id = path_int(request, "space_id")
    form = await read_form(request)
    try:
        await action(user, space_id, form)
    except ValidationFailed as exc:
        return await _space_view(request, values={field: form.get(field, "")}, errors=exc.errors,
                                 status_code=422)
    return RedirectResponse(f"/mentoring/spaces/{space_id}#{anchor}", status_code=303)


async def add_goal(request: Request) -> Response:
    return await _space_form(request, lambda u, s, f: spaces.add_goal(
        actor=u, space_id=s, title=f.get("goal", ""), now=now(request)), "goal", "goals-title")


async def goal_status(request: Request) -> Response:
    goal_id = path_int(request, "goal_id")
    return await _space_form(request, lambda u, s, f: spaces.set_goal_status(
        actor=u, space_id=s, goal_id=goal_id, status=f.get("status", ""), now=now(request)),
        "status", "goals-title")


async def add_playbook(request: Request) -> Response:
    return await _space_form(request, lambda u, s, f: spaces.add_playbook(
        actor=u, space_id=s, playbook_slug=f.get("playbook", ""), now=now(request)),
        "playbook", "playbooks-title")


async def add_colleague(request: Request) -> Response:
    return await _space_form(request, lambda u, s, f: spaces.add_colleague(
        actor=u, space_id=s, username=f.get("username", ""), now=now(request)),
        "username", "people-title")


async def close(request: Request) -> Response:
    return await _space_form(request, lambda u, s, f: spaces.close_space(
        actor=u, space_id=s, achieved=f.get("achieved", ""), now=now(request)),
        "achieved", "close-title")


async def publish_outcome(request: Request) -> Response:
    user = viewer(request)
    space_id = path_int(request, "space_id")
    data = await queries.space_page(user, space_id, page=1, size=1)
    assert user is not None  # space_page let only a participant through
    if data.viewer_is_mentor or data.space.is_active:
        raise NotAllowed("The mentee publishes what a closed mentorship achieved.")
    if request.method == "GET":
        values = spaces.PublishInput(what_we_did=data.space.achieved, playbook=(
            data.playbooks[0].playbook.slug if data.playbooks else ""))
        return render(request, "mentoring/publish.html", data=data, values=asdict(values),
                      errors={}, outcomes=OUTCOME_LABELS)
    form = await read_form(request)
    values = spaces.PublishInput(**{k: form.get(k, "") for k in ("playbook", "outcome", "what_we_did", "happened_on")})
    try:
        report = await spaces.publish_outcome(actor=user, space_id=space_id, values=values)
    except ValidationFailed as exc:
        return render(request, "mentoring/publish.html", status_code=422, data=data,
                      values=asdict(values), errors=exc.errors, outcomes=OUTCOME_LABELS)
    playbook = await report.playbook
    return RedirectResponse(f"{playbook.url}#outcomes-title", status_code=303)


async def message(request: Request) -> Response:
    """A message's permalink: participants go to it in its space; a moderator sees a flagged one alone."""
    user = viewer(request)
    found = await spaces.message_for(user, path_int(request, "message_id"))
    if await spaces.is_participant(user, found.space_id):  # type: ignore[attr-defined]
        page = queries.message_page(found.number, MESSAGES_PER_PAGE)
        return RedirectResponse(f"/mentoring/spaces/{found.space_id}?page={page}#m-{found.number}", 303)  # type: ignore[attr-defined]
    return render(request, "mentoring/message.html", message=found)


async def flag(request: Request) -> Response:
    user = signed_in(request)
    form = await read_form(request)
    flagged = await spaces.flag_message(
        actor=user, message_id=path_int(request, "message_id"), reason=form.get("reason", ""),
        now=now(request),
    )
    page = queries.message_page(flagged.number, MESSAGES_PER_PAGE)
    return RedirectResponse(f"/mentoring/spaces/{flagged.space_id}?page={page}#m-{flagged.number}", 303)  # type: ignore[attr-defined]


async def flags(request: Request) -> Response:
    user = signed_in(request)
    if not user.is_moderator:
        raise NotAllowed("Only moderators can see this page.")
    data = await queries.flagged_messages(
        page=page_number(request.query_params.get("page")), size=FLAGS_PAGE_SIZE
    )
    return render(request, "mentoring/flags.html", data=data)


async def ask_mentor(request: Request) -> Response:
    user = signed_in(request)
    thread_id = path_int(request, "thread_id")
    errors: dict[str, str] = {}
    status_code = 200
    if request.method == "POST":
        form = await read_form_lists(request)
        try:
            chosen = form.get("mentors", [])
            if any(not v.isdigit() for v in chosen):
                raise ValidationFailed({"mentors": "Choose mentors from the list."})
            await asking.invite_mentors(
                actor=user, thread_id=thread_id, mentor_ids=[int(v) for v in chosen], now=now(request)
            )
            return RedirectResponse(f"/t/{thread_id}/ask-mentor?sent=1", status_code=303)
        except ValidationFailed as exc:
            errors, status_code = exc.errors, 422
    thread, suggestions, invited = await asking.ask_page(viewer=user, thread_id=thread_id)
    return render(request, "mentoring/ask.html", status_code=status_code, thread=thread,
                  suggestions=suggestions, invited=invited, errors=errors,
                  sent=request.query_params.get("sent") == "1", max_invites=asking.MAX_INVITES)
