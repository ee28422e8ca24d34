"""Importing `playbook` lines (dataset/FORMAT.md, plus the optional keys in forum/importing/playbooks.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from forum.importing import ImportError_, import_file
from forum.playbooks.models import (
    OutcomeReport,
    Playbook,
    PlaybookMaintainer,
    PlaybookRevision,
)
from forum.playbooks.services import REVIEW_INTERVAL
from search_index.outbox import OutboxEntry

DEMO_CONTENT = Path(__file__).parents[2] / "forum" / "demo" / "content.jsonl"
pytestmark = pytest.mark.usefixtures("db")


def write_lines(tmp_path: Path, *lines: dict[str, Any]) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def people() -> list[dict[str, Any]]:
    return [
        {"type": "organisation", "slug": "fellside", "name": "Fellside Leisure Trust", "sector": "Leisure", "stage": "tupe-pensions"},
        {"type": "user", "username": "kwame", "email": "kwame@example.org", "role": "mentor"},
        {"type": "user", "username": "Sian", "email": "sian@example.org", "organisation": "fellside"},
        {"type": "topic", "slug": "tupe-and-pensions", "name": "TUPE & pensions"},
    ]


def step(title: str, *checklist: str) -> dict[str, Any]:
    return {"title": title, "body": f"Do *{title.lower()}*.", "checklist": list(checklist)}


def playbook(**extra: Any) -> dict[str, Any]:
    return {
        "type": "playbook", "slug": "admitted-body-status", "title": "Getting admitted body status",
        "author": "kwame", "body": "Start **early**.", "stage": "tupe-pensions", "topic": "tupe-and-pensions",
        "tags": ["LGPS", "tupe"], "created_at": "2026-03-04T10:00:00+00:00",
        "summary": "How a spin-out keeps its staff in the LGPS.",
        "steps": [step("Ask the fund", "Policy read"), step("Agree the guarantee", "Guarantee signed")],
        **extra,
    }  # fmt: skip


async def test_a_playbook_line_imports_with_its_revisions_maintainers_reports_and_an_outbox_row(tmp_path):
    line = playbook(
        resources=[{"title": "LGPS regulations", "url": "https://www.legislation.gov.uk/uksi/2013/2356", "note": "Schedule 2"}],
        maintainers=["Sian"],
        revisions=[
            {"author": "Sian", "created_at": "2026-05-01T09:00:00+00:00", "change_note": "A third step",
             "steps": [step("Ask the fund", "Policy read"), step("Agree the guarantee", "Guarantee signed", "Minuted"),
                       step("Sign before transfer", "Signed")]},
            {"author": "kwame", "created_at": "2026-06-01T09:00:00+00:00", "change_note": "Retitled",
             "title": "Getting admitted body status for your LGPS pensions"},
        ],
        verified_by="kwame", verified_at="2026-07-01T08:00:00+00:00",
        outcomes=[{"author": "Sian", "outcome": "partly", "step": 2, "what_we_did": "The council guaranteed most of it.",
                   "happened_on": "2026-06", "created_at": "2026-07-02T08:00:00+00:00"}],
    )
    summary = await import_file(write_lines(tmp_path, *people(), line), progress=lambda _: None)

    assert summary.counts["playbook"].created == 1
    stored = await Playbook.get(slug="admitted-body-status").select_related("topic", "created_by", "updated_by")
    assert stored.title == "Getting admitted body status for your LGPS pensions"
    assert (stored.stage, stored.topic.slug, stored.tags) == ("tupe-pensions", "tupe-and-pensions", ["lgps", "tupe"])
    assert (stored.created_by.username, stored.updated_by.username, stored.revision_number) == ("kwame", "kwame", 3)
    assert [s["title"] for s in stored.steps] == ["Ask the fund", "Agree the guarantee", "Sign before transfer"]
    assert stored.body_html == "<p>Start <strong>early</strong>.</p>\n"
    assert stored.resources[0]["note"] == "Schedule 2"
    assert stored.review_by == date(2026, 7, 1) + REVIEW_INTERVAL
    revisions = await PlaybookRevision.filter(playbook_id=stored.id).order_by("number").select_related("author")
    assert [(r.number, r.author.username, r.change_note) for r in revisions] == [
        (1, "kwame", "First version"), (2, "Sian", "A third step"), (3, "kwame", "Retitled"),
    ]
    # A step keeps its key through revisions, so history compares it as the same step.
    assert revisions[0].steps[1]["key"] == revisions[2].steps[1]["key"] == stored.steps[1]["key"]
    maintainers = await PlaybookMaintainer.filter(playbook_id=stored.id).values_list("user__username", flat=True)
    assert sorted(maintainers) == ["Sian", "kwame"]
    report = await OutcomeReport.get(playbook_id=stored.id).select_related("organisation")
    assert (report.step_key, report.outcome, report.organisation.name) == (stored.steps[1]["key"], "partly", "Fellside Leisure Trust")
    assert (report.sector, report.stage, stored.outcome_count) == ("Leisure", "tupe-pensions", 1)
    assert await OutboxEntry.filter(doc_id=f"playbook-{stored.id}").exists()


async def test_a_line_with_only_the_required_keys_becomes_a_one_step_playbook(tmp_path):
    line = {"type": "playbook", "slug": "choosing-a-legal-form", "title": "Choosing a legal form",
            "author": "kwame", "body": "Compare a CIC, a co-operative and a community benefit society."}
    await import_file(write_lines(tmp_path, *people(), line), progress=lambda _: None)
    stored = await Playbook.get(slug="choosing-a-legal-form")
    assert (stored.stage, stored.topic_id, stored.body_source) == ("exploring", None, "")
    assert stored.summary == "Compare a CIC, a co-operative and a community benefit society."
    assert [(s["title"], s["body"]) for s in stored.steps] == [("What to do", line["body"])]


async def test_importing_twice_keeps_one_copy_and_what_the_site_changed(tmp_path):
    path = write_lines(tmp_path, *people(), playbook())
    await import_file(path, progress=lambda _: None)
    await Playbook.filter(slug="admitted-body-status").update(title="Changed on the site since")

    again = await import_file(path, progress=lambda _: None)

    assert (again.counts["playbook"].created, again.counts["playbook"].skipped) == (0, 1)
    assert "playbooks: 0 created, 1 skipped (already present)" in str(again)
    assert await Playbook.all().count() == 1
    assert (await Playbook.get(slug="admitted-body-status")).title == "Changed on the site since"


@pytest.mark.parametrize(("changes", "message"), [
    ({"author": "nobody"}, "names unknown member 'nobody'"),
    ({"topic": "nowhere"}, "names unknown topic 'nowhere'"),
    ({"stage": "somewhere"}, "Choose the stage"),
    ({"title": "Short"}, "Title: use at least 10 characters"),
    ({"steps": "not a list"}, "'steps' must be a list"),
    ({"steps": [{"title": "Checks", "checklist": "one"}]}, "'checklist' must be a list of strings"),
    ({"revisions": [{"author": "kwame", "created_at": "2020-01-01T00:00:00+00:00", "change_note": "Old"}]},
     "revision 2 is older"),
    ({"outcomes": [{"author": "Sian", "outcome": "superb", "what_we_did": "We did it all."}]}, "Choose how it went"),
    ({"outcomes": [{"author": "Sian", "outcome": "worked", "step": 9, "what_we_did": "We did it all and more."}]},
     "'step' must be a step number from 1 to 2"),
    ({"verified_by": "kwame"}, "'verified_by' needs 'verified_at'"),
    ({"thread": "no-such-ref"}, "names unknown thread"),
])
async def test_a_bad_playbook_line_stops_the_import_naming_the_line_and_writes_none_of_it(tmp_path, changes, message):
    path = write_lines(tmp_path, *people(), playbook(**changes))
    with pytest.raises(ImportError_, match=r"^line 5: ") as error:
        await import_file(path, progress=lambda _: None)
    assert message in str(error.value)
    assert await Playbook.all().count() == 0 and await PlaybookRevision.all().count() == 0


@pytest.mark.skipif(not DEMO_CONTENT.exists(), reason="no demo content")
async def test_the_demo_content_holds_good_playbooks_with_revisions_and_reports():
    summary = await import_file(DEMO_CONTENT, progress=lambda _: None)
    assert summary.counts["playbook"].created >= 8
    playbooks = await Playbook.all()
    for item in playbooks:
        assert 3 <= len(item.steps) <= 6, item.slug
        assert all(step["checklist"] and step["body_html"] for step in item.steps), item.slug
        assert item.revision_number >= 2, item.slug
    assert sum(p.outcome_count for p in playbooks) >= 8
    assert len({p.stage for p in playbooks}) == 9  # every stage of the journey has one
