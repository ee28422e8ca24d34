"""A private mentorship space is seen by its participants and nobody else.

Every other user, including other mentors, moderators and administrators, gets a
404 from every address of the space, and nothing of it shows anywhere else:
lists, profiles, organisation pages, feeds, counts, search, other people's
notifications. A moderator may read one message once a participant flags it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from forum.accounts.models import User
from forum.mentoring.models import MentorshipSpace, SpaceGoal, SpaceMember, SpaceMessage
from forum.notifications.models import Notification
from forum.threads import services as threads
from forum.threads.models import Topic
from tests.factories import make_topic, make_user
from tests.mentoring.scene import SECRET, mentorship, outsiders
from tests.playbooks.builders import make_playbook
from tests.web import csrf_from, sign_in

SPACE_TITLE_WORD = "admission"


class Visitor:
    """A browser session of its own for one user (None: signed out)."""

    def __init__(self, client: httpx2.AsyncClient, user: User | None) -> None:
        self.client, self.user = client, user

    async def get(self, url: str) -> httpx2.Response:
        return await self.client.get(url)

    async def post(self, url: str, data: dict | None = None) -> httpx2.Response:
        token = await csrf_from(self.client, "/signin" if self.user is None else "/notifications")
        return await self.client.post(url, data={**(data or {}), "csrf_token": token})


@pytest.fixture
async def visit(app) -> AsyncIterator:
    clients: list[httpx2.AsyncClient] = []

    async def visit(user: User | None) -> Visitor:
        client = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        )
        clients.append(client)
        if user is not None:
            await sign_in(client, user)
        return Visitor(client, user)

    yield visit
    for client in clients:
        await client.aclose()


async def _world():
    scene = await mentorship()
    people = await outsiders()
    people["colleague"] = await make_user("colleague", organisation=scene.organisation)
    goal = await SpaceGoal.create(space_id=scene.space.id, title="Admission agreement signed",
                                  created_at=scene.space.created_at, updated_at=scene.space.created_at)
    return scene, people, goal


def _space_urls(scene, goal) -> list[str]:
    space = scene.space.url
    return [space, f"{space}?page=1", f"{space}/outcome", scene.message.url, scene.request.url]


def _space_posts(scene, goal) -> list[tuple[str, dict]]:
    space = scene.space.url
    return [
        (f"{space}/messages", {"body": "Let me in"}),
        (f"{space}/goals", {"goal": "A goal of mine"}),
        (f"{space}/goals/{goal.id}", {"status": "done"}),
        (f"{space}/playbooks", {"playbook": "anything"}),
        (f"{space}/colleagues", {"username": "outsider"}),
        (f"{space}/close", {"achieved": "We achieved a lot together."}),
        (f"{space}/outcome", {"playbook": "x", "outcome": "worked", "what_we_did": "x" * 30}),
        (f"{scene.message.url}/flag", {"reason": "spam"}),
        (f"{scene.request.url}/accept", {}),
        (f"{scene.request.url}/decline", {}),
        (f"{scene.request.url}/withdraw", {}),
    ]


async def _state(scene) -> tuple:
    space = await MentorshipSpace.get(id=scene.space.id)
    return (
        space.status, space.message_count, await SpaceMessage.filter(space_id=space.id).count(),
        await SpaceGoal.filter(space_id=space.id).values_list("title", "status"),
        await SpaceMember.filter(space_id=space.id).count(),
        (await SpaceMessage.get(id=scene.message.id)).flagged_at,
    )


@pytest.mark.parametrize("who", ["anonymous", "member", "colleague", "other mentor", "moderator", "admin"])
async def test_every_address_of_a_space_is_a_404_for_anyone_but_its_participants(visit, who):
    scene, people, goal = await _world()
    visitor = await visit(None if who == "anonymous" else people[who])
    before = await _state(scene)
    for url in _space_urls(scene, goal):
        response = await visitor.get(url)
        assert response.status_code == 404, url
        assert SECRET not in response.text and "Get our LGPS" not in response.text, url
    for url, data in _space_posts(scene, goal):
        response = await visitor.post(url, data)
        # Signed out, a write is sent to sign in first (or finds nothing); signed in, the
        # space doesn't exist.
        expected = (303, 404) if who == "anonymous" else (404,)
        assert response.status_code in expected, url
        if response.status_code == 303:
            assert response.headers["location"].startswith("/signin"), url
    assert await _state(scene) == before


async def test_the_participants_see_the_space_and_its_conversation(visit):
    scene, _, _ = await _world()
    for user in (scene.pioneer, scene.mentor):
        visitor = await visit(user)
        page = await visitor.get(scene.space.url)
        assert page.status_code == 200 and SECRET in page.text
        assert "Admission agreement signed" in page.text
        assert (await visitor.get(scene.request.url)).status_code == 200
        permalink = await visitor.get(scene.message.url)
        assert permalink.status_code == 303 and permalink.headers["location"].endswith("#m-2")


async def test_thread_addresses_never_lead_into_a_space(visit):
    """Space content lives in its own tables: the thread routes, given the space's or a
    message's ids (thread page, post permalinks, quote, reply, edit, history, helpful,
    accept), find nothing."""
    scene, people, _ = await _world()
    space_id, message_id, number = scene.space.id, scene.message.id, scene.message.number
    for who in (scene.pioneer, people["moderator"]):
        visitor = await visit(who)
        for url in (f"/t/{space_id}", f"/t/{space_id}/x", f"/t/{space_id}/x?quote={number}",
                    f"/t/{space_id}/p/{number}", f"/posts/{message_id}/history",
                    f"/posts/{message_id}/edit"):
            assert (await visitor.get(url)).status_code == 404, url
        for url in (f"/t/{space_id}/reply", f"/t/{space_id}/accept", f"/posts/{message_id}/helpful",
                    f"/posts/{message_id}/delete"):
            assert (await visitor.post(url, {"body": "hello there", "post_id": str(message_id)})).status_code == 404, url


async def test_public_pages_and_counts_leave_space_content_out(visit, app):
    scene, people, _ = await _world()
    topic = await make_topic("tupe-and-pensions")
    thread = await threads.create_thread(
        actor=scene.pioneer, topic_slug=topic.slug, kind="question",
        title="Who signs an LGPS admission agreement?", body="The fund wants a bond.",
    )
    await threads.reply(actor=scene.mentor, thread_id=thread.id, body="The council does.")
    playbook = await make_playbook(scene.mentor)
    topic_counts = await Topic.filter(id=topic.id).values_list("thread_count", "post_count")
    user_counts = await User.filter(id__in=[scene.pioneer.id, scene.mentor.id]).values_list("thread_count", "reply_count")
    await _more_messages(scene)
    assert await Topic.filter(id=topic.id).values_list("thread_count", "post_count") == topic_counts
    assert await User.filter(id__in=[scene.pioneer.id, scene.mentor.id]).values_list("thread_count", "reply_count") == user_counts
    pages = ["/", f"/topics/{topic.slug}", f"/topics/{topic.slug}?filter=unanswered",
             scene.pioneer.url, scene.mentor.url, f"/orgs/{scene.organisation.slug}",
             f"/orgs/{scene.organisation.slug}/threads", "/mentors", thread.url,
             f"/playbooks/{playbook.slug}", f"/playbooks/{playbook.slug}/feed.atom", "/playbooks",
             "/journey"]
    # Not even the participants see private content on public pages.
    for who in (None, people["moderator"], scene.pioneer, scene.mentor):
        visitor = await visit(who)
        for url in pages:
            response = await visitor.get(url)
            assert response.status_code == 200, url
            assert SECRET not in response.text and "Get our LGPS admission" not in response.text, (who, url)
            assert "1 message" not in response.text and scene.space.url not in response.text, url


async def _more_messages(scene) -> None:
    from tortoise.timezone import now

    from forum.mentoring import spaces
    for author in (scene.pioneer, scene.mentor):
        await spaces.post_message(actor=author, space_id=scene.space.id, body=f"More on the {SECRET}.", now=now())


async def test_notifications_about_a_space_reach_its_participants_only(visit):
    scene, people, _ = await _world()
    await _more_messages(scene)
    for user in people.values():
        assert await Notification.filter(recipient_id=user.id).count() == 0, user.username
        page = await (await visit(user)).get("/notifications")
        assert SECRET not in page.text and scene.space.title not in page.text
    assert await Notification.filter(recipient_id=scene.pioneer.id, subject_type="mentorship_space").count() >= 2


async def test_search_finds_space_messages_for_participants_only(visit, app):
    scene, people, _ = await _world()
    await app.state.indexer.drain()
    for user in (scene.pioneer, scene.mentor):
        page = await (await visit(user)).get(f"/search?q={SECRET}")
        assert scene.message.url in page.text, user.username
    for who, user in [("anonymous", None), *people.items()]:
        visitor = await visit(user)
        for url in (f"/search?q={SECRET}", f"/search?q={SECRET}&kind=message",
                    f"/search/similar?title=the+{SECRET}+trick+admission+checklist",
                    f"/search/related?q=the+{SECRET}+trick+admission+checklist"):
            response = await visitor.get(url)
            assert response.status_code == 200, url
            assert f"<mark>{SECRET}</mark>" not in response.text.lower(), (who, url)
            assert scene.message.url not in response.text, (who, url)


async def test_search_documents_of_a_space_carry_only_the_spaces_principal(db):
    from forum.mentoring.documents import load_message_docs

    scene = await mentorship()
    doc = (await load_message_docs([scene.message.id]))[f"message-{scene.message.id}"]
    assert doc is not None and doc.acl == (f"space:{scene.space.id}",)
    assert doc.kind == "message" and SECRET in doc.body


async def test_a_moderator_sees_a_flagged_message_and_nothing_else_of_the_space(visit):
    scene, people, _ = await _world()
    moderator = await visit(people["moderator"])
    assert (await moderator.get(scene.message.url)).status_code == 404
    pioneer = await visit(scene.pioneer)
    flagged = await pioneer.post(f"{scene.message.url}/flag", {"reason": "This advice is wrong"})
    assert flagged.status_code == 303
    note = await Notification.get(recipient_id=people["moderator"].id)
    assert note.url == scene.message.url and SECRET not in note.text
    page = await moderator.get(scene.message.url)
    assert page.status_code == 200 and SECRET in page.text and "This advice is wrong" in page.text
    listed = await moderator.get("/moderation/flags")
    assert scene.message.url in listed.text
    assert (await moderator.get(scene.space.url)).status_code == 404
    opening = await SpaceMessage.get(space_id=scene.space.id, number=1)
    assert (await moderator.get(opening.url)).status_code == 404
    # Other mentors and members still see nothing, flagged or not.
    for who in ("other mentor", "member"):
        assert (await (await visit(people[who])).get(scene.message.url)).status_code == 404
    assert (await (await visit(people["member"])).get("/moderation/flags")).status_code == 403
