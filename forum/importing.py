"""Import forum content from JSON Lines (the interchange format of dataset/FORMAT.md).

Lines are checked as they are read, against maps of what the database already
holds (loaded once) and of what earlier lines defined, then written
`batch_size` lines at a time with bulk inserts, one transaction per batch.

Re-importing skips what already exists (users by username, organisations and
topics by slug, threads and posts by `ref`) and never updates it: after the first
import the site is the source of truth, and members may since have edited their
posts, profiles or passwords. New replies to an existing thread go after its
last post.

A bad line stops the import with ImportError_ naming it: the lines before it are
committed, with correct counters; nothing of it, or after it, is written.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from tortoise.exceptions import BaseORMException
from tortoise.expressions import F
from tortoise.models import Model

from forum.accounts import passwords
from forum.accounts.models import Role, User
from forum.accounts.services import EMAIL_RE, USERNAME_RE
from forum.content.markdown import render_markdown
from forum.content.slugs import slugify
from forum.db import write_transaction
from forum.people.models import Organisation
from forum.threads.models import Post, Thread, ThreadKind, Topic
from forum.threads.services import parse_tags

REQUIRED = {
    "organisation": ("slug", "name"),
    "user": ("username", "email"),
    "topic": ("slug", "name"),
    "thread": ("ref", "topic", "author", "title", "body", "created_at"),
    "post": ("ref", "thread", "author", "body", "created_at"),
    "playbook": ("slug", "title", "author", "body"),
}
ORGANISATION_DETAILS = ("sector", "stage", "parent_body", "legal_form", "website", "description")
PLAYBOOK_NOTE = "playbooks are not supported yet"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEY_CHUNK = 900  # keys bound per lookup: under SQLite's parameter limit
ID_CHUNK = 5000  # ids inlined per recount statement (ints we read back: safe to inline)

# Recounts are plain correlated subqueries, the same SQL on SQLite and PostgreSQL,
# and follow the live services' rules (forum/threads/services.py).
_RECOUNT_THREADS = """UPDATE threads SET
    reply_count = (SELECT COUNT(*) FROM posts p
        WHERE p.thread_id = threads.id AND p.number > 1 AND p.deleted_at IS NULL),
    last_post_number = (SELECT COALESCE(MAX(p.number), 1) FROM posts p
        WHERE p.thread_id = threads.id),
    last_activity_at = COALESCE((SELECT MAX(p.created_at) FROM posts p
        WHERE p.thread_id = threads.id AND p.deleted_at IS NULL), threads.created_at),
    last_poster_id = COALESCE((SELECT p.author_id FROM posts p
        WHERE p.thread_id = threads.id AND p.deleted_at IS NULL
        ORDER BY p.created_at DESC, p.id DESC LIMIT 1), threads.author_id)
WHERE id IN ({ids})"""
_RECOUNT_TOPICS = """UPDATE topics SET
    thread_count = (SELECT COUNT(*) FROM threads t
        WHERE t.topic_id = topics.id AND t.deleted_at IS NULL),
    post_count = (SELECT COALESCE(SUM(t.reply_count + 1), 0) FROM threads t
        WHERE t.topic_id = topics.id AND t.deleted_at IS NULL),
    last_activity_at = (SELECT MAX(t.last_activity_at) FROM threads t
        WHERE t.topic_id = topics.id AND t.deleted_at IS NULL)
WHERE id IN ({ids})"""
_RECOUNT_USERS = """UPDATE users SET
    thread_count = (SELECT COUNT(*) FROM threads t
        WHERE t.author_id = users.id AND t.deleted_at IS NULL),
    reply_count = (SELECT COUNT(*) FROM posts p
        WHERE p.author_id = users.id AND p.number > 1 AND p.deleted_at IS NULL)
WHERE id IN ({ids})"""


class ImportError_(Exception):
    """The file can't be imported; `line` is the 1-based number of the bad line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


class _Invalid(Exception):
    """A problem with the line being read; the reader adds its number."""


@dataclass
class Counts:
    created: int = 0
    skipped: int = 0


@dataclass
class ImportSummary:
    """What one import did, per line type (a thread line also creates its opening post)."""

    counts: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in REQUIRED})
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [f"Import finished in {self.seconds:.1f} s:"]
        for kind, c in self.counts.items():
            why = PLAYBOOK_NOTE if kind == "playbook" else "already present"
            lines.append(f"  {kind}s: {c.created:,} created, {c.skipped:,} skipped ({why})")
        return "\n".join(lines)


async def import_file(
    path: Path, progress: Callable[[str], object] = print, batch_size: int = 1000
) -> ImportSummary:
    """Import the JSON Lines file at `path`; raise ImportError_ at the first bad line."""
    importer = _Importer(progress, batch_size)
    await importer.load()
    try:
        await importer.read(path)
    except Exception:
        # Also after a bad line, so that the batches committed before it count right.
        await importer.finish()
        raise
    await importer.finish()
    return importer.summary


async def is_seeded() -> bool:
    """True when the forum already has content (topics or threads)."""
    return await Topic.all().exists() or await Thread.all().exists()


def _text(raw: dict[str, Any], key: str, limit: int | None = None, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Invalid(f"{key!r} must be a non-empty string, not {value!r}")
    if limit is not None and len(value.strip()) > limit:
        raise _Invalid(f"{key!r} is longer than {limit} characters")
    return value.strip()


def _limit(model: type[Model], name: str) -> int | None:
    return getattr(model._meta.fields_map[name], "max_length", None)


def _slug(raw: dict[str, Any]) -> str:
    value = _text(raw, "slug", 80)
    if not SLUG_RE.match(value):
        raise _Invalid(f"'slug' must be lowercase letters, digits and hyphens, not {value!r}")
    return value


E = TypeVar("E", bound=StrEnum)


def _choice(raw: dict[str, Any], key: str, choices: type[E], default: E) -> E:
    value = raw.get(key, default)
    if value not in {c.value for c in choices}:
        allowed = ", ".join(c.value for c in choices)
        raise _Invalid(f"{key!r} must be one of {allowed}, not {value!r}")
    return choices(value)


def _when(raw: dict[str, Any], key: str) -> datetime:
    value = raw.get(key)
    try:
        when = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        raise _Invalid(f"{key!r} must be an ISO 8601 time with an offset, not {value!r}")
    # One offset for every stored time, so that SQLite's text MAX() orders them.
    return when.astimezone(UTC)


def _tags(raw: dict[str, Any]) -> list[str]:
    tags, errors = raw.get("tags") or [], {"tags": "'tags' must be a list of strings"}
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        errors.clear()
        tags = parse_tags(tags, errors)  # the live rules: lowercase, at most 5
    if errors:
        raise _Invalid(errors["tags"])
    return tags


def _new(known: dict[str, int | None], key: str, values: dict[str, Any]) -> dict[str, Any] | None:
    """`values` to create, or None to skip a `key` the database or an earlier line has."""
    if key in known:
        return None
    known[key] = None  # defined from here on; its id comes when the batch is written
    return values


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _ids(model: type[Model], key: str, keys: Iterable[str]) -> dict[str, int]:
    """`key -> id` for the rows of `model` whose `key` is in `keys`."""
    found: dict[str, int] = {}
    for chunk in _chunks(keys, KEY_CHUNK):
        found.update(await model.filter(**{f"{key}__in": chunk}).values_list(key, "id"))
    return found


async def _insert(model: type[Model], rows: list[Any], key: str, known: dict) -> set[int]:
    """Bulk-insert `rows` and learn their ids (bulk_create doesn't set them)."""
    if not rows:
        return set()
    await model.bulk_create(rows)
    ids = await _ids(model, key, [getattr(row, key) for row in rows])
    known.update(ids)
    return set(ids.values())


async def _recount(connection: Any, statement: str, ids: Iterable[int]) -> None:
    for chunk in _chunks(sorted(ids), ID_CHUNK):
        await connection.execute_query(statement.format(ids=",".join(str(int(i)) for i in chunk)))


class _Importer:
    """One run: what exists (key -> id, None while pending) and what was touched."""

    def __init__(self, progress: Callable[[str], object], batch_size: int) -> None:
        self.progress, self.batch_size = progress, max(1, batch_size)
        self.summary, self.started = ImportSummary(), time.perf_counter()
        self.batch: list[tuple[int, str, dict[str, Any]]] = []
        self.organisations: dict[str, int | None] = {}
        self.users: dict[str, int | None] = {}
        self.emails: dict[str, str] = {}  # email -> username_key
        self.topics: dict[str, int | None] = {}
        self.threads: dict[str, int | None] = {}
        self.next_position, self.reported = 0, 0
        self.hashes: dict[str, str] = {}
        self.touched_users: set[int] = set()
        self.touched_topics: set[int] = set()
        # Per thread replied to in this run: the first number this run gave, and
        # the latest reply time, to spot replies that arrive out of time order.
        self.first_number: dict[int, int] = {}
        self.latest: dict[int, datetime] = {}
        self.out_of_order: set[int] = set()

    async def load(self) -> None:
        """Keys already in the database: one query per table instead of one per line."""
        self.organisations = dict(await Organisation.all().values_list("slug", "id"))
        for key, user_id, email in await User.all().values_list("username_key", "id", "email"):
            self.users[key], self.emails[email] = user_id, key
        self.topics = dict(await Topic.all().values_list("slug", "id"))
        self.next_position = await Topic.all().count()
        threads = Thread.filter(import_ref__isnull=False).values_list("import_ref", "id")
        self.threads = dict(await threads)

    async def read(self, path: Path) -> None:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ImportError_(f"can't read {path}: {exc.strerror}") from None
        with handle:
            size, done, number = max(path.stat().st_size, 1), 0, 0
            self.progress(f"Importing {path} ({size / 1e6:.1f} MB)")
            for number, raw in enumerate(handle, 1):
                done += len(raw)
                if not raw.strip():
                    continue
                try:
                    self.accept(number, raw)
                except _Invalid as exc:
                    await self.flush()  # the lines before it are imported
                    raise ImportError_(str(exc), number) from None
                if len(self.batch) >= self.batch_size:
                    await self.flush()
                    self.report(number, done / size)
            await self.flush()
            self.report(number, 1.0)

    def report(self, number: int, share: float) -> None:
        if number == self.reported:
            return
        self.reported = number
        made = {kind: counts.created for kind, counts in self.summary.counts.items()}
        self.progress(
            f"  line {number:,} ({share:.0%}): {made['user']:,} users, "
            f"{made['thread']:,} threads, {made['post']:,} posts created"
        )

    def accept(self, number: int, raw_line: bytes) -> None:
        """Check one line and queue it, or count it as skipped."""
        try:
            raw = json.loads(raw_line)
        except json.JSONDecodeError as exc:
            raise _Invalid(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        except ValueError as exc:  # not UTF-8
            raise _Invalid(f"invalid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise _Invalid("expected a JSON object")
        kind = raw.get("type")
        if kind not in REQUIRED:
            raise _Invalid(f"unknown type {kind!r}; expected one of {', '.join(REQUIRED)}")
        for key in REQUIRED[kind]:
            if raw.get(key) is None:
                raise _Invalid(f"{kind} is missing required key {key!r}")
        values = None if kind == "playbook" else getattr(self, f"check_{kind}")(raw)
        if values is None:
            self.summary.counts[kind].skipped += 1
        else:
            self.batch.append((number, kind, values))

    def check_organisation(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        values = {key: _text(raw, key, _limit(Organisation, key), required=False)
                  for key in ORGANISATION_DETAILS}  # fmt: skip
        values |= {"slug": _slug(raw), "name": _text(raw, "name", _limit(Organisation, "name"))}
        return _new(self.organisations, values["slug"], values)

    def check_user(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        username = _text(raw, "username")
        if not USERNAME_RE.match(username):
            raise _Invalid(f"username {username!r}: use 3 to 30 letters, digits, - or _")
        email = _text(raw, "email").lower()
        if len(email) > 254 or not EMAIL_RE.match(email):
            raise _Invalid(f"user {username!r} has an invalid email {email!r}")
        organisation = _text(raw, "organisation", required=False)
        if organisation and organisation not in self.organisations:
            raise _Invalid(f"user {username!r} names unknown organisation {organisation!r}")
        password = raw.get("password")
        if password is not None and (not isinstance(password, str) or not password):
            raise _Invalid(f"user {username!r}: 'password' must be a non-empty string")
        key = username.lower()
        if key not in self.users and (owner := self.emails.get(email)) is not None:
            raise _Invalid(f"user {username!r}: email {email!r} already belongs to {owner!r}")
        self.emails.setdefault(email, key)
        # `expertise` has no home yet: it will belong to mentor profiles.
        return _new(self.users, key, {
            "username": username, "username_key": key, "email": email,
            "display_name": _text(raw, "display_name", 60, required=False) or username,
            "role": _choice(raw, "role", Role, Role.MEMBER), "organisation": organisation,
            "bio": _text(raw, "bio", required=False), "password": password,
        })  # fmt: skip

    def check_topic(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        values = {"slug": _slug(raw), "name": _text(raw, "name", _limit(Topic, "name")),
                  "description": _text(raw, "description", required=False)}  # fmt: skip
        return _new(self.topics, values["slug"], values)

    def _author(self, raw: dict[str, Any], what: str) -> str:
        key = _text(raw, "author").lower()
        if key not in self.users:
            raise _Invalid(f"{what} names unknown author {raw['author']!r}")
        return key

    def check_thread(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        ref, topic = _text(raw, "ref", _limit(Thread, "import_ref")), _text(raw, "topic")
        if topic not in self.topics:
            raise _Invalid(f"thread {ref!r} names unknown topic {topic!r}")
        return _new(self.threads, ref, {
            "ref": ref, "topic": topic, "author": self._author(raw, f"thread {ref!r}"),
            "title": " ".join(_text(raw, "title", _limit(Thread, "title")).split()),
            "body": _text(raw, "body"), "created_at": _when(raw, "created_at"),
            "kind": _choice(raw, "kind", ThreadKind, ThreadKind.DISCUSSION), "tags": _tags(raw),
        })  # fmt: skip

    def check_post(self, raw: dict[str, Any]) -> dict[str, Any]:
        ref, thread = _text(raw, "ref", _limit(Post, "import_ref")), _text(raw, "thread")
        if thread not in self.threads:
            raise _Invalid(f"post {ref!r} names unknown thread {thread!r}")
        if not isinstance(accepted := raw.get("accepted", False), bool):
            raise _Invalid(f"post {ref!r}: 'accepted' must be true or false")
        # Whether the post exists already is asked per batch, in one query.
        return {
            "ref": ref, "thread": thread, "author": self._author(raw, f"post {ref!r}"),
            "body": _text(raw, "body"), "created_at": _when(raw, "created_at"),
            "accepted": accepted,
        }  # fmt: skip

    async def flush(self) -> None:
        """Write the queued lines in one transaction; the slow work happens before it."""
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _, kind, values in batch:
            lines[kind].append(values)
        await self.hash_passwords(lines["user"])
        lines["post"] = await self.new_posts(lines["post"])
        for values in lines["thread"] + lines["post"]:
            values["html"] = render_markdown(values["body"])
        try:
            async with write_transaction() as connection:
                await self.write(lines, connection)
        except BaseORMException as exc:
            where = f"lines {batch[0][0]}-{batch[-1][0]}"
            raise ImportError_(f"the database refused {where}: {exc}") from exc
        for kind, items in lines.items():
            self.summary.counts[kind].created += len(items)

    async def write(self, lines: dict[str, list[dict[str, Any]]], connection: Any) -> None:
        """Insert in dependency order; the caller holds the transaction."""
        organisations = [Organisation(**values) for values in lines["organisation"]]
        await _insert(Organisation, organisations, "slug", self.organisations)
        await _insert(User, [self._user(v) for v in lines["user"]], "username_key", self.users)
        # Topics list in `position` order: keep the file's order, after existing ones.
        topics = [Topic(position=self.next_position + i, **v) for i, v in enumerate(lines["topic"])]
        self.next_position += len(topics)
        await _insert(Topic, topics, "slug", self.topics)
        threads = [self._thread(v) for v in lines["thread"]]
        touched = await _insert(Thread, threads, "import_ref", self.threads)
        touched |= await self.write_posts(lines["thread"], lines["post"])
        await _recount(connection, _RECOUNT_THREADS, touched)

    async def hash_passwords(self, users: list[dict[str, Any]]) -> None:
        for values in users:
            password = values.pop("password")
            if password is not None and password not in self.hashes:
                # One hash per distinct password per run: argon2 is deliberately slow,
                # and seed files give many accounts the same known password. The
                # cost: accounts sharing a password share its salt and hash, so the
                # table shows who they are. Real members should import without
                # passwords and reset them; a reset gives a fresh hash.
                self.hashes[password] = await passwords.hash_password(password)
            values["password_hash"] = self.hashes[password] if password is not None else ""

    async def new_posts(self, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The posts not in the database yet, nor earlier in this batch."""
        present = set(await _ids(Post, "import_ref", {p["ref"] for p in posts}))
        fresh = []
        for values in posts:
            if values["ref"] in present:
                self.summary.counts["post"].skipped += 1
            else:
                present.add(values["ref"])
                fresh.append(values)
        return fresh

    def _user(self, values: dict[str, Any]) -> User:
        organisation = values.pop("organisation")
        return User(organisation_id=self.organisations.get(organisation), **values)

    def _thread(self, values: dict[str, Any]) -> Thread:
        author_id, topic_id = self.users[values["author"]], self.topics[values["topic"]]
        self.touched_users.add(author_id)  # type: ignore[arg-type]
        self.touched_topics.add(topic_id)  # type: ignore[arg-type]
        return Thread(
            topic_id=topic_id, author_id=author_id, kind=values["kind"], title=values["title"],
            slug=slugify(values["title"]), tags=values["tags"], created_at=values["created_at"],
            last_activity_at=values["created_at"], last_poster_id=author_id,
            import_ref=values["ref"],
        )  # fmt: skip

    def _post(self, values: dict[str, Any], thread_id: int, number: int) -> Post:
        author_id = self.users[values["author"]]
        self.touched_users.add(author_id)  # type: ignore[arg-type]
        return Post(
            thread_id=thread_id, author_id=author_id, number=number,
            body_source=values["body"], body_html=values["html"],
            created_at=values["created_at"], import_ref=values["ref"] if number > 1 else None,
        )  # fmt: skip

    async def write_posts(
        self, threads: list[dict[str, Any]], replies: list[dict[str, Any]]
    ) -> set[int]:
        """Insert opening posts and replies, numbered by time; return the replied threads."""
        rows = [self._post(v, self.threads[v["ref"]], 1) for v in threads]  # type: ignore[arg-type]
        by_thread: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for values in replies:
            by_thread[self.threads[values["thread"]]].append(values)  # type: ignore[index]
        # Locked (on PostgreSQL) so that a live reply can't take the same number.
        current = await Thread.filter(id__in=list(by_thread)).select_for_update().values_list(
            "id", "last_post_number", "topic_id"
        )
        for thread_id, last_number, topic_id in current:
            self.touched_topics.add(topic_id)
            posts = sorted(by_thread[thread_id], key=lambda v: v["created_at"])  # stable
            self._note_order(thread_id, last_number + 1, posts)
            rows += [self._post(v, thread_id, last_number + 1 + i) for i, v in enumerate(posts)]
        await Post.bulk_create(rows)
        accepted = {v["ref"]: self.threads[v["thread"]] for v in replies if v["accepted"]}
        for ref, post_id in (await _ids(Post, "import_ref", accepted)).items():
            await Thread.filter(id=accepted[ref]).update(accepted_post_id=post_id)
        return set(by_thread)

    def _note_order(self, thread_id: int, first_number: int, posts: list[dict[str, Any]]) -> None:
        """Remember threads given replies older than ones an earlier batch numbered."""
        if thread_id not in self.first_number:
            self.first_number[thread_id] = first_number
        elif posts[0]["created_at"] < self.latest[thread_id]:
            self.out_of_order.add(thread_id)
        newest = posts[-1]["created_at"]
        self.latest[thread_id] = max(self.latest.get(thread_id, newest), newest)

    async def finish(self) -> None:
        """Renumber out-of-order threads; recount the topics and users touched."""
        for thread_id in sorted(self.out_of_order):
            await self.renumber(thread_id, self.first_number[thread_id])
        async with write_transaction() as connection:
            await _recount(connection, _RECOUNT_TOPICS, self.touched_topics)
            await _recount(connection, _RECOUNT_USERS, self.touched_users)
        self.summary.seconds = time.perf_counter() - self.started

    async def renumber(self, thread_id: int, first_number: int) -> None:
        """Number this run's replies to a thread (from `first_number` on) in time order."""
        async with write_transaction():
            rows = await Post.filter(thread_id=thread_id, number__gte=first_number).order_by(
                "created_at", "id"
            ).values_list("id", "number")
            wanted = dict(zip([post_id for post_id, _ in rows], sorted(n for _, n in rows)))
            moved = [post_id for post_id, number in rows if wanted[post_id] != number]
            # Through negative numbers, so no two posts hold one number in between.
            for post_id in moved:
                await Post.filter(id=post_id).update(number=-wanted[post_id])
            if moved:
                await Post.filter(id__in=moved).update(number=F("number") * -1)
