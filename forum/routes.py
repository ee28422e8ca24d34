"""The whole URL table."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from forum.accounts import account_views as account
from forum.accounts import admin_views as account_admin
from forum.accounts import recovery_views as recovery
from forum.accounts import sso_views as sso
from forum.accounts import views as accounts
from forum.caching.pages import shared_page
from forum.http.static import STATIC, FingerprintedStaticFiles
from forum.mentoring import views as mentoring
from forum.notifications import views as notifications
from forum.people import views as people
from forum.playbooks import feeds as playbook_feeds
from forum.playbooks import practice_views as playbook_practice
from forum.playbooks import review_views as playbook_review
from forum.playbooks import views as playbooks
from forum.search import views as search
from forum.threads import views as threads


async def healthz(request) -> PlainTextResponse:
    return PlainTextResponse("ok")


# Starlette tries the routes in order, so the pages asked for most come first
# (searches as people type were the 93rd try).
routes = [
    Route("/", shared_page(threads.home), name="home"),
    Route("/healthz", healthz),
    Route("/search", search.search, name="search"),
    Route("/search/similar", search.similar),
    Route("/search/related", search.related),
    Route("/signup", accounts.signup, methods=["GET", "POST"], name="signup"),
    Route("/signin", accounts.signin, methods=["GET", "POST"], name="signin"),
    Route("/signout", accounts.signout, methods=["POST"], name="signout"),
    Route("/topics/{slug}", shared_page(threads.topic), name="topic"),
    # Identity: joining, recovery, single sign-on, the account page, who may join.
    Route("/signup/check-email", accounts.check_email),
    Route("/invite/{code}", accounts.invite),
    Route("/verify-email", recovery.verify_email, methods=["GET", "POST"]),
    Route("/password/forgot", recovery.forgot_password, methods=["GET", "POST"]),
    Route("/password/forgot/sent", recovery.reset_sent),
    Route("/password/reset", recovery.reset_password, methods=["GET", "POST"]),
    Route("/auth/onboarding", sso.onboarding, methods=["GET", "POST"]),
    Route("/auth/{provider}/start", sso.start),
    Route("/auth/{provider}/callback", sso.callback),
    Route("/account", account.account_page, name="account"),
    Route("/account/password", account.change_password, methods=["POST"]),
    Route("/account/email", account.change_email, methods=["POST"]),
    Route("/account/verify", account.resend_verification, methods=["POST"]),
    Route("/account/sessions/end", account.end_session, methods=["POST"]),
    Route("/account/sessions/end-all", account.sign_out_everywhere, methods=["POST"]),
    Route("/account/link/{provider}", sso.link, methods=["POST"]),
    Route("/account/identities/{identity_id}/unlink", account.unlink, methods=["POST"]),
    Route("/account/data.json", account.download_data),
    Route("/account/delete", account.delete_account, methods=["GET", "POST"]),
    Route("/admin/registration", account_admin.registration, methods=["GET", "POST"]),
    Route("/admin/approvals", account_admin.approval_queue),
    Route("/admin/approvals/{user_id}", account_admin.decide, methods=["POST"]),
    Route("/invitations", account_admin.invitation_list, methods=["GET", "POST"]),
    Route("/invitations/{invitation_id}/revoke", account_admin.revoke, methods=["POST"]),
    Route("/new", threads.new_thread, methods=["GET", "POST"], name="new_thread"),
    Route("/t/{thread_id:int}", threads.thread_redirect),
    Route("/t/{thread_id:int}/p/{number:int}", threads.post_redirect, name="post"),
    Route("/t/{thread_id:int}/reply", threads.reply, methods=["POST"], name="reply"),
    Route("/t/{thread_id:int}/accept", threads.accept, methods=["POST"], name="accept"),
    Route("/t/{thread_id:int}/moderate", threads.moderate, methods=["POST"], name="moderate"),
    Route("/t/{thread_id:int}/ask-mentor", mentoring.ask_mentor, methods=["GET", "POST"]),
    Route("/t/{thread_id:int}/{slug}", shared_page(threads.thread), name="thread"),
    Route("/posts/{post_id:int}/edit", threads.edit_post, methods=["GET", "POST"]),
    Route("/posts/{post_id:int}/history", threads.history),
    Route("/posts/{post_id:int}/delete", threads.delete_post, methods=["POST"]),
    Route("/posts/{post_id:int}/restore", threads.restore_post, methods=["POST"]),
    Route("/posts/{post_id:int}/helpful", threads.helpful, methods=["POST"]),
    Route("/journey", shared_page(playbooks.journey), name="journey"),
    Route("/playbooks", shared_page(playbooks.index), name="playbooks"),
    Route("/playbooks/new", playbooks.new, methods=["GET", "POST"], name="new_playbook"),
    Route("/playbooks/due", playbook_review.due, name="playbooks_due"),
    Route("/playbooks/suggestions", playbook_review.queue, name="suggestion_queue"),
    Route("/playbooks/{slug}", shared_page(playbooks.detail), name="playbook"),
    Route("/playbooks/{slug}/edit", playbooks.edit, methods=["GET", "POST"]),
    Route("/playbooks/{slug}/history", shared_page(playbooks.history)),
    Route("/playbooks/{slug}/compare", shared_page(playbooks.compare_view)),
    Route("/playbooks/{slug}/feed.atom", shared_page(playbook_feeds.revisions_feed)),
    Route("/playbooks/{slug}/restore", playbooks.restore, methods=["POST"]),
    Route("/playbooks/{slug}/maintainers", playbooks.maintainers, methods=["POST"]),
    Route("/playbooks/{slug}/verify", playbook_review.verify, methods=["POST"]),
    Route("/playbooks/{slug}/suggest", playbook_review.suggest, methods=["GET", "POST"]),
    Route("/playbooks/{slug}/suggestions", playbook_review.playbook_suggestions),
    Route("/playbooks/{slug}/suggestions/{id}", playbook_review.suggestion),
    Route("/playbooks/{slug}/suggestions/{id}/accept", playbook_review.accept, methods=["POST"]),
    Route("/playbooks/{slug}/suggestions/{id}/decline", playbook_review.decline, methods=["POST"]),
    Route("/playbooks/{slug}/outcomes/new", playbook_practice.new_outcome, methods=["GET", "POST"]),
    Route("/playbooks/{slug}/progress", playbook_practice.progress, methods=["POST"]),
    Route("/u/{username}", shared_page(people.profile), name="profile"),
    Route("/mentors", shared_page(people.mentor_directory), name="mentors"),
    Route("/mentors/apply", people.apply, methods=["GET", "POST"]),
    Route("/mentors/settings", people.mentor_settings, methods=["GET", "POST"]),
    Route("/mentors/applications", people.applications),
    Route("/mentors/applications/{profile_id:int}", people.decide, methods=["POST"]),
    Route("/mentors/{username}/request", mentoring.new_request, methods=["GET", "POST"]),
    Route("/orgs/{slug}", shared_page(people.organisation), name="organisation"),
    Route("/orgs/{slug}/threads", people.organisation_threads),
    Route("/orgs/{slug}/edit", people.edit_organisation, methods=["GET", "POST"]),
    Route("/mentoring", mentoring.dashboard, name="mentoring"),
    Route("/mentoring/requests/{request_id:int}", mentoring.request_detail),
    Route("/mentoring/requests/{request_id:int}/accept", mentoring.accept, methods=["POST"]),
    Route("/mentoring/requests/{request_id:int}/decline", mentoring.decline, methods=["POST"]),
    Route("/mentoring/requests/{request_id:int}/withdraw", mentoring.withdraw, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}", mentoring.space),
    Route("/mentoring/spaces/{space_id:int}/messages", mentoring.post_message, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}/goals", mentoring.add_goal, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}/goals/{goal_id:int}", mentoring.goal_status, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}/playbooks", mentoring.add_playbook, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}/colleagues", mentoring.add_colleague, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}/close", mentoring.close, methods=["POST"]),
    Route("/mentoring/spaces/{space_id:int}/outcome", mentoring.publish_outcome, methods=["GET", "POST"]),
    Route("/mentoring/messages/{message_id:int}", mentoring.message),
    Route("/mentoring/messages/{message_id:int}/flag", mentoring.flag, methods=["POST"]),
    Route("/moderation/flags", mentoring.flags),
    Route("/notifications", notifications.notification_list, name="notifications"),
    Route("/notifications/read-all", notifications.read_all, methods=["POST"]),
    Route("/notifications/{notification_id:int}/open", notifications.open_notification, methods=["POST"]),
    Route("/moderation/search-gaps", search.gaps),
    Mount("/static", FingerprintedStaticFiles(STATIC), name="static"),
]
