"""Playbook pages run a fixed number of SQL queries, whatever the number of rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tortoise.expressions import F
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.people.models import Organisation
from forum.playbooks import services
from forum.playbooks.content import StepDraft, item_key
from forum.playbooks.models import (
    CONTENT_FIELDS,
    ChecklistTick,
    OutcomeReport,
    Playbook,
    PlaybookRevision,
)
from tests.factories import make_thread, make_topic, make_user
from tests.playbooks.builders import make_mentor, make_playbook
from tests.web import sign_in

FEW, MANY = 1, 8  # steps (the most a playbook has)
FEW_ROWS, MANY_ROWS = 2, 120  # revisions, reports, playbooks


async def _queries_for(client, count_queries, url: str) -> int:
    count_queries.statements.clear()
    response = await client.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    return count_queries.count


async def grown(playbook: Playbook, authors: list[User], rows: int) -> Playbook:
    """`rows` more revisions and outcome reports (every step and the whole), and ticks."""
    playbook = await Playbook.get(id=playbook.id)
    base = playbook.revision_number
    snapshot = {name: getattr(playbook, name) for name in CONTENT_FIELDS}
    await PlaybookRevision.bulk_create([
        PlaybookRevision(playbook_id=playbook.id, number=base + i, author_id=authors[i % len(authors)].id,
                         created_at=now(), change_note=f"Change {i}", **snapshot)
        for i in range(1, rows + 1)
    ])  # fmt: skip
    keys = [""] + [s["key"] for s in playbook.steps]
    outcomes = ["worked", "partly", "did-not-work"]
    await OutcomeReport.bulk_create([
        OutcomeReport(playbook_id=playbook.id, step_key=keys[i % len(keys)], author_id=authors[i % len(authors)].id,
                      organisation_id=authors[i % len(authors)].organisation_id, what_we_did=f"Report {i}",
                      what_we_did_html=f"<p>Report {i}</p>", outcome=outcomes[i % 3], created_at=now())
        for i in range(rows)
    ])  # fmt: skip
    await Playbook.filter(id=playbook.id).update(
        revision_number=F("revision_number") + rows, outcome_count=F("outcome_count") + rows
    )
    return await Playbook.get(id=playbook.id)


async def _tick_everything(playbook: Playbook, member: User) -> None:
    await ChecklistTick.bulk_create([
        ChecklistTick(organisation_id=member.organisation_id, playbook_id=playbook.id,
                      item_key=item_key(s["key"], item), ticked_by_id=member.id, ticked_at=now())
        for s in playbook.steps for item in s["checklist"]
    ])  # fmt: skip


async def _scene(client, viewer_kind: str):
    organisation = await Organisation.create(slug="youth", name="Brightpath Youth CIC")
    mentor = await make_mentor(organisation=organisation)
    authors = [mentor, await make_user(organisation=organisation), await make_user()]
    topic = await make_topic("tupe-and-pensions")
    for n in range(6):
        await make_thread(authors[1], topic, title=f"Thread {n} about admitted bodies", tags="lgps")
    viewer = None
    if viewer_kind == "member":
        viewer = await make_user(organisation=organisation)
    elif viewer_kind == "maintainer":
        viewer = mentor
    elif viewer_kind == "moderator":
        viewer = await make_user(role=Role.MODERATOR)
    if viewer is not None:
        await sign_in(client, viewer)
    return viewer, authors, topic


def _steps(count: int) -> list[StepDraft]:
    return [StepDraft(title=f"Step number {n}", body=f"Do **thing** {n}.", checklist="One\nTwo\nThree")
            for n in range(count)]


@pytest.mark.parametrize("viewer_kind", ["anonymous", "member", "maintainer", "moderator"])
async def test_the_playbook_page_runs_the_same_queries_whatever_its_steps_revisions_and_reports(
    client, count_queries, viewer_kind
):
    viewer, authors, topic = await _scene(client, viewer_kind)
    small = await make_playbook(authors[0], steps=_steps(FEW), topic=topic.slug)
    big = await make_playbook(authors[0], steps=_steps(MANY), topic=topic.slug)
    small = await grown(small, authors, FEW_ROWS)
    big = await grown(big, authors, MANY_ROWS)
    if viewer_kind == "member":
        await _tick_everything(big, viewer)

    few = await _queries_for(client, count_queries, small.url)
    many = await _queries_for(client, count_queries, big.url)
    assert few == many, count_queries.statements
    # The page's own: playbook, maintainers, reports, tally, related threads and playbooks;
    # ticks for members of an organisation, waiting suggestions for maintainers; plus the session.
    # Signed in, the session brings the header's unread notification count along.
    assert many <= {"anonymous": 6, "member": 10, "maintainer": 10, "moderator": 9}[viewer_kind], count_queries.statements


@pytest.mark.parametrize("viewer_kind", ["anonymous", "maintainer"])
async def test_history_compare_and_feed_run_the_same_queries_for_few_or_many_revisions(
    client, count_queries, viewer_kind
):
    viewer, authors, _ = await _scene(client, viewer_kind)
    small = await grown(await make_playbook(authors[0]), authors, FEW_ROWS)
    big = await grown(await make_playbook(authors[0], steps=_steps(MANY)), authors, MANY_ROWS)
    for suffix in ("/history", "/compare", "/compare?a=1&b=3", "/feed.atom"):
        few = await _queries_for(client, count_queries, small.url + suffix)
        many = await _queries_for(client, count_queries, big.url + suffix)
        assert few == many <= 5, (suffix, count_queries.statements)
    assert await _queries_for(client, count_queries, f"{big.url}/history?page=3") == many


@pytest.mark.parametrize("viewer_kind", ["anonymous", "moderator"])
async def test_the_list_journey_and_due_pages_run_the_same_queries_for_few_or_many_playbooks(
    client, count_queries, viewer_kind
):
    viewer, authors, topic = await _scene(client, viewer_kind)
    urls = ["/playbooks", "/playbooks?stage=tupe-pensions&topic=tupe-and-pensions", "/journey"]
    if viewer_kind == "moderator":
        urls.append("/playbooks/due")

    async def add(count: int) -> None:
        for _ in range(count):
            playbook = await make_playbook(authors[0], topic=topic.slug)
            await services.verify_playbook(actor=authors[0], playbook_id=playbook.id)
        await Playbook.all().update(review_by=now().date() - timedelta(days=1))

    await add(FEW_ROWS)
    few = [await _queries_for(client, count_queries, url) for url in urls]
    await add(25)
    many = [await _queries_for(client, count_queries, url) for url in urls]
    assert few == many, count_queries.statements
    assert max(many) <= 5, count_queries.statements
