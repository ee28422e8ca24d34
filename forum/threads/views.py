"""Thread pages: home, topics, asking, replying, editing, voting, accepting."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum.content.markdown import quote_markdown
from forum.errors import NotAllowed, NotFound, RateLimited, SignInRequired, ValidationFailed
from forum.caching.pages import PERSONAL
from forum.http.csrf import csrf_token
from forum.http.forms import read_form
from forum.http.htmx import is_htmx
from forum.pagination import page_number
from forum.templating import render
from forum.threads import permissions, queries, services
from forum.threads.rendering import ThreadBodies
from forum.threads.models import Post, Thread


def _user(request: Request):
    return request.scope.get("user")


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise NotFound("Nothing here.") from None


def post_url(post: Post, thread: Thread, posts_per_page: int) -> str:
    """The address of a post on the thread page that shows it."""
    if post.number == 1:
        return thread.url
    page = queries.page_of_post(post.number, posts_per_page)
    suffix = f"?page={page}" if page > 1 else ""
    return f"{thread.url}{suffix}#post-{post.number}"


async def home(request: Request) -> Response:
    page = await queries.home_page()
    return render(request, "threads/home.html", page=page)


async def topic(request: Request) -> Response:
    settings = request.app.state.settings
    page = await queries.topic_page(
        request.path_params["slug"], page=page_number(request.query_params.get("page")),
        filter=request.query_params.get("filter", "all"), size=settings.page_size,
    )
    if page.pages.number > page.pages.count:
        params = {"filter": page.filter} if page.filter != "all" else {}
        if page.pages.count > 1:
            params["page"] = str(page.pages.count)
        query = f"?{urlencode(params)}" if params else ""
        return RedirectResponse(f"/topics/{page.topic.slug}{query}", status_code=301)
    return render(request, "threads/topic.html", page=page)


async def new_thread(request: Request) -> Response:
    user = _user(request)
    if user is None:
        raise SignInRequired()
    topics = await queries.all_topics()
    if request.method == "GET":
        values = {"topic": request.query_params.get("topic", ""), "kind": "question"}
        return render(request, "threads/new.html", topics=topics, values=values, errors={})
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("topic", "kind", "title", "body", "tags")}
    try:
        thread = await services.create_thread(
            actor=user, topic_slug=values["topic"], kind=values["kind"], title=values["title"],
            body=values["body"], tags=values["tags"], limiter=request.app.state.post_limiter,
            trust=request.app.state.new_member_limits,
        )
    except (ValidationFailed, RateLimited) as exc:
        # Rate limited too: show the form again rather than lose what was typed.
        return _with_retry_after(exc, render(
            request, "threads/new.html", status_code=exc.status_code, topics=topics,
            values=values, errors=_form_errors(exc),
        ))
    return RedirectResponse(thread.url, status_code=303)


def _form_errors(exc: ValidationFailed | RateLimited) -> dict[str, str]:
    return exc.errors if isinstance(exc, ValidationFailed) else {"__all__": exc.message}


def _with_retry_after(exc: Exception, response: Response) -> Response:
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _thread_view(request: Request, *, reply_values: dict | None = None,
                       reply_errors: dict | None = None, status_code: int = 200,
                       page: int | None = None) -> Response:
    settings = request.app.state.settings
    thread_id = _int(request.path_params["thread_id"])
    user = _user(request)
    number = page or page_number(request.query_params.get("page"))

    def token() -> str:
        request.scope[PERSONAL] = True  # the page holds this visitor's token: never shared
        return csrf_token(request.session)

    bodies: ThreadBodies = request.app.state.thread_bodies
    body = await bodies.body(
        request.scope, thread_id, page=number, size=settings.posts_per_page, user=user,
        csrf_token=token,
    )
    data = body.page
    if request.method == "GET" and (
        request.path_params.get("slug") != data.thread.slug or number > data.pages.count
    ):
        # One address per page: old slugs and pages past the end move to the real one.
        last = min(number, data.pages.count)
        query = f"?page={last}" if last > 1 else ""
        return RedirectResponse(f"{data.thread.url}{query}", status_code=301)
    values = reply_values or {"body": ""}
    quote = request.query_params.get("quote")
    if reply_values is None and quote and quote.isdigit() and user is not None:
        quoted = await Post.get_or_none(thread_id=thread_id, number=int(quote), deleted_at=None).select_related("author")
        if quoted is not None:
            values = {"body": quote_markdown(quoted.author.username, quoted.body_source)}
    context = dict(
        content=body.content, thread=data.thread, reply_values=values,
        reply_errors=reply_errors or {}, can=permissions, user=user,
    )
    if is_htmx(request):
        return render(request, "threads/_thread_body.html", status_code=status_code, **context)
    return render(request, "threads/thread.html", status_code=status_code, **context)


async def thread(request: Request) -> Response:
    return await _thread_view(request)


async def thread_redirect(request: Request) -> Response:
    """`/t/{id}` and `/t/{id}/{old-slug}`: moved permanently to the thread's address."""
    found = await Thread.get_or_none(id=_int(request.path_params["thread_id"]))
    if found is None or not permissions.can_see_thread(_user(request), found):
        raise NotFound("That thread doesn't exist or was deleted.")
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(found.url + query, status_code=301)


async def post_redirect(request: Request) -> Response:
    """`/t/{id}/p/{n}`: a stable link to post n, wherever its page is."""
    post = await Post.get_or_none(
        thread_id=_int(request.path_params["thread_id"]), number=_int(request.path_params["number"])
    ).select_related("thread")
    if post is None or not permissions.can_see_thread(_user(request), post.thread):
        raise NotFound("That post doesn't exist.")
    return RedirectResponse(post_url(post, post.thread, request.app.state.settings.posts_per_page), 303)


async def reply(request: Request) -> Response:
    user = _user(request)
    thread_id = _int(request.path_params["thread_id"])
    form = await read_form(request)
    body = form.get("body", "")
    try:
        post = await services.reply(
            actor=user, thread_id=thread_id, body=body, limiter=request.app.state.post_limiter,
            trust=request.app.state.new_member_limits,
        )
    except (ValidationFailed, RateLimited) as exc:
        return _with_retry_after(exc, await _thread_view(
            request, reply_values={"body": body}, reply_errors=_form_errors(exc),
            status_code=exc.status_code,
        ))
    size = request.app.state.settings.posts_per_page
    if is_htmx(request):
        page = queries.page_of_post(post.number, size)
        response = await _thread_view(request, page=page)
        response.headers["HX-Push-Url"] = post_url(post, post.thread, size).split("#")[0]
        return response
    return RedirectResponse(post_url(post, post.thread, size), status_code=303)


def _posted_int(form: dict[str, str], name: str) -> int | None:
    """An optional id from a form: empty means None, anything else must be a number."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationFailed({name: "That isn't a valid choice."})
    return int(raw)


async def accept(request: Request) -> Response:
    user = _user(request)
    thread_id = _int(request.path_params["thread_id"])
    form = await read_form(request)
    thread_obj = await services.accept_answer(
        actor=user, thread_id=thread_id, post_id=_posted_int(form, "post_id")
    )
    if is_htmx(request):
        return await _thread_view(request, page=page_number(form.get("page", "1")))
    return RedirectResponse(thread_obj.url, status_code=303)


async def helpful(request: Request) -> Response:
    user = _user(request)
    post, marked = await services.toggle_helpful(
        actor=user, post_id=_int(request.path_params["post_id"])
    )
    if is_htmx(request):
        return render(request, "threads/_helpful.html", post=post, marked=marked, user=user,
                      can=permissions)
    post, thread_obj = await queries.post_with_thread(post.id, user)
    return RedirectResponse(post_url(post, thread_obj, request.app.state.settings.posts_per_page), 303)


async def edit_post(request: Request) -> Response:
    user = _user(request)
    if user is None:
        raise SignInRequired()
    post, thread_obj = await queries.post_with_thread(_int(request.path_params["post_id"]), user)
    if not permissions.can_edit_post(user, post, thread_obj):
        raise NotAllowed("You can only edit your own posts in open threads.")
    size = request.app.state.settings.posts_per_page
    if request.method == "GET":
        values = {"body": post.body_source, "title": thread_obj.title,
                  "tags": " ".join(thread_obj.tags)}
        return render(request, "threads/edit_post.html", post=post, thread=thread_obj,
                      values=values, errors={})
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("body", "title", "tags")}
    try:
        await services.edit_post(
            actor=user, post_id=post.id, body=values["body"],
            title=values["title"] if post.is_opening else None,
            tags=values["tags"] if post.is_opening else None,
        )
    except ValidationFailed as exc:
        return render(request, "threads/edit_post.html", status_code=422, post=post,
                      thread=thread_obj, values=values, errors=exc.errors)
    thread_obj = await Thread.get(id=thread_obj.id)
    return RedirectResponse(post_url(post, thread_obj, size), status_code=303)


async def history(request: Request) -> Response:
    post, thread_obj, revisions = await queries.post_history(
        _int(request.path_params["post_id"]), _user(request)
    )
    return render(request, "threads/history.html", post=post, thread=thread_obj,
                  revisions=revisions)


async def delete_post(request: Request) -> Response:
    user = _user(request)
    post = await services.delete_post(actor=user, post_id=_int(request.path_params["post_id"]))
    thread_obj = await Thread.get(id=post.thread_id)  # type: ignore[attr-defined]
    if not permissions.can_see_thread(user, thread_obj):
        # The author deleted their own question: its page is gone for them.
        return RedirectResponse(f"/topics/{(await thread_obj.topic).slug}", status_code=303)
    return RedirectResponse(post_url(post, thread_obj, request.app.state.settings.posts_per_page), 303)


async def restore_post(request: Request) -> Response:
    user = _user(request)
    post = await services.restore_post(actor=user, post_id=_int(request.path_params["post_id"]))
    post, thread_obj = await queries.post_with_thread(post.id, user)
    return RedirectResponse(post_url(post, thread_obj, request.app.state.settings.posts_per_page), 303)


def _flag(form: dict[str, str], name: str) -> bool | None:
    value = form.get(name)
    return None if value is None else str(value) in {"1", "true", "on"}


async def moderate(request: Request) -> Response:
    user = _user(request)
    form = await read_form(request)
    thread_obj = await services.moderate_thread(
        actor=user, thread_id=_int(request.path_params["thread_id"]),
        locked=_flag(form, "locked"), pinned=_flag(form, "pinned"),
        deleted=_flag(form, "deleted"), topic_slug=form.get("topic", "") or None,
    )
    return RedirectResponse(thread_obj.url, status_code=303)
