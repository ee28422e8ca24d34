"""Mentoring through HTTP: request, answer, the space's conversation, goals, playbooks,
closing and publishing, ask-a-mentor, unanswered questions, notifications."""

from __future__ import annotations

from datetime import timedelta

from tortoise.timezone import now

from forum.mentoring.models import (
    InvitationKind,
    MentorInvitation,
    MentorRequest,
    MentorshipSpace,
    QuestionOffer,
    RequestStatus,
    SpaceGoal,
    SpaceMember,
    SpaceMessage,
    SpacePlaybook,
)
from forum.mentoring.sweep import sweep_once
from forum.notifications.models import Kind, Notification
from forum.playbooks.models import OutcomeReport
from forum.threads import services as threads
from tests.factories import make_mentor, make_organisation, make_topic, make_user
from tests.mentoring.scene import mentorship
from tests.playbooks.builders import make_playbook
from tests.web import post_form, sign_in

HTMX = {"HX-Request": "true"}
REQUEST = {"goal": "Get our LGPS admission agreement signed", "stage": "tupe-pensions",
           "context": "We go live in April and the fund has gone quiet.", "help_size": "few"}


async def test_a_pioneer_requests_help_and_the_mentor_accepts_through_the_pages(client):
    org = await make_organisation("fellside", stage="tupe-pensions")
    pioneer = await make_user("sian", organisation=org)
    mentor = await make_mentor("kwame", display_name="Kwame Asante")
    await sign_in(client, pioneer)
    form = await client.get("/mentors/kwame/request")
    assert form.status_code == 200 and 'value="tupe-pensions" selected' in form.text
    bad = await post_form(client, "/mentors/kwame/request", {**REQUEST, "goal": "x", "help_size": ""})
    assert bad.status_code == 422 and "Say in a sentence what you want" in bad.text
    assert "We go live in April" in bad.text and await MentorRequest.all().count() == 0
    sent = await post_form(client, "/mentors/kwame/request", REQUEST)
    assert sent.status_code == 303
    request_url = sent.headers["location"]
    page = await client.get(request_url)
    assert "Withdraw request" in page.text and "Pending" in page.text
    assert (await client.get("/mentoring")).text.count(REQUEST["goal"]) == 1

    await sign_in(client, mentor)
    home = await client.get("/")
    assert 'Notifications <span class="badge badge-count">1<' in home.text
    waiting = await client.get("/mentoring")
    assert "Requests waiting for your answer" in waiting.text and REQUEST["goal"] in waiting.text
    accepted = await post_form(client, f"{request_url}/accept")
    assert accepted.status_code == 303
    space_url = accepted.headers["location"]
    again = await post_form(client, f"{request_url}/accept")
    assert again.status_code == 409 and "already been accepted" in again.text

    space = await client.get(space_url)
    assert space.status_code == 200 and "We go live in April" in space.text
    empty = await post_form(client, f"{space_url}/messages", {"body": " "})
    assert empty.status_code == 422 and "the message is empty" in empty.text
    posted = await post_form(client, f"{space_url}/messages", {"body": "Ask the fund for its checklist."})
    assert posted.status_code == 303 and posted.headers["location"].endswith("#m-2")
    swapped = await post_form(client, f"{space_url}/messages", {"body": "And the **bond** figure."}, headers=HTMX)
    assert swapped.status_code == 200 and swapped.text.startswith('<section id="conversation"')
    assert "<strong>bond</strong>" in swapped.text

    await sign_in(client, pioneer)
    assert (await Notification.filter(recipient_id=pioneer.id, kind=Kind.SPACE_MESSAGE).count()) == 2
    notifications = await client.get("/notifications")
    assert "Kwame Asante accepted your mentoring request" in notifications.text
    reply = await post_form(client, f"{space_url}/messages", {"body": "Thank you, asking today."})
    assert reply.status_code == 303
    assert await SpaceMessage.filter(space__id=int(space_url.rsplit("/", 1)[1])).count() == 4


async def test_a_mentor_declines_with_a_note_and_suggestions_the_requester_sees(client):
    pioneer, mentor = await make_user("asker"), await make_mentor("busy")
    alternative = await make_mentor("alternative", display_name="Alt Mentor")
    await sign_in(client, pioneer)
    request_url = (await post_form(client, "/mentors/busy/request", REQUEST)).headers["location"]
    await sign_in(client, mentor)
    page = await client.get(request_url)
    assert "Alt Mentor" in page.text
    declined = await post_form(client, f"{request_url}/decline",
                               {"note": "Try Alt, she knows funds.", "suggested": str(alternative.id)})
    assert declined.status_code == 303
    bad = await post_form(client, f"{request_url}/decline", {"suggested": "abc"})
    assert bad.status_code == 422
    await sign_in(client, pioneer)
    seen = await client.get(request_url)
    assert "Try Alt, she knows funds." in seen.text and "/mentors/alternative/request" in seen.text


async def test_participants_keep_goals_and_playbooks_then_close_and_publish_an_outcome(client):
    scene = await mentorship()
    playbook = await make_playbook(title="Getting admitted body status")
    await sign_in(client, scene.pioneer)
    url = scene.space.url
    assert (await post_form(client, f"{url}/goals", {"goal": "x"})).status_code == 422
    assert (await post_form(client, f"{url}/goals", {"goal": "Admission agreement signed"})).status_code == 303
    goal = await SpaceGoal.get(space_id=scene.space.id)
    assert (await post_form(client, f"{url}/goals/{goal.id}", {"status": "in-progress"})).status_code == 303
    assert (await post_form(client, f"{url}/goals/{goal.id}", {"status": "nonsense"})).status_code == 422
    assert (await post_form(client, f"{url}/playbooks", {"playbook": playbook.slug})).status_code == 303
    assert (await post_form(client, f"{url}/playbooks", {"playbook": "no-such"})).status_code == 422
    page = (await client.get(url)).text
    assert "In progress" in page and "Getting admitted body status" in page
    # A colleague from the same organisation can join; nobody else.
    colleague = await make_user("colleague", organisation=scene.organisation)
    await make_user("stranger")
    assert (await post_form(client, f"{url}/colleagues", {"username": "stranger"})).status_code == 422
    assert (await post_form(client, f"{url}/colleagues", {"username": "colleague"})).status_code == 303
    assert await SpaceMember.filter(space_id=scene.space.id, user_id=colleague.id).exists()

    assert (await post_form(client, f"{url}/close", {"achieved": "short"})).status_code == 422
    closed = await post_form(client, f"{url}/close", {"achieved": "The fund signed the admission agreement in March."})
    assert closed.status_code == 303
    assert (await MentorshipSpace.get(id=scene.space.id)).status == "closed"
    assert (await post_form(client, f"{url}/messages", {"body": "One more thing"})).status_code == 409
    form = await client.get(f"{url}/outcome")
    assert "The fund signed the admission agreement" in form.text
    published = await post_form(client, f"{url}/outcome", {
        "playbook": playbook.slug, "outcome": "worked",
        "what_we_did": "The fund signed the admission agreement in March.",
    })
    assert published.status_code == 303 and published.headers["location"].startswith(playbook.url)
    report = await OutcomeReport.get(playbook_id=playbook.id)
    assert report.author_id == scene.pioneer.id and report.organisation_id == scene.organisation.id
    await sign_in(client, scene.mentor)
    assert (await client.get(f"{url}/outcome")).status_code == 403
    assert await SpacePlaybook.filter(space_id=scene.space.id).count() == 1


async def test_the_asker_invites_up_to_three_mentors_who_are_notified(client):
    asker = await make_user("asker")
    topic = await make_topic("tupe-and-pensions")
    thread = await threads.create_thread(actor=asker, topic_slug=topic.slug, kind="question",
                                         title="Who signs the admission agreement?", body="Help.",
                                         tags="lgps")
    mentors = [await make_mentor(f"m{n}", expertise=["lgps"]) for n in range(4)]
    await sign_in(client, asker)
    assert "Ask a mentor to answer" in (await client.get(thread.url)).text
    page = await client.get(f"/t/{thread.id}/ask-mentor")
    assert page.status_code == 200 and "Knows lgps" in page.text
    too_many = await post_form(client, f"/t/{thread.id}/ask-mentor", {"mentors": [str(m.id) for m in mentors]})
    assert too_many.status_code == 422 and "You can invite 3 more mentors" in too_many.text
    sent = await post_form(client, f"/t/{thread.id}/ask-mentor", {"mentors": [str(m.id) for m in mentors[:2]]})
    assert sent.status_code == 303
    assert await Notification.filter(kind=Kind.MENTOR_INVITED).count() == 2
    assert (await post_form(client, f"/t/{thread.id}/ask-mentor", {"mentors": [str(m.id) for m in mentors[2:]]})).status_code == 422
    assert (await post_form(client, f"/t/{thread.id}/ask-mentor", {"mentors": str(mentors[2].id)})).status_code == 303
    assert "You have invited 3 mentors" in (await client.get(f"/t/{thread.id}/ask-mentor")).text
    other = await make_user()
    await sign_in(client, other)
    assert (await client.get(f"/t/{thread.id}/ask-mentor")).status_code == 403
    assert "Ask a mentor to answer" not in (await client.get(thread.url)).text


async def test_questions_unanswered_for_48_hours_are_offered_once_to_mentors_of_their_topic(app):
    asker = await make_user()
    topic = await make_topic("procurement")
    on_topic = await make_mentor("on_topic", expertise=["governance"], topics=["procurement"])
    by_tag = await make_mentor("by_tag", expertise=["tender-bond"])
    await make_mentor("unrelated", expertise=["governance"])
    await make_mentor("paused", expertise=["tender-bond"], is_open=False)
    asked_at = now()
    thread = await threads.create_thread(actor=asker, topic_slug=topic.slug, kind="question",
                                         title="Do we need a tender bond?", body="Help.",
                                         tags="tender-bond", created_at=asked_at)
    answered = await threads.create_thread(actor=asker, topic_slug=topic.slug, kind="question",
                                           title="Do we need a parent guarantee?", body="Help.",
                                           created_at=asked_at)
    await threads.reply(actor=by_tag, thread_id=answered.id, body="Usually not.")
    settings = app.state.settings
    app.state.clock = lambda: asked_at + timedelta(hours=47)
    assert (await sweep_once(app.state.clock, settings)).offered == 0
    app.state.clock = lambda: asked_at + timedelta(hours=48, minutes=1)
    assert (await sweep_once(app.state.clock, settings)).offered == 1
    offered = set(await MentorInvitation.filter(thread_id=thread.id, kind=InvitationKind.OFFERED).values_list("mentor_id", flat=True))
    assert offered == {on_topic.id, by_tag.id}
    assert await Notification.filter(kind=Kind.QUESTION_OFFERED).count() == 2
    assert await QuestionOffer.filter(thread_id=thread.id).exists()
    assert (await sweep_once(app.state.clock, settings)).offered == 0


async def test_the_view_clock_decides_expiry_for_pages_too(app, client):
    pioneer, mentor = await make_user(), await make_mentor("late")
    await sign_in(client, pioneer)
    request_url = (await post_form(client, "/mentors/late/request", REQUEST)).headers["location"]
    app.state.clock = lambda: now() + timedelta(days=8)
    await sign_in(client, mentor)
    assert "Accept and open" not in (await client.get(request_url)).text
    refused = await post_form(client, f"{request_url}/accept")
    assert refused.status_code == 409 and "expired" in refused.text
    await sweep_once(app.state.clock, app.state.settings)
    assert (await MentorRequest.get(mentor_id=mentor.id)).status == RequestStatus.EXPIRED


async def test_opening_a_notification_marks_it_read_and_follows_its_link(client):
    scene = await mentorship()
    await sign_in(client, scene.pioneer)
    header = (await client.get("/")).text
    assert 'badge-count">2<' in header  # accepted, and the mentor's message
    note = await Notification.filter(recipient_id=scene.pioneer.id).order_by("id").first()
    opened = await post_form(client, f"/notifications/{note.id}/open")
    assert opened.status_code == 303 and opened.headers["location"] == note.url
    assert 'badge-count">1<' in (await client.get("/")).text
    assert (await post_form(client, "/notifications/read-all")).status_code == 303
    assert "badge-count" not in (await client.get("/")).text
    others = await Notification.filter(recipient_id=scene.mentor.id).first()
    if others is not None:
        assert (await post_form(client, f"/notifications/{others.id}/open")).status_code == 404
