"""Becoming a mentor, mentor settings, and mentors on their profiles."""

from __future__ import annotations

from datetime import timedelta

from forum.accounts.models import Role, User
from forum.notifications.models import Kind, Notification
from forum.people.models import MentorProfile, MentorStatus
from forum.threads import services as threads
from forum.threads.models import Thread
from tests.factories import make_mentor, make_topic, make_user
from tests.web import post_form, sign_in

APPLICATION = {
    "expertise": "lgps, tupe admitted-body", "sectors": ["Leisure and culture", "Youth services"],
    "stages": ["tupe-pensions"], "background": "I ran the pensions side of three leisure spin-outs.",
}


async def test_a_member_applies_an_admin_approves_and_the_member_becomes_a_mentor(client):
    member = await make_user("applicant")
    admin = await make_user("boss", role=Role.ADMIN)
    await sign_in(client, member)
    bad = await post_form(client, "/mentors/apply", {"expertise": "", "background": "short"})
    assert bad.status_code == 422 and "Name at least one thing" in bad.text and "Choose at least one sector" in bad.text
    assert await MentorProfile.all().count() == 0
    sent = await post_form(client, "/mentors/apply", APPLICATION)
    assert sent.status_code == 303
    assert "your application is with the administrators" in (await client.get("/mentors/apply")).text
    profile = await MentorProfile.get(user_id=member.id)
    assert profile.expertise == ["lgps", "tupe", "admitted-body"] and profile.status == MentorStatus.PENDING
    assert await Notification.filter(recipient_id=admin.id, kind=Kind.MENTOR_APPLICATION).count() == 1
    assert (await client.get("/mentors/applications")).status_code == 403
    assert "0 mentors" in (await client.get("/mentors")).text

    await sign_in(client, admin)
    queue = await client.get("/mentors/applications")
    assert "I ran the pensions side" in queue.text
    decided = await post_form(client, f"/mentors/applications/{profile.id}", {"decision": "approve"})
    assert decided.status_code == 303
    assert (await User.get(id=member.id)).role == Role.MENTOR
    assert (await MentorProfile.get(id=profile.id)).status == MentorStatus.APPROVED
    assert "No applications are waiting" in (await client.get("/mentors/applications")).text
    again = await post_form(client, f"/mentors/applications/{profile.id}", {"decision": "decline"})
    assert again.status_code == 409
    assert "/u/applicant" in (await client.get("/mentors")).text
    assert await Notification.filter(recipient_id=member.id, kind=Kind.APPLICATION_DECIDED).count() == 1


async def test_a_declined_applicant_may_apply_again(client):
    member = await make_user("hopeful")
    admin = await make_user("boss", role=Role.ADMIN)
    await sign_in(client, member)
    await post_form(client, "/mentors/apply", APPLICATION)
    profile = await MentorProfile.get(user_id=member.id)
    await sign_in(client, admin)
    await post_form(client, f"/mentors/applications/{profile.id}", {"decision": "decline", "note": "More detail please."})
    assert (await User.get(id=member.id)).role == Role.MEMBER
    await sign_in(client, member)
    page = await client.get("/mentors/apply")
    assert "More detail please." in page.text
    assert (await post_form(client, "/mentors/apply", APPLICATION)).status_code == 303
    assert (await MentorProfile.get(user_id=member.id)).status == MentorStatus.PENDING


async def test_mentors_set_capacity_pause_and_response_time(client):
    mentor = await make_mentor("settled")
    await sign_in(client, mentor)
    form = {**APPLICATION, "capacity": "0", "is_open": "paused", "response_time": "week"}
    bad = await post_form(client, "/mentors/settings", form)
    assert bad.status_code == 422 and "Give a number from 1 to 20" in bad.text
    saved = await post_form(client, "/mentors/settings", {**form, "capacity": "5"})
    assert saved.status_code == 303
    profile = await MentorProfile.get(user_id=mentor.id)
    assert (profile.capacity, profile.is_open, profile.response_time) == (5, False, "week")
    assert "Paused: not taking requests" in (await client.get(mentor.url)).text
    assert "Request mentoring" not in (await client.get("/mentors")).text
    member = await make_user()
    await sign_in(client, member)
    assert (await client.get("/mentors/settings")).status_code == 403


async def test_a_mentor_profile_shows_expertise_availability_and_stats(client):
    mentor = await make_mentor("kwame", display_name="Kwame Asante", expertise=["lgps", "pension-bond"])
    asker = await make_user()
    topic = await make_topic()
    delays = [timedelta(hours=2), timedelta(hours=4), timedelta(hours=30)]
    for n, delay in enumerate(delays):
        thread = await threads.create_thread(actor=asker, topic_slug=topic.slug, kind="question",
                                             title=f"Pension question number {n}", body="Help.")
        await Thread.filter(id=thread.id).update(created_at=thread.created_at - delay)
        reply = await threads.reply(actor=mentor, thread_id=thread.id, body="Here is how.")
        await threads.reply(actor=mentor, thread_id=thread.id, body="And a follow-up.")
        if n == 0:
            await threads.accept_answer(actor=asker, thread_id=thread.id, post_id=reply.id)
    html = (await client.get("/u/kwame")).text
    assert "Open: 3 places free" in html and "lgps" in html and "pension-bond" in html
    assert "<dt>Answers</dt><dd>6</dd>" in html and "<dt>Accepted answers</dt><dd>1</dd>" in html
    assert "<dt>Median time to first reply</dt><dd>4 hours</dd>" in html
    assert '<span class="badge badge-role">Mentor</span>' in html
    assert "Request mentoring" not in html  # signed out
    plain = (await client.get(asker.url)).text
    assert "Median time to first reply" not in plain
