"""Member profile pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.people import queries
from forum.templating import render


async def profile(request: Request) -> Response:
    page = await queries.profile_page(request.path_params["username"])
    return render(request, "people/profile.html", page=page, member=page.member)
