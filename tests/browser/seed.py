"""Prepare the live server's database: `python -m tests.browser.seed DATABASE_URL`.

Run in a subprocess so the test process's ORM state is never touched. After the
topics, `forum seed-demo` adds the demo content (threads about TUPE, the LGPS,
admitted bodies, tender bonds...) and drains the search outbox, so the search
journeys have something real to find from the first request.
"""

from __future__ import annotations

import asyncio
import os
import sys

from tortoise import Tortoise

from forum import cli
from forum.db import tortoise_config
from forum.threads.models import Topic
from tests.database import prepare_database

TOPICS = [
    ("tupe-and-pensions", "TUPE & pensions",
     "Transferring staff, the LGPS, admitted body status and Fair Deal."),
    ("legal-form-and-governance", "Legal form & governance",
     "CICs, co-operatives, employee ownership trusts and staff councils."),
]


async def seed_topics(url: str) -> None:
    await Tortoise.init(config=tortoise_config(url))
    try:
        for position, (slug, name, description) in enumerate(TOPICS):
            await Topic.create(slug=slug, name=name, description=description, position=position)
    finally:
        await Tortoise.close_connections()


def main(url: str) -> None:
    prepare_database(url)
    asyncio.run(seed_topics(url))
    os.environ["DATABASE_URL"] = url  # what `forum` reads its Settings from
    # --force: the topics above count as content; the import keeps them (matched by slug).
    if cli.main(["seed-demo", "--force"]) != 0:
        raise SystemExit("forum seed-demo failed")


if __name__ == "__main__":
    main(sys.argv[1])
