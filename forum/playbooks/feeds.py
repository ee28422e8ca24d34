"""An Atom feed of each playbook's revisions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.playbooks import queries

FEED_SIZE = 30


async def revisions_feed(request: Request) -> Response:
    data = await queries.history_page(request.path_params["slug"], page=1, size=FEED_SIZE)
    settings = request.app.state.settings
    template = request.app.state.templates.get_template("playbooks/feed.atom")
    body = template.render(data=data, playbook=data.playbook, base_url=settings.base_url.rstrip("/"),
                           site_name=settings.site_name)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
