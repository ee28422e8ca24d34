"""The search page, instant results, similar questions, and the search-gaps report."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import NotAllowed, SignInRequired
from forum.http.htmx import is_htmx
from forum.pagination import Pages, page_number
from forum.playbooks.stages import STAGES
from forum.search import services
from forum.search.results import (
    ActiveFilter,
    FacetOption,
    ShownHit,
    active_filters,
    facet_options,
    shown_hits,
    url_without,
)
from forum.templating import render
from forum.threads import permissions
from search_index.backend import SearchError, SearchPage

# Ten results a page, as the big web search engines show: a page of hits stays light
# on slow networks (and cheap to highlight), and the filters narrow the rest.
PER_PAGE = 10
STAGE_NAMES = {info.slug: info.label for info in STAGES}


def _params(request: Request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params.keys()}


async def search(request: Request) -> Response:
    params = _params(request)
    query = services.search_request(params, page_number(request.query_params.get("page")))
    user = request.scope.get("user")
    results: SearchPage | None = None
    unavailable = False
    hits: list[ShownHit] = []
    chips: list[ActiveFilter] = []
    facets: list[tuple[str, str, list[FacetOption]]] = []
    # Every engine searches words; filters narrow a search, they are not one.
    if query.text:
        try:
            found = await services.search_page(
                request.app.state.search, query, user, request.app.state.topic_names.get,
                per_page=PER_PAGE,
            )
        except SearchError:
            unavailable = True
        else:
            results = found.results
            hits = shown_hits(found.visible.hits, found.visible.threads, found.topics)
            labels = {"topic": found.topics, "kind": services.KINDS, "solved": services.SOLVED,
                      "stage": STAGE_NAMES}
            chips = active_filters(query.filters, labels, params)
            facets = facet_options(results, query.filters, labels, params) if hits else []
            # Instant results would log every keystroke: log searches people submit.
            if not is_htmx(request) and query.page == 1:
                request.app.state.search_log.add(query.text, results.total)
    context = dict(
        query=query, results=results, hits=hits, unavailable=unavailable, active_filters=chips,
        facets=facets, pages=Pages(query.page, PER_PAGE, results.total if results else 0),
        base=url_without(params, "page"),
    )
    if is_htmx(request):
        return render(request, "search/_results.html", **context)
    return render(request, "search/search.html", **context)


async def similar(request: Request) -> Response:
    """Fragment under the title field of a new question."""
    title = request.query_params.get("title", "")
    try:
        results = await services.similar_questions(
            request.app.state.search, title, request.scope.get("user")
        )
    except SearchError:
        results = SearchPage(hits=[], total=0)
    hits = (await services.visible_hits(results.hits)).hits
    return render(request, "search/_similar.html", results=dataclasses.replace(results, hits=hits))


async def gaps(request: Request) -> Response:
    """Moderators: the most frequent searches that found nothing."""
    user = request.scope.get("user")
    if user is None:
        raise SignInRequired()
    if not permissions.is_moderator(user):
        raise NotAllowed("Only moderators can see this page.")
    await request.app.state.search_log.flush()  # this process's latest searches too
    return render(request, "search/gaps.html", gaps=await services.search_gaps())


async def related(request: Request) -> Response:
    """`/search/related?q=<a title>&kind=...`: what search relates to a thread or playbook."""
    text = services.normalise(request.query_params.get("q", ""))
    kinds = tuple(k for k in request.query_params.getlist("kind") if k in services.KINDS)
    kinds = kinds or tuple(services.KINDS)
    try:
        results: SearchPage | None = await services.related_by_search(
            request.app.state.search, text, kinds, request.scope.get("user"), per_page=10
        )
    except SearchError:
        results = None
    if results is not None:
        # The index may not have caught up with a deletion yet: never show it.
        hits = (await services.visible_hits(results.hits)).hits
        results = dataclasses.replace(results, hits=hits)
    return render(request, "search/related.html", text=text, kinds=kinds, results=results,
                  kind_names=services.KINDS)
