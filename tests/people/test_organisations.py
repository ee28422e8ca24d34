"""Organisation pages: details, members, threads, playbook progress, outcome reports, editing."""

from __future__ import annotations

from datetime import date

from tortoise.timezone import now

from forum.accounts.models import Role
from forum.mentoring import requests
from forum.people.models import Organisation
from forum.playbooks import practice
from forum.threads import services as threads
from tests.factories import make_mentor, make_organisation, make_topic, make_user
from tests.mentoring.scene import request_input
from tests.playbooks.builders import make_playbook
from tests.web import post_form, sign_in

RENEWAL = "Main contract renews"


async def _organisation():
    return await make_organisation(
        "brightpath-youth", name="Brightpath Youth CIC", sector="Youth services",
        stage="first-re-tender", parent_body="Westermoor County Council",
        spin_out_date=date(2021, 4, 1), legal_form="Community interest company",
        ownership_model="Employee-owned", staff_size="50-249",
        contract_renewal_on=date(2027, 3, 31), description="Youth work, staff-led.",
    )


async def test_the_organisation_page_shows_its_details_members_threads_progress_and_outcomes(client):
    org = await _organisation()
    dana = await make_user("dana", display_name="Dana Okafor", organisation=org)
    await make_user("tom", display_name="Tom Reeve", organisation=org, is_organisation_admin=True)
    topic = await make_topic()
    thread = await threads.create_thread(actor=dana, topic_slug=topic.slug, kind="question",
                                         title="How did you price your re-tender bid?", body="Help.")
    playbook = await make_playbook()
    step = playbook.steps[0]
    from forum.playbooks.content import item_key
    await practice.set_progress(actor=dana, playbook_id=playbook.id, step_key=step["key"],
                                done={item_key(step["key"], step["checklist"][0])})
    await practice.report_outcome(actor=dana, playbook_id=playbook.id, values=practice.OutcomeInput(
        outcome="worked", what_we_did="We asked the fund early and it worked out well for us."))
    response = await client.get("/orgs/brightpath-youth")
    assert response.status_code == 200
    html = response.text
    for text in ("Brightpath Youth CIC", "Youth services", "First re-tender", "Westermoor County Council",
                 "1 April 2021", "Community interest company", "Employee-owned", "50-249",
                 "Dana Okafor", "Tom Reeve", "organisation admin", thread.title, playbook.title,
                 "1 of 6 checklist items done", "Worked for us"):
        assert text in html, text
    assert RENEWAL not in html and "2027" not in html


async def test_the_contract_renewal_date_is_for_members_and_their_mentors_only(client):
    org = await _organisation()
    member = await make_user("member", organisation=org)
    their_mentor, other_mentor = await make_mentor("theirs"), await make_mentor("another")
    stranger = await make_user("stranger", role=Role.MODERATOR)
    request = await requests.send_request(actor=member, mentor_id=their_mentor.id,
                                          values=request_input(), now=now())
    await requests.accept_request(actor=their_mentor, request_id=request.id, now=now())
    for user, sees in ((member, True), (their_mentor, True), (other_mentor, False), (stranger, False)):
        await sign_in(client, user)
        html = (await client.get("/orgs/brightpath-youth")).text
        assert (RENEWAL in html and "31 March 2027" in html) is sees, user.username
        # Which mentors work with an organisation is private: never listed.
        if user is not their_mentor:
            assert their_mentor.url not in html


async def test_organisation_admins_edit_their_organisation_and_nobody_else_can(client):
    org = await _organisation()
    admin = await make_user("orgadmin", organisation=org, is_organisation_admin=True)
    plain = await make_user("plain", organisation=org)
    other_admin = await make_user("elsewhere", organisation=await make_organisation(),
                                  is_organisation_admin=True)
    for user in (plain, other_admin):
        await sign_in(client, user)
        assert (await client.get("/orgs/brightpath-youth/edit")).status_code == 403
        assert "Edit this organisation" not in (await client.get("/orgs/brightpath-youth")).text
        response = await post_form(client, "/orgs/brightpath-youth/edit", {"name": "Hijacked"})
        assert response.status_code == 403
    await sign_in(client, admin)
    form = (await client.get("/orgs/brightpath-youth/edit")).text
    assert 'value="2027-03-31"' in form and 'value="2021-04-01"' in form
    bad = await post_form(client, "/orgs/brightpath-youth/edit", {
        "name": "Brightpath Youth CIC", "spin_out_date": "April 2021", "sector": "Space travel",
        "website": "not a site", "description": "Still here",
    })
    assert bad.status_code == 422
    assert "Give the date as year-month-day" in bad.text and "Choose a sector" in bad.text
    assert "Still here" in bad.text
    assert (await Organisation.get(id=org.id)).name == "Brightpath Youth CIC"
    good = await post_form(client, "/orgs/brightpath-youth/edit", {
        "name": "Brightpath Youth", "sector": "Youth services", "stage": "growing",
        "spin_out_date": "2021-04-01", "staff_size": "250-999", "website": "https://bp.example",
        "contract_renewal_on": "", "description": "Bigger now.",
    })
    assert good.status_code == 303 and good.headers["location"] == "/orgs/brightpath-youth"
    saved = await Organisation.get(id=org.id)
    assert (saved.name, saved.stage, saved.staff_size, saved.contract_renewal_on) == (
        "Brightpath Youth", "growing", "250-999", None)


async def test_an_unknown_organisation_is_a_404(client):
    assert (await client.get("/orgs/nowhere")).status_code == 404
    assert (await client.get("/orgs/nowhere/threads")).status_code == 404


async def test_the_organisation_page_costs_the_same_queries_for_few_or_many_members(client, count_queries):
    from tests.threads.test_query_counts import add_threads

    org = await _organisation()
    viewer = await make_mentor("viewer")
    await sign_in(client, viewer)
    topic = await make_topic()
    first = await make_user(organisation=org)
    await add_threads(topic, [first], 2, label="few")
    await _tick_a_step(first)
    count_queries.statements.clear()
    assert (await client.get("/orgs/brightpath-youth")).status_code == 200
    few = count_queries.count
    members = [await make_user(organisation=org) for _ in range(40)]
    await add_threads(topic, members, 60, label="many")
    for _ in range(3):
        await _tick_a_step(members[0])
    count_queries.statements.clear()
    response = await client.get("/orgs/brightpath-youth?page=2")
    many = count_queries.count
    assert response.status_code == 200 and 'aria-current="page">2<' in response.text
    assert many == few <= 11, count_queries.statements
    count_queries.statements.clear()
    assert (await client.get("/orgs/brightpath-youth/threads?page=2")).status_code == 200
    assert count_queries.count <= 5


async def _tick_a_step(member) -> None:
    from forum.playbooks.content import item_key

    playbook = await make_playbook()
    step = playbook.steps[1]
    await practice.set_progress(actor=member, playbook_id=playbook.id, step_key=step["key"],
                                done={item_key(step["key"], item) for item in step["checklist"]})
