"""A simple trust level: new members post and link a little less until they have taken part.

A member is *new* until their account is `days` old and they have written
`min_posts` posts that are still up; mentors, moderators and administrators never
are. New members get `posts_per_day` threads and replies, and `links_per_day`
links in them, in any 24 hours. That is plenty for a person and very little for
a spammer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.errors import RateLimited, ValidationFailed
from forum.threads.models import Post

DAY = timedelta(days=1)


EXTERNAL_LINK = re.compile(r"<a\s[^>]*href=\"(?:https?:)?//", re.IGNORECASE)


def count_links(html: str) -> int:
    """Links to other sites in rendered (sanitised) markdown; @mentions don't count."""
    return len(EXTERNAL_LINK.findall(html))


@dataclass(frozen=True)
class NewMemberLimits:
    days: int = 3
    min_posts: int = 3
    posts_per_day: int = 10
    links_per_day: int = 5

    def is_new(self, user: User) -> bool:
        if user.role != Role.MEMBER:
            return False
        old_enough = user.created_at <= now() - timedelta(days=self.days)
        return not (old_enough and user.thread_count + user.reply_count >= self.min_posts)

    async def check(self, user: User, body_html: str) -> None:
        """Refuse a new member's post past today's allowance (RateLimited or ValidationFailed)."""
        if not self.is_new(user):
            return
        since = now() - DAY
        recent = await Post.filter(author_id=user.id, created_at__gte=since).order_by(
            "created_at"
        ).limit(self.posts_per_day + 1).values_list("created_at", "body_html")
        if len(recent) >= self.posts_per_day:
            wait = int((recent[0][0] + DAY - now()).total_seconds()) + 1
            raise RateLimited(
                f"New members can post {self.posts_per_day} times a day until they have taken "
                f"part for a few days. You can post again in {_hours(wait)}.", max(wait, 1),
            )
        links = count_links(body_html)
        if links and links + sum(count_links(html) for _, html in recent) > self.links_per_day:
            raise ValidationFailed({
                "body": f"New members can share up to {self.links_per_day} links a day. "
                "Please remove some links, or post them later."
            })


def _hours(seconds: int) -> str:
    if seconds < 3600:
        minutes = max(1, seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(seconds / 3600)
    return f"about {hours} hour{'s' if hours != 1 else ''}"
