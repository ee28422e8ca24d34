"""A simple trust level: new members post and link a little less until they have taken part.

A member is *new* until their account is `days` old and they have written
`min_posts` posts that are still up; mentors, moderators and administrators never
are. New members get `posts_per_day` threads and replies, and `links_per_day`
links in them, in any 24 hours. That is plenty for a person and very little for
a spammer.

The check costs nothing for members who are not new, and one aggregate query for
those who are: every post carries its number of links (`Post.link_count`, counted
when it is rendered), so a day of posts is never read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.functions import Count, Min, Sum
from tortoise.timezone import now

from forum.accounts.models import Role, User
from forum.content.markdown import count_links
from forum.errors import RateLimited, ValidationFailed
from forum.threads.models import Post

__all__ = ["DAY", "NewMemberLimits", "count_links"]

DAY = timedelta(days=1)


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

    async def check(self, user: User, links: int) -> None:
        """Refuse a new member's post with `links` links past today's allowance.

        Raises RateLimited (too many posts) or ValidationFailed (too many links).
        """
        if not self.is_new(user):
            return
        current = now()
        day = await Post.filter(author_id=user.id, created_at__gte=current - DAY).annotate(
            posts=Count("id"), first=Min("created_at"), links=Sum("link_count"),
        ).first().values("posts", "first", "links") or {}
        if (day.get("posts") or 0) >= self.posts_per_day:
            first = day["first"]
            if isinstance(first, str):  # SQLite hands an aggregate back as the stored text
                first = datetime.fromisoformat(first)
            wait = int((first + DAY - current).total_seconds()) + 1
            raise RateLimited(
                f"New members can post {self.posts_per_day} times a day until they have taken "
                f"part for a few days. You can post again in {_hours(wait)}.", max(wait, 1),
            )
        if links and links + int(day.get("links") or 0) > self.links_per_day:
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
