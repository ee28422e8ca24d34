"""The write suite: signed-in members post replies, CSRF included, at 16 connections.

Ten dataset members sign in through the form (`bench.site`); `bench/wrk_write.lua`
then POSTs replies with each member's session cookie and the CSRF token bound to
it, spread over 16 ordinary threads (never the hot thread, whose page is
measured). A reply counts as posted when the server answers 303; the Location
of every 303 names the post (thread and number). Afterwards every confirmed post
is looked up in the database: a confirmed post that is not there is *lost*.
Posts in the database that no 303 confirmed are the requests in flight when wrk
stopped (at most one per connection): reported, not counted as errors.

The posting rate limit (``POSTS_PER_MINUTE``, 10 per member per minute by default)
and the new-member limits (imported members joined minutes ago: 10 posts and 5
links a day, and every bench reply holds a link) would turn this into a test of
the limiters: the bench server runs with all three set to `UNTHROTTLED` and the
result says so (``server.environment``). Any other refusal is still an error: the
body of the first answer of each refused status is kept and printed, so that a
422 says why.

Targets on SQLite, 2 workers: at least 200 replies per second sustained, zero
errors, zero lost posts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlencode

from bench import database, load
from bench.site import Run

NAME = "write"
CONNECTIONS = 16
SECONDS = 20
SCRIPT = Path(__file__).with_name("wrk_write.lua")
UNTHROTTLED = 1_000_000  # POSTS_PER_MINUTE for the bench server
SERVER_ENV = {
    "POSTS_PER_MINUTE": str(UNTHROTTLED),
    "NEW_MEMBER_POSTS_PER_DAY": str(UNTHROTTLED),
    "NEW_MEMBER_LINKS_PER_DAY": str(UNTHROTTLED),
}
REPLIES_TARGET = 200.0
SCENARIO = "reply as signed-in members"
PROBE_BODY = "A reply sent once to count the SQL statements of posting one."

_LOCATION = re.compile(r"^/t/(\d+)/[^#?]*(?:\?[^#]*)?#post-(\d+)$")
_REFUSED_HEADER = re.compile(r"^=== (\d{3})$", re.MULTILINE)
# Where the forms put their messages (templates/partials/forms.html).
_FORM_ERROR = re.compile(
    r'<p class="field-error"[^>]*>(.*?)</p>|<div class="error-summary".*?<ul>(.*?)</ul>', re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")


def confirmed_posts(lines: list[str]) -> list[tuple[int, int]]:
    """(thread id, post number) of every Location a 303 answered with."""
    found = []
    for line in lines:
        match = _LOCATION.match(line.strip())
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return found


def refusal_reasons(text: str, limit: int = 300) -> dict[str, str]:
    """Why replies were refused: per status, the first answer's form errors (else its start).

    `text` is what wrk_write.lua wrote: "=== <status>" lines, each followed by the
    body of the first answer with that status.
    """
    parts = _REFUSED_HEADER.split(text)
    reasons = {}
    for status, body in zip(parts[1::2], parts[2::2]):
        messages = [" ".join(_TAG.sub(" ", a or b).split()).removeprefix("Error: ")
                    for a, b in _FORM_ERROR.findall(body)]
        reason = "; ".join(dict.fromkeys(m for m in messages if m))
        reasons[status] = (reason or " ".join(_TAG.sub(" ", body).split()))[:limit]
    return reasons


def check_posts(confirmed: list[tuple[int, int]], present: set[tuple[int, int]],
                new_posts: int) -> dict[str, int]:
    """Confirmed posts against the database: lost ones, duplicates, unconfirmed extras."""
    unique = set(confirmed)
    return {
        "confirmed": len(confirmed),
        "new_posts_in_database": new_posts,
        "lost": len(unique - present),
        "duplicate_confirmations": len(confirmed) - len(unique),
        "unconfirmed_in_database": new_posts - len(unique & present),
    }


def run_suite(run: Run, settings: load.LoadSettings) -> list[dict]:
    site = run.site
    identities = run.workdir / "write-identities.tsv"
    identities.write_text("".join(
        f"{m.cookie}\t{m.csrf_token}\t{path}\n" for m in site.members for path in site.reply_paths
    ))
    locations = {"warmup": run.workdir / "write-warmup.txt", "timed": run.workdir / "write.txt"}
    refusals = {name: path.with_name(path.stem + "-refused.txt") for name, path in locations.items()}
    env = {name: {"BENCH_WRK_IDENTITIES": str(identities), "BENCH_WRK_LOCATIONS": str(path),
                  "BENCH_WRK_REFUSED": str(refusals[name])}
           for name, path in locations.items()}
    scenario = load.Scenario(
        SCENARIO, site.reply_paths[0],
        f"{len(site.members)} members, {len(site.reply_paths)} threads, POST + CSRF token",
    )
    before = database.post_count(run.database_url)
    print(f"Load: {scenario.name}  POST /t/ID/reply  ({settings.connections} connections, "
          f"{settings.warmup_seconds}+{settings.seconds} s; "
          + " ".join(f"{k}={v}" for k, v in SERVER_ENV.items()) + ")",
          flush=True)
    result = load.measure(run.app, scenario, settings, script=SCRIPT, env=env["timed"],
                          warmup_env=env["warmup"])
    after = _settled_post_count(run.database_url)
    confirmed = [p for path in locations.values() if path.exists()
                 for p in confirmed_posts(path.read_text().splitlines())]
    present = database.post_numbers(run.database_url, site.reply_thread_ids)
    refused: dict[str, str] = {}
    for path in refusals.values():
        if path.exists():
            refused = refusal_reasons(path.read_text(errors="replace")) | refused
    posted = result["statuses"].get("303", 0)
    answered_303 = posted + result.get("warmup", {}).get("statuses", {}).get("303", 0)
    result |= {
        "suite": NAME, "signed_in": True,
        "replies_per_second": round(posted / result["seconds"], 1) if result["seconds"] else 0.0,
        "write": check_posts(confirmed, present, after - before) | {
            "posts_per_minute_setting": UNTHROTTLED,
            "limits_lifted": dict(SERVER_ENV),
            # Per refused status, why (the first such answer's form errors).
            "refused": refused,
            # Without every 303's Location the lost-post check would prove nothing.
            "every_303_recorded": answered_303 == len(confirmed),
        },
    }
    write = result["write"]
    print(f"  {result['replies_per_second']:,.1f} replies/s  errors {load.error_count(result)}  "
          f"confirmed {write['confirmed']:,}  in the database {write['new_posts_in_database']:,}"
          f"  lost {write['lost']}", flush=True)
    for status, reason in refused.items():
        print(f"  refused with {status}: {reason}", flush=True)
    return [result]


def _settled_post_count(database_url: str, wait: float = 10.0) -> int:
    """The post count once requests still in flight when wrk stopped have finished."""
    deadline = time.monotonic() + wait
    count = database.post_count(database_url)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        again = database.post_count(database_url)
        if again == count:
            return count
        count = again
    return count


def probe(run: Run) -> tuple[str, dict]:
    """The request the SQL counter sends for this suite: one reply, as the load does."""
    member = run.site.members[0]
    return run.site.reply_paths[0], {
        "method": "POST", "headers": (member.header,), "repeat": False,
        "body": urlencode({"csrf_token": member.csrf_token, "body": PROBE_BODY}),
    }


def targets(build: dict, measured: list[dict]) -> list[dict]:
    found = []
    for result in measured:
        if result.get("suite") != NAME:
            continue
        errors = load.error_count(result)
        found += [
            {"name": "replies per second (SQLite target)", "value": result["replies_per_second"],
             "limit": REPLIES_TARGET, "unit": "/s", "op": ">=",
             "met": result["replies_per_second"] >= REPLIES_TARGET},
            {"name": "write errors", "value": errors, "limit": 0, "unit": "", "op": "==",
             "met": errors == 0},
            {"name": "lost posts" + ("" if result["write"]["every_303_recorded"]
                                     else " (NOT every 303's Location was recorded)"),
             "value": result["write"]["lost"], "limit": 0, "unit": "", "op": "==",
             "met": result["write"]["lost"] == 0 and result["write"]["every_303_recorded"]},
        ]
    return found
