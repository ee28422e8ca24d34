"""Profiles, the mentor directory, mentor applications and settings, organisation pages."""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts.models import Role
from forum.errors import NotAllowed, ValidationFailed
from forum.http.forms import first, read_form, read_form_lists
from forum.http.viewing import now, path_int, signed_in, viewer
from forum.pagination import Pages, page_number
from forum.people import directory, mentors, organisations, queries
from forum.people.models import (
    OWNERSHIP_MODELS,
    RESPONSE_TIME_LABELS,
    SECTORS,
    STAFF_SIZES,
    MentorProfile,
    MentorStatus,
)
from forum.playbooks.stages import STAGES
from forum.templating import render
from forum.threads.queries import all_topics

DIRECTORY_PAGE_SIZE = 12
APPLICATIONS_PAGE_SIZE = 20


async def profile(request: Request) -> Response:
    page = await queries.profile_page(request.path_params["username"])
    return render(request, "people/profile.html", page=page, member=page.member)


async def mentor_directory(request: Request) -> Response:
    params = request.query_params
    filters = directory.DirectoryFilters(
        expertise=params.get("expertise", "").strip().lower()[:30],
        sector=params.get("sector", "") if params.get("sector", "") in SECTORS else "",
        availability=params.get("availability", "all"),
    )
    page = await directory.directory_page(
        viewer(request), filters, page=page_number(params.get("page")), size=DIRECTORY_PAGE_SIZE
    )
    kept = {k: v for k, v in asdict(filters).items() if v and v != "all"}
    base = "/mentors" + (f"?{urlencode(kept)}" if kept else "")
    return render(request, "people/directory.html", page=page, base=base,
                  availability=directory.AVAILABILITY)


def _mentor_form_context(values: dict, errors: dict, topics) -> dict:
    options = {
        "sectors": [(s, s) for s in SECTORS], "stages": [(i.slug, i.label) for i in STAGES],
        "topics": [(t.slug, t.name) for t in topics],
    }
    return dict(values=values, errors=errors, options=options, response_times=RESPONSE_TIME_LABELS)


def _mentor_input(form: dict[str, list[str]]) -> mentors.MentorInput:
    return mentors.MentorInput(
        expertise=first(form, "expertise"), sectors=form.get("sectors", []),
        stages=form.get("stages", []), topics=form.get("topics", []),
        background=first(form, "background"),
    )


async def apply(request: Request) -> Response:
    user = signed_in(request)
    existing = await MentorProfile.get_or_none(user_id=user.id)
    topics = await all_topics()
    if request.method == "GET":
        values = asdict(mentors.MentorInput())
        return render(request, "people/apply.html", existing=existing,
                      **_mentor_form_context(values, {}, topics))
    if existing is not None and existing.is_approved:
        return RedirectResponse("/mentors/settings", status_code=303)  # nothing to apply for
    form = await read_form_lists(request)
    values = _mentor_input(form)
    try:
        await mentors.apply_to_mentor(actor=user, values=values, now=now(request))
    except ValidationFailed as exc:
        return render(request, "people/apply.html", status_code=422, existing=existing,
                      **_mentor_form_context(asdict(values), exc.errors, topics))
    return RedirectResponse("/mentors/apply", status_code=303)


async def mentor_settings(request: Request) -> Response:
    user = signed_in(request)
    profile = await MentorProfile.get_or_none(user_id=user.id, status=MentorStatus.APPROVED)
    if profile is None:
        raise NotAllowed("Mentor settings are for approved mentors. Apply to be a mentor first.")
    topics = await all_topics()
    if request.method == "GET":
        values = {
            "expertise": " ".join(profile.expertise), "sectors": profile.sectors,
            "stages": profile.stages, "topics": profile.topics, "background": profile.background,
            "capacity": str(profile.capacity), "is_open": profile.is_open,
            "response_time": str(profile.response_time),
        }
        saved = request.query_params.get("saved") == "1"
        return render(request, "people/mentor_settings.html", profile=profile, saved=saved,
                      **_mentor_form_context(values, {}, topics))
    form = await read_form_lists(request)
    values = _mentor_input(form)
    settings = mentors.SettingsInput(
        capacity=first(form, "capacity"), is_open=first(form, "is_open") == "open",
        response_time=first(form, "response_time"),
    )
    try:
        await mentors.update_mentor(actor=user, values=values, settings=settings)
    except ValidationFailed as exc:
        shown = asdict(values) | asdict(settings)
        return render(request, "people/mentor_settings.html", status_code=422, profile=profile,
                      saved=False, **_mentor_form_context(shown, exc.errors, topics))
    return RedirectResponse("/mentors/settings?saved=1", status_code=303)


def _require_admin(request: Request):
    user = signed_in(request)
    if user.role != Role.ADMIN:
        raise NotAllowed("Only administrators decide mentor applications.")
    return user


async def applications(request: Request) -> Response:
    _require_admin(request)
    pending = MentorProfile.filter(status=MentorStatus.PENDING)
    pages = Pages(page_number(request.query_params.get("page")), APPLICATIONS_PAGE_SIZE,
                  await pending.count())
    rows = await pending.order_by("applied_at").offset(pages.offset).limit(pages.size).select_related(
        "user__organisation"
    )
    return render(request, "people/applications.html", applications=list(rows), pages=pages)


async def decide(request: Request) -> Response:
    user = _require_admin(request)
    form = await read_form(request)
    decision = form.get("decision", "")
    if decision not in ("approve", "decline"):
        raise ValidationFailed({"decision": "Choose approve or decline."})
    await mentors.decide_application(
        actor=user, profile_id=path_int(request, "profile_id"), approve=decision == "approve",
        note=form.get("note", ""), now=now(request),
    )
    return RedirectResponse("/mentors/applications", status_code=303)


ORGANISATION_MEMBERS_PAGE = 30


async def organisation(request: Request) -> Response:
    page = await queries.organisation_page(
        request.path_params["slug"], viewer(request),
        page=page_number(request.query_params.get("page")), size=ORGANISATION_MEMBERS_PAGE,
    )
    stage_labels = {info.slug: info.label for info in STAGES}
    return render(request, "people/organisation.html", page=page, org=page.organisation,
                  stage_labels=stage_labels)


async def organisation_threads(request: Request) -> Response:
    organisation, threads, pages = await queries.organisation_threads(
        request.path_params["slug"], page=page_number(request.query_params.get("page")),
        size=request.app.state.settings.page_size,
    )
    return render(request, "people/organisation_threads.html", org=organisation, threads=threads,
                  pages=pages)


def _organisation_form(request: Request, org, values, errors: dict, status_code: int = 200) -> Response:
    return render(request, "people/organisation_edit.html", status_code=status_code, org=org,
                  values=asdict(values), errors=errors, sectors=[(s, s) for s in SECTORS],
                  stages=[(i.slug, i.label) for i in STAGES], staff_sizes=[(s, s) for s in STAFF_SIZES],
                  ownership_models=OWNERSHIP_MODELS)


async def edit_organisation(request: Request) -> Response:
    user = signed_in(request)
    org = await queries.get_organisation(request.path_params["slug"])
    if not queries.can_edit_organisation(user, org):
        raise NotAllowed("Only the organisation's admins can edit its page.")
    if request.method == "GET":
        return _organisation_form(request, org, organisations.OrganisationInput.from_organisation(org), {})
    values = organisations.OrganisationInput.from_form(await read_form(request))
    try:
        await organisations.update_organisation(actor=user, slug=org.slug, values=values)
    except ValidationFailed as exc:
        return _organisation_form(request, org, values, exc.errors, status_code=422)
    return RedirectResponse(org.url, status_code=303)
