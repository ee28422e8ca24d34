"""The account page: password, sessions, my data, deleting the account."""

from __future__ import annotations

import json

import httpx2
import pytest
from tortoise.timezone import now

from forum.accounts.models import Identity, Invitation, Role, Session, User
from forum.playbooks.models import OutcomeReport, Playbook
from forum.threads.models import Post, PostRevision, Thread
from forum.threads import services as thread_services
from search_index.outbox import OutboxEntry
from tests.factories import PASSWORD, make_reply, make_thread, make_user
from tests.mailbox import body
from tests.playbooks.builders import make_mentor, make_playbook
from tests.web import post_form, sign_in

NEW_PASSWORD = "lanterns over the harbour"


@pytest.fixture
async def second_browser(app):
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_changing_the_password_asks_for_the_current_one(client, inbox):
    member = await make_user("dana")
    await sign_in(client, member)
    wrong = await post_form(client, "/account/password", {"current_password": "nope", "new_password": NEW_PASSWORD},
                            from_url="/account")
    assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.text
    assert NEW_PASSWORD not in wrong.text
    weak = await post_form(client, "/account/password", {"current_password": PASSWORD, "new_password": "short"},
                           from_url="/account")
    assert weak.status_code == 422 and 'id="new_password-error"' in weak.text
    assert not inbox.messages


async def test_changing_the_password_signs_out_other_browsers_only(client, second_browser, inbox):
    member = await make_user("dana")
    await sign_in(client, member)
    await sign_in(second_browser, member)
    done = await post_form(client, "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                           from_url="/account")
    assert done.status_code == 303
    assert "Your password is changed" in (await client.get("/account")).text
    assert (await second_browser.get("/account")).status_code == 303
    assert await Session.filter(user_id=member.id).count() == 1
    assert "was just changed" in body(inbox.last_to(member.email))


async def test_the_account_page_lists_sessions_and_signs_one_out(client, second_browser):
    member = await make_user("dana")
    await sign_in(client, member)
    await sign_in(second_browser, member)
    page = (await client.get("/account")).text
    assert page.count("<tr>") == 3  # header and two sessions
    assert "(this browser)" in page
    keys = [s.key for s in await Session.filter(user_id=member.id)]
    assert not any(key in page for key in keys), "session keys must never reach a page"
    handle = page.split('name="session" value="', 1)[1].split('"', 1)[0]
    response = await post_form(client, "/account/sessions/end", {"session": handle}, from_url="/account")
    assert response.status_code == 303
    assert (await second_browser.get("/account")).status_code == 303
    assert (await client.get("/account")).status_code == 200


async def test_a_member_cannot_end_someone_elses_session(client, second_browser):
    from forum.accounts.account import session_handle

    await sign_in(second_browser, await make_user("other"))
    other_key = (await Session.get(user__username_key="other")).key
    await sign_in(client, await make_user("dana"))
    response = await post_form(client, "/account/sessions/end", {"session": session_handle(other_key)}, from_url="/account")
    assert response.status_code == 404
    assert await Session.filter(key=other_key).exists()


async def test_sign_out_everywhere_ends_every_session(client, second_browser):
    member = await make_user("dana")
    await sign_in(client, member)
    await sign_in(second_browser, member)
    response = await post_form(client, "/account/sessions/end-all", from_url="/account")
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert "signed out everywhere (2 sessions ended)" in (await client.get("/signin")).text
    assert not await Session.filter(user_id=member.id).exists()
    assert (await second_browser.get("/account")).status_code == 303


async def test_download_my_data_has_profile_posts_playbook_edits_and_reports(client, count_queries):
    member = await make_user("dana", role=Role.MENTOR)
    thread = await make_thread(member, title="How long did admitted body status take?")
    await make_reply(thread, member, "Six months, in our case.")
    playbook = await make_playbook(member)
    await OutcomeReport.create(playbook=playbook, author=member, what_we_did="We did it.",
                               what_we_did_html="<p>We did it.</p>", outcome="worked", created_at=now())
    await Identity.create(user=member, provider="google", subject="g-1", email=member.email)
    await sign_in(client, member)
    count_queries.statements.clear()
    response = await client.get("/account/data.json")
    few = count_queries.count
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="dana-data.json"'
    data = json.loads(response.text)
    assert data["profile"]["username"] == "dana" and data["profile"]["email"] == member.email
    assert [t["title"] for t in data["threads"]] == ["How long did admitted body status take?"]
    assert [p["body_markdown"] for p in data["posts"]][1] == "Six months, in our case."
    assert data["playbook_edits"][0]["playbook"] == playbook.slug
    assert data["outcome_reports"][0]["what_we_did"] == "We did it."
    assert data["sign_in_methods"][0]["provider"] == "google"
    assert len(data["sessions"]) == 1
    for _ in range(5):
        await make_reply(thread, member, "More.")
    count_queries.statements.clear()
    await client.get("/account/data.json")
    assert count_queries.count == few, "the export's query count grew with the member's posts"


async def test_deleting_the_account_asks_for_confirmation(client):
    member = await make_user("dana")
    await sign_in(client, member)
    page = await client.get("/account/delete")
    assert page.status_code == 200 and "This can&#39;t be undone" not in page.text and "can't be undone" in page.text
    response = await post_form(client, "/account/delete", {"posts": "keep", "confirm_username": "wrong",
                                                            "password": PASSWORD}, from_url="/account/delete")
    assert response.status_code == 422 and 'id="confirm_username-error"' in response.text
    response = await post_form(client, "/account/delete", {"posts": "keep", "confirm_username": "dana",
                                                            "password": "wrong"}, from_url="/account/delete")
    assert response.status_code == 422 and 'id="password-error"' in response.text
    response = await post_form(client, "/account/delete", {"posts": "", "confirm_username": "dana",
                                                            "password": PASSWORD}, from_url="/account/delete")
    assert response.status_code == 422 and 'id="posts-error"' in response.text
    assert (await User.get(id=member.id)).is_active


async def delete(client, member: User, posts: str):
    await sign_in(client, member)
    response = await post_form(client, "/account/delete", {"posts": posts, "confirm_username": member.username,
                                                            "password": PASSWORD}, from_url="/account/delete")
    assert response.status_code == 303 and response.headers["location"] == "/"
    return response


async def test_deleting_and_keeping_posts_anonymises_them_and_updates_search(client, inbox):
    member = await make_user("dana", email="dana@leeds.gov.uk", bio="Leads a youth mutual.")
    thread = await make_thread(member)
    reply = await make_reply(await make_thread(), member, "Ask the fund early.")
    await Identity.create(user=member, provider="google", subject="g-1")
    await Invitation.create(code="dana-code", created_by=member, expires_at=now())
    await OutboxEntry.all().delete()
    await delete(client, member, "keep")
    assert "Your account is deleted" in (await client.get("/")).text
    gone = await User.get(id=member.id)
    assert (gone.username, gone.display_name, gone.email, gone.bio) == (
        f"deleted-{member.id}", "Former member", f"deleted-{member.id}@deleted.invalid", ""
    )
    assert not gone.is_active and gone.password_hash == "" and gone.deleted_at is not None
    assert not await Session.filter(user_id=member.id).exists()
    assert not await Identity.filter(user_id=member.id).exists()
    assert (await Invitation.get(code="dana-code")).revoked_at is not None
    assert (await Post.get(id=reply.id)).body_source == "Ask the fund early."
    assert {e.doc_id for e in await OutboxEntry.all()} >= {f"thread-{thread.id}", f"post-{reply.id}"}
    assert (await client.get("/u/dana")).status_code == 404
    assert "is deleted, as you asked" in body(inbox.last_to("dana@leeds.gov.uk"))
    login = await post_form(client, "/signin", {"login": "dana", "password": PASSWORD})
    assert login.status_code == 422


async def test_deleting_and_removing_posts_takes_them_down(client):
    member = await make_user("dana")
    other = await make_user("olu")
    lonely = await make_thread(member, title="A question nobody answered yet")
    answered = await make_thread(member, title="A question others answered")
    kept_reply = await make_reply(answered, other, "Here is how we did it.")
    mine = await make_reply(await make_thread(other), member, "My own reply text.")
    await thread_services.edit_post(actor=member, post_id=mine.id, body="My edited reply text.")
    mentor = await make_mentor()
    playbook = await make_playbook(mentor)
    await OutcomeReport.create(playbook=playbook, author=member, what_we_did="x", what_we_did_html="x",
                               outcome="worked", created_at=now())
    await Playbook.filter(id=playbook.id).update(outcome_count=1)
    await OutboxEntry.all().delete()
    await delete(client, member, "remove")
    assert (await Thread.get(id=lonely.id)).deleted_at is not None
    assert (await Thread.get(id=answered.id)).deleted_at is None
    opening = await Post.get(thread_id=answered.id, number=1)
    assert "removed by its author" in opening.body_source
    assert (await Post.get(id=kept_reply.id)).body_source == "Here is how we did it."
    removed = await Post.get(id=mine.id)
    assert removed.deleted_at is not None and "My own" not in removed.body_source
    assert not await PostRevision.filter(post_id=mine.id).exists()
    assert not await OutcomeReport.filter(author_id=member.id).exists()
    assert (await Playbook.get(id=playbook.id)).outcome_count == 0
    queued = {e.doc_id for e in await OutboxEntry.all()}
    assert {f"thread-{lonely.id}", f"thread-{answered.id}", f"post-{mine.id}"} <= queued
