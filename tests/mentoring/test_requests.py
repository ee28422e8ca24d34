"""Mentor requests: capacity and pause, the state machine, expiry on a clock the tests move."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.timezone import now

from forum.errors import Conflict, NotFound, RateLimited, ValidationFailed
from forum.http.ratelimit import RateLimiter
from forum.mentoring import requests, spaces
from forum.mentoring.models import MentorRequest, RequestStatus, SpaceMember, SpaceMessage
from forum.mentoring.sweep import sweep_once
from forum.notifications.models import Kind, Notification
from forum.people.models import MentorProfile
from forum.settings import Settings
from tests.factories import make_mentor, make_organisation, make_user
from tests.mentoring.scene import request_input


async def _send(pioneer, mentor, when=None):
    return await requests.send_request(
        actor=pioneer, mentor_id=mentor.id, values=request_input(), now=when or now()
    )


async def test_a_request_notifies_the_mentor_and_waits_seven_days(db):
    pioneer, mentor = await make_user(), await make_mentor()
    when = now()
    request = await _send(pioneer, mentor, when)
    assert request.status == RequestStatus.PENDING
    assert request.expires_at == when + timedelta(days=7)
    note = await Notification.get(recipient_id=mentor.id)
    assert note.kind == Kind.MENTOR_REQUEST and note.url == request.url
    assert await Notification.filter(recipient_id=pioneer.id).count() == 0


async def test_bad_request_input_is_refused_with_messages_and_nothing_is_saved(db):
    pioneer, mentor = await make_user(), await make_mentor()
    with pytest.raises(ValidationFailed) as caught:
        await requests.send_request(
            actor=pioneer, mentor_id=mentor.id, now=now(),
            values=requests.RequestInput(goal="hi", context="", stage="nowhere", help_size="lots"),
        )
    assert set(caught.value.errors) == {"goal", "context", "stage", "help_size"}
    assert await MentorRequest.all().count() == 0


async def test_a_paused_mentor_cannot_be_requested(db):
    pioneer, mentor = await make_user(), await make_mentor(is_open=False)
    with pytest.raises(Conflict, match="paused"):
        await _send(pioneer, mentor)
    assert await MentorRequest.all().count() == 0


async def test_a_mentor_at_capacity_cannot_be_requested_until_a_mentorship_closes(db):
    mentor = await make_mentor(capacity=1)
    first, second = await make_user(), await make_user()
    space = await requests.accept_request(
        actor=mentor, request_id=(await _send(first, mentor)).id, now=now()
    )
    assert (await MentorProfile.get(user_id=mentor.id)).active_mentorships == 1
    with pytest.raises(Conflict, match="capacity"):
        await _send(second, mentor)
    await spaces.close_space(actor=first, space_id=space.id, achieved="We got the agreement signed.", now=now())
    assert (await MentorProfile.get(user_id=mentor.id)).active_mentorships == 0
    assert (await _send(second, mentor)).status == RequestStatus.PENDING


async def test_accepting_is_refused_when_the_mentor_filled_up_meanwhile(db):
    mentor = await make_mentor(capacity=1)
    first, second = await make_user(), await make_user()
    waiting = [await _send(first, mentor), await _send(second, mentor)]
    await requests.accept_request(actor=mentor, request_id=waiting[0].id, now=now())
    with pytest.raises(Conflict, match="capacity"):
        await requests.accept_request(actor=mentor, request_id=waiting[1].id, now=now())
    assert (await MentorRequest.get(id=waiting[1].id)).status == RequestStatus.PENDING


async def test_nobody_can_request_themselves_or_a_member_who_is_not_a_mentor(db):
    mentor, member = await make_mentor(), await make_user()
    with pytest.raises(ValidationFailed):
        await _send(mentor, mentor)
    with pytest.raises(NotFound):
        await _send(mentor, member)


async def test_a_second_pending_request_to_the_same_mentor_is_refused(db):
    pioneer, mentor = await make_user(), await make_mentor()
    await _send(pioneer, mentor)
    with pytest.raises(Conflict, match="already have a request"):
        await _send(pioneer, mentor)


async def test_accepting_opens_a_private_space_for_mentor_and_requester(db):
    organisation = await make_organisation()
    pioneer, mentor = await make_user(organisation=organisation), await make_mentor()
    request = await _send(pioneer, mentor)
    space = await requests.accept_request(actor=mentor, request_id=request.id, now=now())
    members = set(await SpaceMember.filter(space_id=space.id).values_list("user_id", "is_mentor"))
    assert members == {(mentor.id, True), (pioneer.id, False)}
    assert space.organisation_id == organisation.id and space.title == request.goal
    opening = await SpaceMessage.get(space_id=space.id, number=1)
    assert opening.author_id == pioneer.id and request.context in opening.body_source
    assert (await MentorRequest.get(id=request.id)).status == RequestStatus.ACCEPTED
    assert await Notification.filter(recipient_id=pioneer.id, kind=Kind.REQUEST_ACCEPTED).count() == 1
    with pytest.raises(Conflict):
        await _send(pioneer, mentor)  # an active mentorship with them already


async def test_a_request_cannot_be_accepted_twice(db):
    pioneer, mentor = await make_user(), await make_mentor()
    request = await _send(pioneer, mentor)
    await requests.accept_request(actor=mentor, request_id=request.id, now=now())
    with pytest.raises(Conflict, match="already been accepted"):
        await requests.accept_request(actor=mentor, request_id=request.id, now=now())
    assert (await MentorProfile.get(user_id=mentor.id)).active_mentorships == 1


async def test_a_withdrawn_request_cannot_be_accepted_or_declined(db):
    pioneer, mentor = await make_user(), await make_mentor()
    request = await _send(pioneer, mentor)
    await requests.withdraw_request(actor=pioneer, request_id=request.id, now=now())
    with pytest.raises(Conflict, match="withdrawn"):
        await requests.accept_request(actor=mentor, request_id=request.id, now=now())
    with pytest.raises(Conflict, match="withdrawn"):
        await requests.decline_request(actor=mentor, request_id=request.id, note="", suggested=[], now=now())
    assert await Notification.filter(recipient_id=mentor.id, kind=Kind.REQUEST_WITHDRAWN).count() == 1


async def test_only_the_mentor_answers_and_only_the_requester_withdraws(db):
    pioneer, mentor, stranger = await make_user(), await make_mentor(), await make_mentor()
    request = await _send(pioneer, mentor)
    with pytest.raises(NotFound):
        await requests.accept_request(actor=stranger, request_id=request.id, now=now())
    with pytest.raises(NotFound):
        await requests.accept_request(actor=pioneer, request_id=request.id, now=now())
    with pytest.raises(NotFound):
        await requests.withdraw_request(actor=mentor, request_id=request.id, now=now())
    assert (await MentorRequest.get(id=request.id)).status == RequestStatus.PENDING


async def test_declining_keeps_the_note_and_suggested_mentors_for_the_requester(db):
    pioneer, mentor = await make_user(), await make_mentor()
    other = await make_mentor()
    request = await _send(pioneer, mentor)
    with pytest.raises(ValidationFailed):
        await requests.decline_request(
            actor=mentor, request_id=request.id, note="", suggested=[pioneer.id], now=now()
        )
    declined = await requests.decline_request(
        actor=mentor, request_id=request.id, note="Kwame knows pensions better.",
        suggested=[other.id], now=now(),
    )
    assert declined.status == RequestStatus.DECLINED and declined.suggested == [other.id]
    note = await Notification.get(recipient_id=pioneer.id)
    assert note.kind == Kind.REQUEST_DECLINED and "suggested other mentors" in note.text


async def test_a_request_past_its_time_cannot_be_accepted_even_before_the_sweep(db):
    pioneer, mentor = await make_user(), await make_mentor()
    sent_at = now()
    request = await _send(pioneer, mentor, sent_at)
    with pytest.raises(Conflict, match="expired"):
        await requests.accept_request(actor=mentor, request_id=request.id, now=sent_at + timedelta(days=7))


async def test_the_sweep_expires_requests_after_seven_days_and_offers_other_mentors(db):
    organisation = await make_organisation(sector="Youth services")
    pioneer = await make_user(organisation=organisation)
    mentor, alternative = await make_mentor(), await make_mentor(sectors=["Youth services"])
    await make_mentor(is_open=False)  # paused: never offered
    sent_at = now()
    request = await _send(pioneer, mentor, sent_at)
    settings = Settings(environment="test")
    clock = {"now": sent_at + timedelta(days=6, hours=23)}
    result = await sweep_once(lambda: clock["now"], settings)
    assert result.expired == 0
    assert (await MentorRequest.get(id=request.id)).status == RequestStatus.PENDING

    clock["now"] = sent_at + timedelta(days=7, minutes=1)
    assert (await sweep_once(lambda: clock["now"], settings)).expired == 1
    expired = await MentorRequest.get(id=request.id)
    assert expired.status == RequestStatus.EXPIRED and expired.suggested == [alternative.id]
    note = await Notification.get(recipient_id=pioneer.id)
    assert note.kind == Kind.REQUEST_EXPIRED and "expired" in note.text and note.url == request.url
    # Expired is final: a second sweep does nothing, accepting is refused.
    assert (await sweep_once(lambda: clock["now"], settings)).expired == 0
    with pytest.raises(Conflict, match="expired"):
        await requests.accept_request(actor=mentor, request_id=request.id, now=clock["now"])


async def test_requests_count_against_the_posting_rate_limit(db):
    pioneer = await make_user()
    limiter = RateLimiter(1, 60)
    await requests.send_request(actor=pioneer, mentor_id=(await make_mentor()).id,
                                values=request_input(), now=now(), limiter=limiter)
    with pytest.raises(RateLimited):
        await requests.send_request(actor=pioneer, mentor_id=(await make_mentor()).id,
                                    values=request_input(), now=now(), limiter=limiter)
    assert await MentorRequest.all().count() == 1
