"""CSRF: every state-changing route refuses a request without the session's token.

The routes are read from the URL table, so a new POST route is covered as soon
as it is added; give it form data in FORMS so the positive test can see it work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from starlette.routing import BaseRoute, Mount, Route
from tortoise import Tortoise

from forum.accounts.models import Role, Session, User
from forum.routes import routes as URL_TABLE
from forum.threads import services
from forum.threads.models import Post, Thread
from forum.settings import Settings
from tests.accounts.csrf_scene import GITHUB, IDENTITY_PATHS, IdentityScene, identity_scene
from tests.factories import PASSWORD, make_reply, make_thread, make_topic, make_user
from tests.mentoring.csrf_scene import MENTORING_PATHS, MentoringScene, mentoring_scene
from tests.playbooks.csrf_scene import PLAYBOOK_PATHS, PlaybookScene, playbook_scene
from tests.web import csrf_from, sign_in

CSRF_MESSAGE = "Your session has expired or the form was sent from somewhere else."


def post_routes(table: list[BaseRoute], prefix: str = "") -> list[Route]:
    """Every route of `table` (mounts included) that accepts POST."""
    found: list[Route] = []
    for route in table:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            found.append(route)
        elif isinstance(route, Mount) and route.routes:
            found.extend(post_routes(route.routes, prefix + route.path))
    return found


POST_ROUTES = post_routes(URL_TABLE)


def test_the_url_table_has_the_state_changing_routes_we_expect():
    paths = {route.path for route in POST_ROUTES}
    assert {"/signup", "/signin", "/signout", "/new", "/t/{thread_id:int}/reply",
            "/posts/{post_id:int}/delete"} <= paths


@dataclass
class World:
    """Real rows for the path parameters, and a moderator who may do everything."""

    moderator: User
    member: User
    thread: Thread
    reply: Post
    deleted: Post
    topic_slug: str
    playbooks: PlaybookScene
    mentoring: MentoringScene
    identity: IdentityScene

    def path_for(self, route: Route) -> str:
        values: dict[str, Any] = {
            "thread_id": self.thread.id, "post_id": self.reply.id, "number": self.reply.number,
            "slug": self.thread.slug, "username": self.member.username_key,
        }
        if route.path.endswith("/restore"):
            values["post_id"] = self.deleted.id
        values.update(self.playbooks.path_values(route.path))
        values.update(self.mentoring.path_values(route.path))
        values.update(self.identity.path_values(route.path))
        params = {name: values[name] for name in route.param_convertors}
        return route.url_path_for(route.name, **params) if route.name else route.path.format(
            **params
        )

    def form_for(self, route: Route) -> dict[str, str]:
        """Form data that makes the route change something when the token is right."""
        forms: dict[str, dict[str, str]] = {
            "/signup": {"username": "newcomer", "display_name": "New Comer",
                        "email": "newcomer@example.org", "password": "rivers and lighthouses"},
            "/signin": {"login": self.moderator.username, "password": PASSWORD},
            "/new": {"topic": self.topic_slug, "kind": "question",
                     "title": "How did you fund the pension bond?", "body": "We need ideas."},
            "/t/{thread_id:int}/reply": {"body": "We asked the pension fund early on."},
            "/t/{thread_id:int}/accept": {"post_id": str(self.reply.id)},
            "/t/{thread_id:int}/moderate": {"locked": "1"},
            "/posts/{post_id:int}/edit": {"body": "An edited answer, with more detail."},
        } | self.playbooks.forms() | self.mentoring.forms() | self.identity.forms()
        return forms.get(route.path, {})


KNOWN_PATHS = {
    "/signup", "/signin", "/signout", "/new", "/t/{thread_id:int}/reply",
    "/t/{thread_id:int}/accept", "/t/{thread_id:int}/moderate", "/posts/{post_id:int}/edit",
    "/posts/{post_id:int}/delete", "/posts/{post_id:int}/restore", "/posts/{post_id:int}/helpful",
} | PLAYBOOK_PATHS | MENTORING_PATHS | IDENTITY_PATHS


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"oidc_providers": [GITHUB]})


@pytest.fixture
async def world(app, client) -> World:
    # An administrator: the registration policy is theirs alone to change.
    moderator = await make_user("moira", role=Role.ADMIN)
    member = await make_user("bob")
    topic = await make_topic("tupe-pensions")
    thread = await make_thread(moderator, topic, kind="question")
    reply = await make_reply(thread, member, "Talk to the LGPS fund first.")
    deleted = await make_reply(thread, member, "A reply that was withdrawn.")
    await services.delete_post(actor=member, post_id=deleted.id)
    playbooks = await playbook_scene(moderator)
    return World(moderator, member, thread, reply, deleted, topic.slug, playbooks,
                 await mentoring_scene(moderator, playbooks.playbook.slug),
                 await identity_scene(moderator, app.state.link_signer))


@pytest.fixture
async def other_client(app) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table: what a refused request must leave untouched."""
    state = {}
    for name, model in sorted(Tortoise.apps["forum"].items()):
        pk = model._meta.pk_attr
        state[name] = await model.all().order_by(pk).values()
    return state


def route_id(route: Route) -> str:
    return route.path


def assert_refused(response: httpx2.Response) -> None:
    assert response.status_code == 403, response.text[:500]
    assert CSRF_MESSAGE in response.text


@pytest.mark.parametrize("route", POST_ROUTES, ids=route_id)
async def test_a_post_without_a_token_is_refused_and_changes_nothing(client, world, route):
    await sign_in(client, world.moderator)
    before = await snapshot()
    response = await client.post(world.path_for(route), data=world.form_for(route))
    assert_refused(response)
    assert await snapshot() == before


@pytest.mark.parametrize("route", POST_ROUTES, ids=route_id)
async def test_a_post_with_a_wrong_token_is_refused_and_changes_nothing(client, world, route):
    await sign_in(client, world.moderator)
    token = await csrf_from(client, "/")
    before = await snapshot()
    path, form = world.path_for(route), world.form_for(route)
    response = await client.post(path, data={**form, "csrf_token": token[:-2] + "xx"})
    assert_refused(response)
    response = await client.post(path, data=form, headers={"X-CSRF-Token": "not-the-token"})
    assert_refused(response)
    response = await client.post(path, data={**form, "csrf_token": ""})
    assert_refused(response)
    assert await snapshot() == before


@pytest.mark.parametrize("route", POST_ROUTES, ids=route_id)
async def test_a_post_with_another_sessions_token_is_refused_and_changes_nothing(
    client, other_client, world, route
):
    await sign_in(client, world.moderator)
    await sign_in(other_client, world.member)
    attackers_token = await csrf_from(other_client, "/")
    before = await snapshot()
    path, form = world.path_for(route), world.form_for(route)
    response = await client.post(path, data={**form, "csrf_token": attackers_token})
    assert_refused(response)
    response = await client.post(path, data=form, headers={"X-CSRF-Token": attackers_token})
    assert_refused(response)
    assert await snapshot() == before


@pytest.mark.parametrize("route", POST_ROUTES, ids=route_id)
async def test_a_valid_token_in_the_header_is_accepted(client, world, route):
    await sign_in(client, world.moderator)
    token = await csrf_from(client, "/")
    before = await snapshot()
    response = await client.post(
        world.path_for(route), data=world.form_for(route), headers={"X-CSRF-Token": token}
    )
    assert response.status_code != 403, response.text[:500]
    assert CSRF_MESSAGE not in response.text
    assert response.status_code < 400, response.text[:500]
    if route.path in KNOWN_PATHS:
        assert await snapshot() != before, f"POST {route.path} changed nothing"


@pytest.mark.parametrize("route", POST_ROUTES, ids=route_id)
async def test_a_signed_out_post_without_a_token_is_sent_to_sign_in_and_changes_nothing(
    client, world, route
):
    before = await snapshot()
    response = await client.post(world.path_for(route), data=world.form_for(route))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")
    assert await snapshot() == before


async def test_a_valid_token_in_a_multipart_form_is_accepted(client, world):
    await sign_in(client, world.moderator)
    token = await csrf_from(client, "/")
    response = await client.post(
        "/signout", data={"csrf_token": token},
        files={"attachment": ("note.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 303
    # Only the session this client had ends (the scene's other browser stays signed in).
    assert not await Session.filter(user_id=world.moderator.id).exclude(
        key=world.identity.other_session
    ).exists()


async def test_a_json_post_without_the_header_is_refused(client, world):
    await sign_in(client, world.moderator)
    token = await csrf_from(client, "/")
    before = await snapshot()
    response = await client.post(
        f"/t/{world.thread.id}/reply", json={"body": "JSON body", "csrf_token": token}
    )
    assert_refused(response)
    assert await snapshot() == before


async def test_an_htmx_request_refused_for_csrf_gets_a_message_fragment(client, world):
    await sign_in(client, world.moderator)
    response = await client.post(
        f"/t/{world.thread.id}/reply", data={"body": "Via htmx"},
        headers={"HX-Request": "true", "X-CSRF-Token": "stale"},
    )
    assert response.status_code == 403
    assert "<html" not in response.text
    assert CSRF_MESSAGE in response.text
    assert response.headers["HX-Retarget"] == "#flash"


async def test_a_stale_header_does_not_hide_a_valid_form_token(client, world):
    await sign_in(client, world.moderator)
    token = await csrf_from(client, "/")
    response = await client.post(
        "/signout", data={"csrf_token": token}, headers={"X-CSRF-Token": "from-an-old-page"}
    )
    assert response.status_code == 303
    # Only the session this client had ends (the scene's other browser stays signed in).
    assert not await Session.filter(user_id=world.moderator.id).exclude(
        key=world.identity.other_session
    ).exists()
