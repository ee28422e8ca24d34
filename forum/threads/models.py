"""Topics hold threads; threads hold numbered posts; post 1 opens the thread."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ThreadKind(StrEnum):
    QUESTION = "question"
    DISCUSSION = "discussion"


class Topic(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=80, unique=True)
    name = fields.CharField(max_length=120)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)
    # Counters kept in the same transaction as the change they count.
    thread_count = fields.IntField(default=0)
    post_count = fields.IntField(default=0)
    last_activity_at = fields.DatetimeField(null=True)

    class Meta:
        table = "topics"
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Thread(Model):
    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "forum.Topic", related_name="threads", on_delete=fields.RESTRICT
    )
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="threads", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(ThreadKind, max_length=16, default=ThreadKind.DISCUSSION)
    title = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=80)
    tags: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    # Replies that are not deleted; the opening post is not a reply.
    reply_count = fields.IntField(default=0)
    # Highest post number handed out (deleted posts keep their numbers).
    last_post_number = fields.IntField(default=1)
    last_activity_at = fields.DatetimeField()
    last_poster: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    accepted_post: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.Post", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    is_locked = fields.BooleanField(default=False)
    is_pinned = fields.BooleanField(default=False)
    deleted_at = fields.DatetimeField(null=True)
    import_ref = fields.CharField(max_length=80, null=True, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "threads"
        indexes = (
            ("topic_id", "deleted_at", "is_pinned", "last_activity_at"),
            ("deleted_at", "last_activity_at"),
            ("author_id", "created_at"),
            ("kind", "reply_count", "deleted_at", "last_activity_at"),
        )

    def __str__(self) -> str:
        return self.title

    @property
    def is_question(self) -> bool:
        return self.kind == ThreadKind.QUESTION

    @property
    def is_solved(self) -> bool:
        return self.kind == ThreadKind.QUESTION and self.accepted_post_id is not None  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        return f"/t/{self.id}/{self.slug}"


class Post(Model):
    id = fields.IntField(primary_key=True)
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "forum.Thread", related_name="posts", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name="posts", on_delete=fields.RESTRICT
    )
    number = fields.IntField()
    body_source = fields.TextField()
    # Rendered once on save, never on read.
    body_html = fields.TextField()
    # Links to other sites in body_html, counted when it is rendered: the new-member
    # link allowance adds these up instead of reading a day of posts' HTML.
    link_count = fields.IntField(default=0, db_default=0)
    helpful_count = fields.IntField(default=0)
    edit_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    deleted_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    import_ref = fields.CharField(max_length=80, null=True, unique=True)

    class Meta:
        table = "posts"
        unique_together = (("thread", "number"),)
        indexes = (("author_id", "number", "created_at"), ("author_id", "created_at"))

    @property
    def is_opening(self) -> bool:
        return self.number == 1

    @property
    def url(self) -> str:
        return f"/t/{self.thread_id}/p/{self.number}"  # type: ignore[attr-defined]


class PostRevision(Model):
    """A previous text of a post, kept on every edit."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="revisions", on_delete=fields.CASCADE
    )
    editor: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200, default="")
    body_source = fields.TextField()
    body_html = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "post_revisions"
        indexes = (("post_id", "created_at"),)


class HelpfulVote(Model):
    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "forum.Post", related_name="helpful_votes", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "forum.User", related_name=False, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "helpful_votes"
        unique_together = (("post", "user"),)
