"""The JSON Lines importer (forum.importing; format in dataset/FORMAT.md)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forum.accounts.models import Role, User
from forum.accounts.passwords import verify_password
from forum.importing import ImportError_, ImportSummary, import_file, is_seeded
from forum.people.models import Organisation
from forum.threads import services
from forum.threads.models import Post, Thread, Topic

DEMO_CONTENT = Path(__file__).parents[1] / "forum" / "demo" / "content.jsonl"


def write_lines(tmp_path: Path, *lines: dict[str, Any] | str, name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def at(day: int, hour: int = 9) -> str:
    return datetime(2024, 3, day, hour, tzinfo=UTC).isoformat()


def org(slug: str = "youth-mutual", **extra: Any) -> dict[str, Any]:
    return {"type": "organisation", "slug": slug, "name": "Youth Mutual CIC", **extra}


def user(username: str, **extra: Any) -> dict[str, Any]:
    email = f"{username.lower()}@example.org"
    return {"type": "user", "username": username, "email": email, **extra}


def topic(slug: str = "tupe-and-pensions", **extra: Any) -> dict[str, Any]:
    return {"type": "topic", "slug": slug, "name": slug.replace("-", " ").title(), **extra}


def thread(ref: str, author: str = "Asha", topic_slug: str = "tupe-and-pensions", **extra: Any):
    return {
        "type": "thread", "ref": ref, "topic": topic_slug, "author": author,
        "title": "Admitted body status for the LGPS?", "body": "We spin out in **April**.",
        "created_at": at(1), **extra,
    }  # fmt: skip


def post(ref: str, thread_ref: str, author: str, created_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "post", "ref": ref, "thread": thread_ref, "author": author,
        "body": f"Reply {ref}: ask the *fund* early.", "created_at": created_at, **extra,
    }  # fmt: skip


def small_forum() -> list[dict[str, Any]]:
    """Two topics, three members, a solved question with replies listed out of time order."""
    return [
        org(sector="Youth services", stage="go-live"),
        user("Asha", role="mentor", organisation="youth-mutual", display_name="Asha K", bio="Hi"),
        user("ben"),
        user("Cara", role="moderator"),
        topic(description="Transfers and pensions."),
        topic("governance"),
        thread("q-1", kind="question", tags=["LGPS", "tupe", "lgps"]),
        post("q-1-c", "q-1", "Cara", at(4)),
        post("q-1-a", "q-1", "ben", at(2), accepted=True),
        post("q-1-b", "q-1", "Cara", at(3)),
        thread("d-1", author="ben", topic_slug="governance", created_at=at(5)),
    ]


async def assert_counters_are_consistent() -> None:
    """Every denormalised counter equals a count of the rows it summarises."""
    posts = await Post.all()
    threads = await Thread.all()
    for t in threads:
        mine = sorted((p for p in posts if p.thread_id == t.id), key=lambda p: p.created_at)
        assert t.reply_count == sum(1 for p in mine if p.number > 1 and p.deleted_at is None)
        assert t.last_post_number == max(p.number for p in mine)
        assert t.last_activity_at == mine[-1].created_at
        assert t.last_poster_id == mine[-1].author_id
    for tp in await Topic.all():
        mine_t = [t for t in threads if t.topic_id == tp.id and t.deleted_at is None]
        assert tp.thread_count == len(mine_t)
        assert tp.post_count == sum(t.reply_count + 1 for t in mine_t)
        assert tp.last_activity_at == max((t.last_activity_at for t in mine_t), default=None)
    for u in await User.all():
        assert u.thread_count == sum(1 for t in threads if t.author_id == u.id)
        assert u.reply_count == sum(1 for p in posts if p.author_id == u.id and p.number > 1)


async def test_a_small_file_imports_everything_with_the_right_counters(db, tmp_path):
    summary = await import_file(write_lines(tmp_path, *small_forum()), progress=lambda _: None)

    assert {kind: c.created for kind, c in summary.counts.items()} == {
        "organisation": 1, "user": 3, "topic": 2, "thread": 2, "post": 3, "playbook": 0,
    }  # fmt: skip
    question = await Thread.get(import_ref="q-1").prefetch_related("topic", "last_poster")
    posts = Post.filter(thread=question).order_by("number")
    numbers = await posts.values_list("number", "import_ref")
    assert numbers == [(1, None), (2, "q-1-a"), (3, "q-1-b"), (4, "q-1-c")]  # by time, not file
    assert (question.reply_count, question.last_post_number) == (3, 4)
    assert question.last_poster.username == "Cara"
    assert question.last_activity_at == datetime(2024, 3, 4, 9, tzinfo=UTC)
    assert question.accepted_post_id == (await Post.get(import_ref="q-1-a")).id
    assert question.is_solved and question.tags == ["lgps", "tupe"]
    assert question.slug == "admitted-body-status-for-the-lgps"
    opening = await Post.get(thread=question, number=1)
    assert opening.body_html == "<p>We spin out in <strong>April</strong>.</p>\n"
    assert "<em>fund</em>" in (await Post.get(import_ref="q-1-b")).body_html
    pensions = await Topic.get(slug="tupe-and-pensions")
    assert (pensions.thread_count, pensions.post_count) == (1, 4)
    assert pensions.description == "Transfers and pensions."
    assert [t.slug for t in await Topic.all()] == ["tupe-and-pensions", "governance"]
    asha = await User.get(username_key="asha").prefetch_related("organisation")
    assert (asha.username, asha.display_name, asha.bio) == ("Asha", "Asha K", "Hi")
    assert asha.role == Role.MENTOR
    assert asha.organisation.sector == "Youth services"
    ben = await User.get(username_key="ben")
    assert (ben.display_name, ben.role) == ("ben", Role.MEMBER)
    assert (ben.thread_count, ben.reply_count) == (1, 1)
    await assert_counters_are_consistent()


async def test_importing_the_same_file_twice_creates_nothing_new(db, tmp_path):
    path = write_lines(tmp_path, *small_forum())
    await import_file(path, progress=lambda _: None)
    before = await Topic.all().values_list("slug", "thread_count", "post_count")

    again = await import_file(path, progress=lambda _: None)

    assert all(c.created == 0 for c in again.counts.values())
    assert {kind: c.skipped for kind, c in again.counts.items()} == {
        "organisation": 1, "user": 3, "topic": 2, "thread": 2, "post": 3, "playbook": 0,
    }  # fmt: skip
    counts = [await m.all().count() for m in (Organisation, User, Topic, Thread, Post)]
    assert counts == [1, 3, 2, 2, 5]
    assert await Topic.all().values_list("slug", "thread_count", "post_count") == before
    await assert_counters_are_consistent()


async def test_a_reimport_keeps_what_members_changed_since(db, tmp_path):
    path = write_lines(tmp_path, *small_forum())
    await import_file(path, progress=lambda _: None)
    await User.filter(username_key="ben").update(display_name="Ben from the mutual")

    await import_file(path, progress=lambda _: None)

    assert (await User.get(username_key="ben")).display_name == "Ben from the mutual"


async def test_new_replies_to_an_existing_thread_follow_its_last_post_number(db, tmp_path):
    await import_file(write_lines(tmp_path, *small_forum()), progress=lambda _: None)
    question = await Thread.get(import_ref="q-1")
    ben = await User.get(username_key="ben")
    await services.reply(actor=ben, thread_id=question.id, body="A live reply.")

    more = [post("q-1-d", "q-1", "Asha", at(9)), post("d-1-a", "d-1", "Asha", at(8))]
    later = [*small_forum(), *more]
    path = write_lines(tmp_path, *later, name="later.jsonl")
    summary = await import_file(path, progress=lambda _: None)

    assert summary.counts["post"].created == 2
    assert (await Post.get(import_ref="q-1-d")).number == 6
    assert (await Post.get(import_ref="d-1-a")).number == 2
    await assert_counters_are_consistent()


async def test_replies_out_of_time_order_across_batches_are_numbered_by_time(db, tmp_path):
    replies = [post(f"r-{day}", "q-1", "ben", at(day)) for day in (9, 8, 7, 6, 5, 4, 3, 2)]
    path = write_lines(tmp_path, user("Asha"), user("ben"), topic(), thread("q-1"), *replies)

    await import_file(path, progress=lambda _: None, batch_size=3)

    replies = Post.filter(number__gt=1).order_by("number")
    numbered = await replies.values_list("import_ref", flat=True)
    assert numbered == [f"r-{day}" for day in (2, 3, 4, 5, 6, 7, 8, 9)]
    await assert_counters_are_consistent()


async def test_a_missing_required_key_names_its_line_and_writes_nothing_of_it(db, tmp_path):
    lines = small_forum()
    del lines[6]["title"]
    path = write_lines(tmp_path, *lines)

    message = r"^line 7: thread is missing required key 'title'$"
    with pytest.raises(ImportError_, match=message) as error:
        await import_file(path, progress=lambda _: None)

    assert error.value.line == 7
    assert not await Thread.exists()
    # The lines before it are in, with right counters: fix the line and import again.
    assert await User.all().count() == 3 and await Topic.all().count() == 2
    await assert_counters_are_consistent()


async def test_batches_committed_before_a_bad_line_stay_with_right_counters(db, tmp_path):
    lines = [*small_forum(), post("bad", "q-1", "nobody", at(6))]

    with pytest.raises(ImportError_, match="^line 12: post 'bad' names unknown author 'nobody'$"):
        await import_file(write_lines(tmp_path, *lines), progress=lambda _: None, batch_size=2)

    assert await Post.all().count() == 5
    assert (await Topic.get(slug="tupe-and-pensions")).post_count == 4
    assert (await User.get(username_key="cara")).reply_count == 2
    await assert_counters_are_consistent()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (thread("t-9", topic_slug="x"), "thread 't-9' names unknown topic 'x'"),
        (thread("t-9", author="nobody"), "thread 't-9' names unknown author 'nobody'"),
        (post("p-9", "t-404", "Asha", at(2)), "post 'p-9' names unknown thread 't-404'"),
        (user("dan", organisation="nowhere"), "user 'dan' names unknown organisation 'nowhere'"),
    ],
)
async def test_a_reference_to_something_not_yet_defined_names_the_line(db, tmp_path, line, message):
    path = write_lines(tmp_path, user("Asha"), topic(), line)

    with pytest.raises(ImportError_, match=f"^line 3: {message}$"):
        await import_file(path, progress=lambda _: None)

    assert not await Thread.exists() and await User.all().count() == 1


async def test_a_reference_to_a_later_line_is_refused(db, tmp_path):
    path = write_lines(tmp_path, user("Asha"), thread("t-1"), topic())

    with pytest.raises(ImportError_, match="^line 2: thread 't-1' names unknown topic"):
        await import_file(path, progress=lambda _: None)


async def test_invalid_json_names_its_line(db, tmp_path):
    path = write_lines(tmp_path, user("Asha"), "", '{"type": "user", "username": ')

    with pytest.raises(ImportError_, match=r"^line 3: invalid JSON: "):
        await import_file(path, progress=lambda _: None)

    assert await User.all().count() == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (user("dan", role="boss"), "'role' must be one of member, mentor, moderator, admin"),
        (thread("t-1", kind="poll"), "'kind' must be one of question, discussion, not 'poll'"),
        (thread("t-1", created_at="2024-03-01T09:00:00"), "'created_at' must be an ISO 8601 time"),
        (thread("t-1", created_at="yesterday"), "'created_at' must be an ISO 8601 time"),
        (thread("t-1", tags="tupe"), "'tags' must be a list of strings"),
        (thread("t-1", tags=list("abcdef")), "Use at most 5 tags"),
        (post("p-1", "t-0", "Asha", at(2), accepted="yes"), "'accepted' must be true or false"),
        (user("dan", email="asha@example.org"), "'asha@example.org' already belongs to 'asha'"),
        (user("a b"), "username 'a b'"),
        (topic("Not A Slug"), "'slug' must be lowercase letters"),
        ({"type": "badge", "slug": "x"}, "unknown type 'badge'"),
        (["a", "list"], "expected a JSON object"),
    ],
)
async def test_a_bad_value_is_refused_naming_its_line(db, tmp_path, line, message):
    path = write_lines(tmp_path, user("Asha"), topic(), thread("t-0"), line)

    with pytest.raises(ImportError_, match=r"^line 4: ") as error:
        await import_file(path, progress=lambda _: None)

    assert message in str(error.value)
    assert await User.all().count() == 1 and await Thread.all().count() == 1


async def test_playbook_lines_are_imported(db, tmp_path):
    # More in tests/playbooks/test_importing.py.
    playbook = {"type": "playbook", "slug": "lgps", "title": "Joining the LGPS", "author": "Asha",
                "body": "Ask the fund for its admission policy first."}
    path = write_lines(tmp_path, user("Asha"), playbook, topic())

    summary = await import_file(path, progress=lambda _: None)

    assert (summary.counts["playbook"].created, summary.counts["topic"].created) == (1, 1)
    assert "playbooks: 1 created, 0 skipped (already present)" in str(summary)


async def test_unknown_keys_are_ignored(db, tmp_path):
    await import_file(write_lines(tmp_path, user("Asha", shoe_size=9)), progress=lambda _: None)

    assert await User.exists(username_key="asha")


async def test_passwords_are_hashed_and_accounts_without_one_get_an_empty_hash(db, tmp_path):
    path = write_lines(
        tmp_path, user("Asha", password="tupe pensions 2024"),
        user("ben", password="tupe pensions 2024"), user("Cara"),
    )  # fmt: skip

    await import_file(path, progress=lambda _: None)

    asha, ben, cara = await User.all().order_by("id")
    assert await verify_password("tupe pensions 2024", asha.password_hash)
    assert not await verify_password("wrong password", asha.password_hash)
    assert ben.password_hash == asha.password_hash  # hashed once per run, by design
    assert cara.password_hash == ""


async def test_progress_is_reported_for_each_batch(db, tmp_path):
    messages: list[str] = []

    await import_file(write_lines(tmp_path, *small_forum()), progress=messages.append, batch_size=4)

    assert messages[0].startswith("Importing ")
    assert [m.split(" (")[0] for m in messages[1:]] == [
        "  line 4", "  line 8", "  line 11",
    ]  # fmt: skip
    assert messages[-1].endswith("3 users, 2 threads, 3 posts created")


async def test_a_missing_file_is_an_import_error(db, tmp_path):
    with pytest.raises(ImportError_, match="can't read"):
        await import_file(tmp_path / "nope.jsonl", progress=lambda _: None)


async def test_is_seeded_once_a_topic_exists(db, tmp_path):
    assert not await is_seeded()

    await import_file(write_lines(tmp_path, topic()), progress=lambda _: None)

    assert await is_seeded()


def test_the_summary_reads_as_a_report():
    summary = ImportSummary(seconds=1.25)
    summary.counts["post"].created = 12_000

    assert str(summary).splitlines()[0] == "Import finished in 1.2 s:"
    assert "  posts: 12,000 created, 0 skipped (already present)" in str(summary)


@pytest.mark.skipif(not DEMO_CONTENT.exists(), reason="forum/demo/content.jsonl not written yet")
async def test_the_demo_content_imports_without_errors_and_twice_changes_nothing(db):
    first = await import_file(DEMO_CONTENT, progress=lambda _: None)
    again = await import_file(DEMO_CONTENT, progress=lambda _: None)

    assert first.counts["thread"].created > 0 and first.counts["topic"].created > 0
    assert all(c.created == 0 for c in again.counts.values())
    await assert_counters_are_consistent()


async def test_import_reads_organisation_details_regions_and_mentor_profiles(db, tmp_path):
    from datetime import date

    from forum.people.models import MentorProfile

    path = write_lines(
        tmp_path,
        org(spin_out_date="2021-04-01", contract_renewal_on="2027-03-31",
                     ownership_model="Employee-owned", staff_size="50-249"),
        user("Asha", role="mentor", region="Wales", expertise=["lgps", "tupe"],
             sectors=["Youth services"], stages=["tupe-pensions"], topics=["tupe-and-pensions"],
             capacity=2, availability="paused", response_time="week", bio="Pensions adviser."),
        user("ben", organisation="youth-mutual", organisation_admin=True),
    )
    await import_file(path, progress=lambda _: None)
    mutual = await Organisation.get(slug="youth-mutual")
    assert (mutual.spin_out_date, mutual.contract_renewal_on) == (date(2021, 4, 1), date(2027, 3, 31))
    assert (mutual.ownership_model, mutual.staff_size) == ("Employee-owned", "50-249")
    asha = await User.get(username_key="asha")
    profile = await MentorProfile.get(user_id=asha.id)
    assert asha.region == "Wales" and profile.is_approved
    assert (profile.expertise, profile.capacity, profile.is_open, profile.response_time) == (
        ["lgps", "tupe"], 2, False, "week")
    assert (await User.get(username_key="ben")).is_organisation_admin
    assert not await MentorProfile.filter(user__username_key="ben").exists()
    await import_file(path, progress=lambda _: None)  # idempotent
    assert await MentorProfile.all().count() == 1


@pytest.mark.parametrize("line, message", [
    (user("dan", role="mentor", capacity=0), "'capacity' must be a whole number from 1 to 20"),
    (user("dan", role="mentor", availability="soon"), "'availability' must be open or paused"),
    (user("dan", organisation_admin="yes"), "'organisation_admin' must be true or false"),
])
async def test_bad_people_lines_are_refused_naming_the_line(db, tmp_path, line, message):
    path = write_lines(tmp_path, line)
    with pytest.raises(ImportError_, match=re.escape(message)):
        await import_file(path, progress=lambda _: None)
