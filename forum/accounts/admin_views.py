"""Who may join: the registration policy, the approval queue and invitation links."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import approvals, invitations, policy
from forum.accounts.account_views import require_user
from forum.accounts.models import Role, User
from forum.errors import NotAllowed, NotFound, ValidationFailed
from forum.http.forms import read_form
from forum.pagination import page_number
from forum.templating import flash, render


def _registration_page(request: Request, *, rules: policy.Policy, values: dict, errors: dict,
                       status_code: int = 200) -> Response:
    return render(request, "accounts/admin_registration.html", status_code=status_code, policy=rules,
                  values=values, errors=errors, modes=policy.MODE_LABELS)


async def registration(request: Request) -> Response:
    user = require_user(request)
    if user.role != Role.ADMIN:
        raise NotAllowed("Only administrators can change who may join.")
    rules = await policy.current_policy()
    if request.method == "GET":
        values = {"mode": rules.mode.value, "domains": "\n".join(rules.domains)}
        return _registration_page(request, rules=rules, values=values, errors={})
    form = await read_form(request)
    values = {"mode": form.get("mode", ""), "domains": form.get("domains", "")}
    try:
        await policy.set_policy(actor=user, mode=values["mode"], domains_text=values["domains"])
    except ValidationFailed as exc:
        return _registration_page(request, rules=rules, values=values, errors=exc.errors, status_code=422)
    flash(request, "Saved: the new registration policy applies from now on.")
    return RedirectResponse("/admin/registration", status_code=303)


async def approval_queue(request: Request) -> Response:
    user = require_user(request)
    page = await approvals.approval_page(actor=user, page=page_number(request.query_params.get("page")))
    return render(request, "accounts/approvals.html", page=page, hold_label=policy.hold_label)


async def decide(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    decision = form.get("decision", "")
    if decision not in {"approve", "decline"}:
        raise ValidationFailed({"decision": "Choose approve or decline."})
    try:
        member_id = int(request.path_params["user_id"])
    except ValueError:
        raise NotFound("That account doesn't exist.") from None
    member = await approvals.decide(actor=user, user_id=member_id, approve=decision == "approve")
    postman = request.app.state.postman
    if decision == "approve":
        await postman.send(member.email, "approved", user=member)
        flash(request, f"{member.display_name} (@{member.username}) can now sign in; we've emailed them.")
    else:
        await postman.send(member.email, "declined", user=member)
        flash(request, f"The request from {member.email} was declined and removed.")
    return RedirectResponse("/admin/approvals", status_code=303)


async def _invitations_page(request: Request, user: User, *, values: dict, errors: dict,
                            status_code: int = 200) -> Response:
    page = await invitations.invitations_page(actor=user, page=page_number(request.query_params.get("page")))
    return render(request, "accounts/invitations.html", status_code=status_code, page=page,
                  values=values, errors=errors, roles=invitations.grantable_roles(user),
                  is_usable=invitations.is_usable)


async def invitation_list(request: Request) -> Response:
    user = require_user(request)
    if request.method == "GET":
        return await _invitations_page(request, user, values={"uses": "1", "days": "14", "role": "member"}, errors={})
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("uses", "days", "role", "organisation", "note")}
    try:
        invitation = await invitations.create_invitation(
            actor=user, uses=values["uses"], days=values["days"], role=values["role"],
            organisation_id=values["organisation"], note=values["note"],
        )
    except ValidationFailed as exc:
        return await _invitations_page(request, user, values=values, errors=exc.errors, status_code=422)
    link = f"{request.app.state.settings.base_url.rstrip('/')}{invitation.url}"
    flash(request, f"Invitation created. Send this link: {link}")
    return RedirectResponse("/invitations", status_code=303)


async def revoke(request: Request) -> Response:
    user = require_user(request)
    try:
        invitation_id = int(request.path_params["invitation_id"])
    except ValueError:
        raise NotFound("That invitation doesn't exist.") from None
    await invitations.revoke_invitation(actor=user, invitation_id=invitation_id)
    flash(request, "The invitation is revoked: its link no longer works.")
    return RedirectResponse("/invitations", status_code=303)
