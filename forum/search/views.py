"""The search page, instant results, similar questions, and the search-gaps report."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from forum.errors import NotAllowed, SignInRequired
from forum.http.htmx import is_htmx
from forum.pagination import Pages, page_number
from forum.playbooks.stages import STAGES
from forum.search import services
from forum.templating import render
from forum.threads import permissions
from search_index.backend import SearchError, SearchPage

PER_PAGE = 20
FACET_HEADINGS = {"kind": "Kind", "topic": "Topic", "tags": "Tag", "stage": "Stage", "solved": "Answered"}
SHOWN_FACET_VALUES = 10  # the most frequent values of a facet; chosen ones are always shown


@dataclasses.dataclass(frozen=True)
class FacetOption:
    label: str
    count: int
    href: str
    active: bool


def _facet_options(
    results: SearchPage, query: services.SearchRequest, labels: dict[str, dict[str, str]],
    params: dict[str, list[str]],
) -> list[tuple[str, str, list[FacetOption]]]:
    """Each facet with values, as (name, heading, options): built here, not in the template,
    because a results page lists up to sixty of them."""
    base = _url_without(params, "page")
    found = []
    for name, heading in FACET_HEADINGS.items():
        counts = results.facets.get(name) or {}
        chosen = query.filters.get(name, ())
        shown = [v for v in counts if v in chosen] + [v for v in counts if v not in chosen]
        shown = [v for i, v in enumerate(shown) if v in chosen or i < SHOWN_FACET_VALUES]
        options = [
            FacetOption(
                label=labels.get(name, {}).get(value, value), count=counts[value],
                href=_url_without(params, name, value) if value in chosen
                else f"{base}&{urlencode({name: value})}",
                active=value in chosen,
            )
            for value in shown
        ]
        if options:
            found.append((name, heading, options))
    return found


def _params(request: Request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params.keys()}


def _url_without(params: dict[str, list[str]], name: str, value: str | None = None) -> str:
    """The current search with one filter value (or a whole parameter) removed."""
    kept = [
        (key, v) for key, values in params.items() for v in values
        if key != "page" and not (key == name and (value is None or v == value))
    ]
    return "/search?" + urlencode(kept)


async def search(request: Request) -> Response:
    params = _params(request)
    query = services.search_request(params, page_number(request.query_params.get("page")))
    user = request.scope.get("user")
    results: SearchPage | None = None
    unavailable = False
    # Every engine searches words; filters narrow a search, they are not one.
    if query.text:
        try:
            results = await services.run_search(
                request.app.state.search, query, user, per_page=PER_PAGE
            )
        except SearchError:
            unavailable = True
        # Instant results would log every keystroke: log searches people submit.
        if results is not None and not is_htmx(request) and query.page == 1 and query.text:
            request.app.state.search_log.add(query.text, results.total)
    topics = await request.app.state.topic_names.get()
    threads: dict[str, tuple[str, str]] = {}
    if results is not None:
        hits, threads = await services.visible_hits(results.hits)
        results = dataclasses.replace(results, hits=hits)
    labels = {
        "topic": topics, "kind": services.KINDS, "solved": services.SOLVED,
        "stage": {info.slug: info.label for info in STAGES},
    }
    context = dict(
        query=query, results=results, threads=threads, unavailable=unavailable, topics=topics,
        kinds=services.KINDS, solved_labels=services.SOLVED, stages=labels["stage"],
        facets=_facet_options(results, query, labels, params) if results and results.hits else [],
        facet_names=FACET_HEADINGS,
        pages=Pages(query.page, PER_PAGE, results.total if results else 0),
        base=_url_without(params, "page"), without=lambda name, value=None: _url_without(params, name, value),
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
    hits, _ = await services.visible_hits(results.hits)
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
        hits, _ = await services.visible_hits(results.hits)
        results = dataclasses.replace(results, hits=hits)
    return render(request, "search/related.html", text=text, kinds=kinds, results=results,
                  kind_names=services.KINDS)
