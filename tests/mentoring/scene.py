"""A mentorship to test against: a pioneer, their mentor, and the space between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.mentoring import requests, spaces
from forum.mentoring.models import MentorRequest, MentorshipSpace, SpaceMessage
from forum.people.models import Organisation
from tests.factories import make_mentor, make_organisation, make_user

SECRET = "zanzibarquokka"  # a word nothing else contains, to look for everywhere


@dataclass
class Scene:
    organisation: Organisation
    pioneer: User
    mentor: User
    space: MentorshipSpace
    request: MentorRequest
    message: SpaceMessage


def request_input(goal: str = "Get our LGPS admission agreement signed") -> requests.RequestInput:
    return requests.RequestInput(
        goal=goal, context="We go live in April and the pension fund has gone quiet on us.",
        stage="tupe-pensions", help_size="few",
    )


async def mentorship(when: datetime | None = None, *, secret: str = SECRET) -> Scene:
    """An accepted request, its space, and a message from the mentor containing `secret`."""
    when = when or now()
    organisation = await make_organisation("fellside-leisure", sector="Leisure and culture",
                                           stage="tupe-pensions")
    pioneer = await make_user("pioneer", organisation=organisation)
    mentor = await make_mentor("kwame", display_name="Kwame Asante")
    request = await requests.send_request(
        actor=pioneer, mentor_id=mentor.id, values=request_input(), now=when
    )
    space = await requests.accept_request(actor=mentor, request_id=request.id, now=when)
    message = await spaces.post_message(
        actor=mentor, space_id=space.id, now=when,
        body=f"The {secret} trick: ask the fund for its admission checklist in writing.",
    )
    return Scene(organisation, pioneer, mentor, space, request, message)


async def outsiders() -> dict[str, User]:
    """Everyone who must not see a space: a colleague, another mentor, a moderator, an admin."""
    return {
        "member": await make_user("outsider"),
        "other mentor": await make_mentor("other_mentor"),
        "moderator": await make_user("moderator", role=Role.MODERATOR),
        "admin": await make_user("siteadmin", role=Role.ADMIN),
    }
