"""One import run: checking lines against what exists, then writing them in batches."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tortoise.exceptions import BaseORMException
from tortoise.expressions import F
from tortoise.timezone import now

from forum.accounts import passwords
from forum.accounts.models import Role, User
from forum.accounts.services import EMAIL_RE, USERNAME_RE
from forum.content.markdown import count_links, render_markdown
from forum.content.slugs import slugify
from forum.db import write_transaction
from forum.importing.bulk import _ids, _insert
from forum.importing.lines import (
    ORGANISATION_DETAILS,
    _choice,
    _Invalid,
    _limit,
    _parse,
    _slug,
    _tags,
    _text,
    _when,
)
from forum.importing.people import check_dates, check_mentor, write_mentor_profiles
from forum.importing.playbooks import check_playbook, write_playbook
from forum.importing.recount import _RECOUNT_THREADS, _RECOUNT_TOPICS, _RECOUNT_USERS, _recount
from forum.importing.summary import ImportError_, ImportSummary
from forum.people.models import Organisation
from forum.playbooks.documents import playbook_doc_id
from forum.playbooks.models import Playbook
from forum.threads.documents import post_doc_id, thread_doc_id
from forum.threads.models import Post, Thread, ThreadKind, Topic
from search_index import outbox


def _new(known: dict[str, int | None], key: str, values: dict[str, Any]) -> dict[str, Any] | None:
    """`values` to create, or None to skip a `key` the database or an earlier line has."""
    if key in known:
        return None
    known[key] = None  # defined from here on; its id comes when the batch is written
    return values


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
        self.playbooks: dict[str, int | None] = {}
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
        self.playbooks = dict(await Playbook.all().values_list("slug", "id"))

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
        kind, raw = _parse(raw_line)
        values = getattr(self, f"check_{kind}")(raw)
        if values is None:
            self.summary.counts[kind].skipped += 1
        else:
            self.batch.append((number, kind, values))

    def check_organisation(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        values = {key: _text(raw, key, _limit(Organisation, key), required=False)
                  for key in ORGANISATION_DETAILS}  # fmt: skip
        values |= {"slug": _slug(raw), "name": _text(raw, "name", _limit(Organisation, "name"))}
        values |= check_dates(raw)
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
        role = _choice(raw, "role", Role, Role.MEMBER)
        admin = raw.get("organisation_admin", False)
        if not isinstance(admin, bool):
            raise _Invalid(f"user {username!r}: 'organisation_admin' must be true or false")
        return _new(self.users, key, {
            "username": username, "username_key": key, "email": email,
            "display_name": _text(raw, "display_name", 60, required=False) or username,
            "role": role, "organisation": organisation,
            "bio": _text(raw, "bio", required=False), "password": password,
            "region": _text(raw, "region", 80, required=False), "is_organisation_admin": admin,
            "mentor": check_mentor(raw, role),
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

    def check_playbook(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        if _slug(raw) in self.playbooks:
            return None  # playbooks are matched by slug: the site's copy stays
        values = check_playbook(raw, self.users, self.topics, self.threads)
        return _new(self.playbooks, values["slug"], values)

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
        mentors = {v["username_key"]: v["mentor"] for v in lines["user"] if v.get("mentor") is not None}
        await _insert(User, [self._user(v) for v in lines["user"]], "username_key", self.users)
        await write_mentor_profiles(mentors, self.users, now())
        # Topics list in `position` order: keep the file's order, after existing ones.
        topics = [Topic(position=self.next_position + i, **v) for i, v in enumerate(lines["topic"])]
        self.next_position += len(topics)
        await _insert(Topic, topics, "slug", self.topics)
        threads = [self._thread(v) for v in lines["thread"]]
        touched = await _insert(Thread, threads, "import_ref", self.threads)
        touched |= await self.write_posts(lines["thread"], lines["post"])
        await _recount(connection, _RECOUNT_THREADS, touched)
        # Same transaction as the rows: the search index learns of every one of them.
        replies = await _ids(Post, "import_ref", [v["ref"] for v in lines["post"]])
        playbooks = []
        for values in lines["playbook"]:
            playbooks.append(await write_playbook(values, self.users, self.topics, self.threads))
            self.playbooks[values["slug"]] = playbooks[-1]
        await outbox.enqueue(
            [thread_doc_id(i) for i in sorted(touched)] + [post_doc_id(i) for i in replies.values()]
            + [playbook_doc_id(i) for i in playbooks]
        )

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
        values.pop("mentor", None)
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
            link_count=count_links(values["html"]), created_at=values["created_at"], import_ref=values["ref"] if number > 1 else None,
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
                # A reply's search document links to its number.
                await outbox.enqueue([post_doc_id(post_id) for post_id in moved])
