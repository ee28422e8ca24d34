"""Demo mentoring, made through the real services: an active mentorship with messages,
goals and a playbook, and a request waiting for its mentor."""

from __future__ import annotations

from datetime import timedelta

from tortoise.timezone import now

from forum.accounts.models import User
from forum.mentoring import requests, spaces
from forum.mentoring.models import GoalStatus, MentorRequest
from forum.playbooks.models import Playbook

CONVERSATION = [
    ("kwame_asante", "Thanks for the detail, Siân. Two things first: has the fund sent you its "
     "**admission agreement template**, and has the council confirmed it will act as guarantor? "
     "If not, the bond question will drag on."),
    ("sian_morgan", "We have the template, but no word on the guarantee yet. The actuary has quoted "
     "a bond of roughly £180k, which frightens our finance lead."),
    ("kwame_asante", "That figure is usual for a closed agreement with your headcount. Ask the council "
     "to guarantee instead of a bond: most do when the contract is theirs. I'll share the wording "
     "that worked for two leisure trusts."),
    ("sian_morgan", "Perfect: I'll put it to the section 151 officer on Thursday."),
]


async def seed_mentoring() -> bool:
    """Add the demo mentorship once; False when there is no demo cast or it exists already."""
    cast = {u.username_key: u for u in await User.filter(username_key__in=[
        "sian_morgan", "kwame_asante", "lee_fairbairn", "margaret_holloway", "marcus_bell",
    ]).select_related("organisation")}
    if len(cast) < 5 or await MentorRequest.exists():
        return False
    start = now() - timedelta(days=12)
    request = await requests.send_request(
        actor=cast["sian_morgan"], mentor_id=cast["kwame_asante"].id, now=start,
        values=requests.RequestInput(
            goal="Get our LGPS admission agreement signed before transfer day",
            context="We transfer 140 staff from Fellside District Council in April. The pension "
                    "fund wants a bond and the council hasn't said whether it will guarantee us. "
                    "We need a plan we can take to the council's finance team.",
            stage="tupe-pensions", help_size="few",
        ),
    )
    space = await requests.accept_request(
        actor=cast["kwame_asante"], request_id=request.id, now=start + timedelta(hours=20)
    )
    for n, (author, body) in enumerate(CONVERSATION):
        await spaces.post_message(actor=cast[author], space_id=space.id, body=body,
                                  now=start + timedelta(days=1 + n, hours=3))
    await spaces.add_colleague(actor=cast["sian_morgan"], space_id=space.id, username="marcus_bell",
                               now=start + timedelta(days=2))
    for title, status in (("Council confirms it will guarantee the admission agreement", GoalStatus.IN_PROGRESS),
                          ("Actuary's bond figure agreed by the finance team", GoalStatus.DONE),
                          ("Admission agreement signed by all parties", GoalStatus.NOT_STARTED)):
        goal = await spaces.add_goal(actor=cast["kwame_asante"], space_id=space.id, title=title,
                                     now=start + timedelta(days=3))
        await spaces.set_goal_status(actor=cast["kwame_asante"], space_id=space.id, goal_id=goal.id,
                                     status=status, now=start + timedelta(days=4))
    playbook = await Playbook.filter(stage="tupe-pensions").order_by("id").first()
    if playbook is not None:
        await spaces.add_playbook(actor=cast["sian_morgan"], space_id=space.id,
                                  playbook_slug=playbook.slug, now=start + timedelta(days=3))
    await requests.send_request(
        actor=cast["lee_fairbairn"], mentor_id=cast["margaret_holloway"].id,
        now=now() - timedelta(days=1),
        values=requests.RequestInput(
            goal="Design a staff council our frontline staff will trust",
            context="Carewise goes live next year owned by an employee ownership trust. We need the "
                    "staff council's terms of reference and elections settled before then.",
            stage="legal-set-up", help_size="regular",
        ),
    )
    return True
