"""The notification list; opening a notification marks it read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.http.redirects import safe_next
from forum.http.viewing import now, path_int, signed_in
from forum.notifications import queries, services
from forum.pagination import page_number
from forum.templating import render

PAGE_SIZE = 30


async def notification_list(request: Request) -> Response:
    user = signed_in(request)
    data = await queries.notification_list(
        user, page=page_number(request.query_params.get("page")), size=PAGE_SIZE
    )
    return render(request, "notifications/list.html", data=data)


async def open_notification(request: Request) -> Response:
    user = signed_in(request)
    notification = await services.open_notification(
        user=user, notification_id=path_int(request, "notification_id"), now=now(request)
    )
    return RedirectResponse(safe_next(notification.url), status_code=303)


async def read_all(request: Request) -> Response:
    user = signed_in(request)
    await services.mark_all_read(user=user, now=now(request))
    return RedirectResponse("/notifications", status_code=303)
