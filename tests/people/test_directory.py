"""The mentor directory: filters, ranking by fit with the viewer's organisation, query counts."""

from __future__ import annotations

import re

from forum.people.directory import DirectoryFilters, directory_page
from forum.threads import services as threads
from tests.factories import make_mentor, make_organisation, make_topic, make_user
from tests.web import sign_in


def names(page) -> list[str]:
    return [card.mentor.username for card in page.cards]


async def _mentors():
    return {
        "pensions": await make_mentor("pensions", expertise=["lgps", "tupe"], sectors=["Leisure and culture"]),
        "youth": await make_mentor("youth", expertise=["governance"], sectors=["Youth services"],
                                   stages=["first-re-tender"]),
        "tender": await make_mentor("tender", expertise=["procurement", "re-tender"],
                                    sectors=["Adult social care"], stages=["first-re-tender"]),
        "paused": await make_mentor("paused", expertise=["procurement"], is_open=False,
                                    sectors=["Youth services"]),
    }


async def test_the_directory_ranks_mentors_by_fit_and_says_why(db):
    await _mentors()
    organisation = await make_organisation(sector="Youth services", stage="first-re-tender")
    pioneer = await make_user(organisation=organisation)
    topic = await make_topic()
    await threads.create_thread(actor=pioneer, topic_slug=topic.slug, kind="question",
                                title="How do we prepare for the re-tender?", body="Help.",
                                tags="re-tender procurement")
    page = await directory_page(pioneer, DirectoryFilters(), page=1, size=10)
    assert names(page) == ["youth", "tender", "paused", "pensions"]
    reasons = {c.mentor.username: c.fit.reasons for c in page.cards}
    assert reasons["youth"] == ["Knows youth services, your sector", "Has helped at your stage: first re-tender"]
    assert reasons["tender"] == ["Has helped at your stage: first re-tender",
                                 "Knows what your organisation asks about: procurement, re-tender"]
    assert reasons["pensions"] == []


async def test_without_an_organisation_mentors_with_room_come_first_by_name(db):
    await _mentors()
    page = await directory_page(None, DirectoryFilters(), page=1, size=10)
    assert names(page) == ["pensions", "tender", "youth", "paused"]


async def test_the_directory_filters_by_expertise_sector_and_availability(db):
    await _mentors()
    assert names(await directory_page(None, DirectoryFilters(expertise="procurement"), page=1, size=10)) == ["tender", "paused"]
    assert names(await directory_page(None, DirectoryFilters(sector="Youth services"), page=1, size=10)) == ["youth", "paused"]
    assert names(await directory_page(None, DirectoryFilters(expertise="procurement", availability="open"), page=1, size=10)) == ["tender"]
    assert names(await directory_page(None, DirectoryFilters(expertise="nothing-like-it"), page=1, size=10)) == []


async def test_members_and_mentors_in_waiting_are_not_listed(db):
    from forum.people.models import MentorProfile, MentorStatus

    await _mentors()
    waiting = await make_mentor("waiting")
    await MentorProfile.filter(user_id=waiting.id).update(status=MentorStatus.PENDING)
    await make_user("plain")
    assert "waiting" not in names(await directory_page(None, DirectoryFilters(), page=1, size=10))


async def test_the_directory_page_shows_filters_cards_badges_and_pages(client):
    for n in range(14):
        await make_mentor(f"mentor{n:02}", expertise=["lgps"])
    first = await client.get("/mentors")
    assert first.status_code == 200
    assert first.text.count('class="card mentor-card"') == 12
    assert '<span class="badge badge-role">Mentor</span>' in first.text
    assert 'href="/mentors?page=2"' in first.text and "14 mentors" in first.text
    second = await client.get("/mentors?page=2&expertise=lgps&availability=open")
    assert second.text.count('class="card mentor-card"') == 2
    assert re.search(r'href="/mentors\?expertise=lgps&(amp;)?availability=open&(amp;)?page=1"', second.text)
    empty = await client.get("/mentors?expertise=zzz&sector=Nowhere&availability=bogus")
    assert empty.status_code == 200 and "No mentor matches these filters" in empty.text


async def test_the_directory_costs_the_same_queries_for_few_or_many_mentors(client, count_queries):
    organisation = await make_organisation(sector="Youth services")
    viewer = await make_user(organisation=organisation)
    await sign_in(client, viewer)
    for n in range(3):
        await make_mentor(f"few{n}", sectors=["Youth services"])
    count_queries.statements.clear()
    assert (await client.get("/mentors")).status_code == 200
    few = count_queries.count
    for n in range(60):
        await make_mentor(f"many{n}", expertise=["lgps", f"tag-{n}"])
    count_queries.statements.clear()
    response = await client.get("/mentors?page=3")
    many = count_queries.count
    assert response.status_code == 200 and "Why this mentor fits" in (await client.get("/mentors")).text
    # Session (with the unread count), organisation, its threads' tags, every approved mentor.
    assert many == few <= 5, count_queries.statements
