"""Mentoring rows and form data for the CSRF tests (tests/http/test_csrf.py): with them,
every mentoring, people and notification POST route changes something for the actor."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.mentoring import requests, spaces
from forum.mentoring.models import MentorRequest, MentorshipSpace, SpaceGoal, SpaceMessage
from forum.notifications.models import Notification
from forum.people.models import MentorProfile, MentorStatus
from tests.factories import make_mentor, make_user
from tests.mentoring.scene import request_input

# /mentors/apply is left out: the actor is a mentor already, so applying changes nothing
# (tests/people/test_mentors.py shows it working for a member).
MENTORING_PATHS = {
    "/mentors/settings", "/mentors/applications/{profile_id:int}",
    "/mentors/{username}/request", "/orgs/{slug}/edit",
    "/mentoring/requests/{request_id:int}/accept", "/mentoring/requests/{request_id:int}/decline",
    "/mentoring/requests/{request_id:int}/withdraw",
    "/mentoring/spaces/{space_id:int}/messages", "/mentoring/spaces/{space_id:int}/goals",
    "/mentoring/spaces/{space_id:int}/goals/{goal_id:int}",
    "/mentoring/spaces/{space_id:int}/playbooks", "/mentoring/spaces/{space_id:int}/colleagues",
    "/mentoring/spaces/{space_id:int}/close", "/mentoring/spaces/{space_id:int}/outcome",
    "/mentoring/messages/{message_id:int}/flag", "/notifications/read-all",
    "/notifications/{notification_id:int}/open", "/t/{thread_id:int}/ask-mentor",
}
MENTOR_FORM = {"expertise": "lgps", "sectors": "Youth services", "capacity": "4",
               "is_open": "open", "response_time": "day",
               "background": "Twenty years of spin-outs and pensions."}


@dataclass
class MentoringScene:
    """`actor` (made an administrator who mentors) takes part in everything here."""

    actor: User
    applicant: MentorProfile
    to_answer: MentorRequest
    sent: MentorRequest
    space: MentorshipSpace
    closed: MentorshipSpace
    goal: SpaceGoal
    message: SpaceMessage
    notification: Notification
    free_mentor: User
    colleague: User
    playbook_slug: str

    def path_values(self, path: str) -> dict[str, object]:
        values: dict[str, object] = {
            "profile_id": self.applicant.id, "space_id": self.space.id, "goal_id": self.goal.id,
            "message_id": self.message.id, "notification_id": self.notification.id,
        }
        if path.startswith("/mentors/{username}"):
            values["username"] = self.free_mentor.username_key
        if path.startswith("/orgs/"):
            values["slug"] = self.actor.organisation.slug  # type: ignore[attr-defined]
        if path.endswith("/outcome"):
            values["space_id"] = self.closed.id
        if path.endswith(("/accept", "/decline")) and path.startswith("/mentoring"):
            values["request_id"] = self.to_answer.id
        if path.endswith("/withdraw"):
            values["request_id"] = self.sent.id
        return values

    def forms(self) -> dict[str, dict[str, str]]:
        base = "/mentoring/spaces/{space_id:int}"
        return {
            "/mentors/apply": MENTOR_FORM,
            "/mentors/settings": MENTOR_FORM,
            "/mentors/applications/{profile_id:int}": {"decision": "approve"},
            "/mentors/{username}/request": {"goal": "Win our first re-tender", "help_size": "quick",
                                            "context": "The contract goes out to tender next spring."},
            "/orgs/{slug}/edit": {"name": "CSRF Mutual renamed", "description": "Changed."},
            "/mentoring/requests/{request_id:int}/decline": {"note": "Not my field."},
            f"{base}/messages": {"body": "A message in the space."},
            f"{base}/goals": {"goal": "A new shared goal"},
            f"{base}/goals/{{goal_id:int}}": {"status": "done"},
            f"{base}/playbooks": {"playbook": self.playbook_slug},
            f"{base}/colleagues": {"username": self.colleague.username_key},
            f"{base}/close": {"achieved": "We agreed the pension plan together."},
            f"{base}/outcome": {"playbook": self.playbook_slug, "outcome": "worked",
                                "what_we_did": "We agreed the pension plan together."},
            "/mentoring/messages/{message_id:int}/flag": {"reason": "Off topic"},
            "/t/{thread_id:int}/ask-mentor": {"mentors": str(self.free_mentor.id)},
        }


async def mentoring_scene(actor: User, playbook_slug: str) -> MentoringScene:
    """Needs `actor` to belong to an organisation already (see the playbook scene)."""
    await User.filter(id=actor.id).update(role=Role.ADMIN)
    actor.role = Role.ADMIN
    await MentorProfile.create(user=actor, status=MentorStatus.APPROVED, expertise=["lgps"],
                               sectors=["Youth services"], capacity=5, applied_at=now())
    applicant = await MentorProfile.create(user=await make_user(), applied_at=now(),
                                           expertise=["tupe"], background="Pensions work.")
    member = await make_user()
    to_answer = await requests.send_request(actor=member, mentor_id=actor.id, values=request_input(), now=now())
    sent = await requests.send_request(actor=actor, mentor_id=(await make_mentor()).id,
                                       values=request_input(), now=now())
    mentor = await make_mentor()
    space = await requests.accept_request(
        actor=mentor, now=now(),
        request_id=(await requests.send_request(actor=actor, mentor_id=mentor.id, values=request_input(), now=now())).id,
    )
    closing = await make_mentor()
    closed = await requests.accept_request(
        actor=closing, now=now(),
        request_id=(await requests.send_request(actor=actor, mentor_id=closing.id, values=request_input(), now=now())).id,
    )
    await spaces.close_space(actor=closing, space_id=closed.id, achieved="We agreed the plan.", now=now())
    goal = await spaces.add_goal(actor=actor, space_id=space.id, title="Agree the bond", now=now())
    message = await spaces.post_message(actor=mentor, space_id=space.id, body="Hello from the mentor.", now=now())
    notification = await Notification.filter(recipient_id=actor.id).order_by("id").first()
    assert notification is not None
    colleague = await make_user(organisation=actor.organisation)  # type: ignore[attr-defined]
    return MentoringScene(actor, applicant, to_answer, sent, space, closed, goal, message,
                          notification, await make_mentor(), colleague, playbook_slug)
