"""The account page: email, password, sessions, sign-in methods, my data, deletion."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.accounts import account, deletion, export, mails, recovery, sessions
from forum.accounts.approvals import can_review
from forum.accounts.invitations import can_invite
from forum.accounts.models import Identity, User
from forum.errors import SignInRequired, ValidationFailed
from forum.http.forms import read_form
from forum.templating import flash, render


def require_user(request: Request) -> User:
    user = request.scope.get("user")
    if user is None:
        raise SignInRequired("Please sign in to see your account.")
    return user


async def _account_page(request: Request, user: User, *, errors: dict[str, str] | None = None,
                        values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    identities = await Identity.filter(user_id=user.id).order_by("created_at")
    providers = request.app.state.sso.providers
    linked = {i.provider for i in identities}
    return render(
        request, "accounts/account.html", status_code=status_code, member=user,
        errors=errors or {}, values=values or {},
        sessions=await account.active_sessions(user, request.session.get("sid")),
        identities=[(i, providers.get(i.provider)) for i in identities],
        can_link=[p for p in providers.values() if p.slug not in linked],
        can_invite=can_invite(user), can_review=can_review(user),
        new_member=request.app.state.new_member_limits.is_new(user),
        limits=request.app.state.new_member_limits,
    )


async def account_page(request: Request) -> Response:
    return await _account_page(request, require_user(request))


async def change_password(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    try:
        await account.change_password(
            user=user, current=form.get("current_password", ""), new=form.get("new_password", ""),
            keep_session=request.session.get("sid"),
        )
    except ValidationFailed as exc:
        return await _account_page(request, user, errors=exc.errors, status_code=422)
    await request.app.state.postman.send(user.email, "password_changed", user=user)
    flash(request, "Your password is changed. Your other browsers were signed out.")
    return RedirectResponse("/account", status_code=303)


async def change_email(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    values = {"new_email": form.get("new_email", "")}
    try:
        address = await recovery.request_email_change(
            user=user, new_email=values["new_email"], password=form.get("email_password", ""),
        )
    except ValidationFailed as exc:
        return await _account_page(request, user, errors=exc.errors, values=values, status_code=422)
    if await User.filter(email=address).exists():
        # Its owner is told; the member sees the same answer as for a free address.
        await request.app.state.postman.send(address, "email_in_use", user=user)
    else:
        await mails.send_verification(request, user, address=address)
    flash(request, f"We've sent a link to {address}. Your address changes when you open it.")
    return RedirectResponse("/account", status_code=303)


async def resend_verification(request: Request) -> Response:
    user = require_user(request)
    if user.email_verified:
        flash(request, "Your address is already confirmed.")
    elif await mails.send_verification(request, user):
        flash(request, f"We've sent a new link to {user.email}.")
    else:
        flash(request, "We've sent several links in the last hour. Please check your inbox and spam folder.")
    return RedirectResponse("/account", status_code=303)


async def end_session(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    await account.end_session_by_handle(user=user, handle=form.get("session", ""))
    flash(request, "That browser is signed out.")
    return RedirectResponse("/account#sessions", status_code=303)


async def sign_out_everywhere(request: Request) -> Response:
    user = require_user(request)
    count = await sessions.end_all_sessions(user.id)
    request.session.clear()
    flash(request, f"You're signed out everywhere ({count} {'session' if count == 1 else 'sessions'} ended).")
    return RedirectResponse("/signin", status_code=303)


async def unlink(request: Request) -> Response:
    user = require_user(request)
    identity = await account.unlink_identity(user=user, identity_id=_int(request.path_params["identity_id"]))
    provider = request.app.state.sso.get(identity.provider)
    flash(request, f"{provider.name if provider else identity.provider} no longer signs you in.")
    return RedirectResponse("/account#sign-in-methods", status_code=303)


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


async def download_data(request: Request) -> Response:
    user = require_user(request)
    data = await export.export_account(user)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{user.username_key}-data.json"',
            "Cache-Control": "no-store",
        },
    )


async def delete_account(request: Request) -> Response:
    user = require_user(request)
    if request.method == "GET":
        return render(request, "accounts/delete.html", member=user, values={"posts": "keep"}, errors={})
    form = await read_form(request)
    values = {"posts": form.get("posts", ""), "confirm_username": form.get("confirm_username", "")}
    errors: dict[str, str] = {}
    if values["posts"] not in {"keep", "remove"}:
        errors["posts"] = "Choose what happens to your posts."
    try:
        await deletion.check_deletion_confirmed(
            user=user, password=form.get("password", ""), confirm_username=values["confirm_username"]
        )
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        return render(request, "accounts/delete.html", status_code=422, member=user, values=values, errors=errors)
    address = user.email
    await deletion.delete_account(user=user, remove_posts=values["posts"] == "remove")
    await request.app.state.postman.send(address, "account_deleted", user=user, removed=values["posts"] == "remove")
    request.session.clear()
    flash(request, "Your account is deleted. Thank you for taking part.")
    return RedirectResponse("/", status_code=303)
