"""What a run needs to know about the site under load: addresses and signed-in members.

Found once, after the server is up and before any load: the hot thread's address
(the dataset's ``t-hot``, 50 replies), its topic, the threads the write suite
replies to (``t-0``, ``t-1``... never the hot thread, whose page is measured), and
dataset members signed in through the real form.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import database, load, search, signin
from bench.load import Scenario
from bench.server import Server

HOT_REF = "t-hot"
REPLY_THREADS = 16  # the write suite spreads its replies over this many threads


@dataclass
class Site:
    hot_thread: str  # "/t/ID/slug"
    hot_topic: str  # "/topics/slug"
    reply_paths: list[str]  # "/t/ID/reply"
    reply_thread_ids: list[int]
    members: list[signin.SignedIn] = field(default_factory=list)
    words_file: Path | None = None  # bench.search's different words

    def describe(self) -> dict[str, object]:
        return {"hot_thread": self.hot_thread, "hot_topic": self.hot_topic,
                "reply_threads": self.reply_thread_ids,
                "members": [m.username for m in self.members]}


def discover(base_url: str, database_url: str, dataset: Path, *, members: int = 10,
             reply_threads: int = REPLY_THREADS) -> Site:
    refs = [HOT_REF] + [f"t-{i}" for i in range(reply_threads)]
    ids = database.thread_ids(database_url, refs)
    if HOT_REF not in ids:
        raise SystemExit("bench: the hot thread (t-hot) is not in the database")
    hot_id = ids[HOT_REF]
    hot_thread = _canonical(base_url, f"/t/{hot_id}")
    status, _ = load.fetch(base_url + hot_thread)
    if status != 200:
        raise SystemExit(f"bench: GET {hot_thread} (the hot thread) gave {status}")
    reply_ids = [ids[r] for r in refs[1:] if r in ids]
    site = Site(
        hot_thread=hot_thread,
        hot_topic=f"/topics/{database.topic_of_thread(database_url, hot_id)}",
        reply_paths=[f"/t/{i}/reply" for i in reply_ids],
        reply_thread_ids=reply_ids,
        words_file=search.write_varied_words(dataset, dataset.with_name("search-words.txt")),
    )
    for member in signin.members_with_passwords(dataset, members):
        site.members.append(signin.sign_in(base_url, member, hot_thread))
    print(f"Hot thread {hot_thread}, topic {site.hot_topic}; signed in "
          f"{len(site.members)} members through the form.", flush=True)
    return site


def _canonical(base_url: str, path: str) -> str:
    """Where `path` redirects to (one hop), or `path` itself."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        location = response.headers.get("Location")
    finally:
        connection.close()
    if response.status in (301, 302, 303, 307, 308) and location:
        return urlsplit(location).path or path
    return path


@dataclass
class Run:
    """What a suite that measures in its own way (write, latency) gets from the harness."""

    app: Server
    site: Site
    database_url: str
    workdir: Path
    measured: list[dict]  # every result so far, in order
    # The scenario behind each result, by "suite/name": headers (cookies) stay out of files.
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    extra_headers: tuple[str, ...] = ()  # sent with every GET (e.g. Accept-Encoding)
