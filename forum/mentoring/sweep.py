"""The periodic sweep: expire stale mentor requests and offer unanswered questions.

`forum worker` runs it; embedded deployments run it in the web process (see
`forum.app`). Both ask the application's clock, so tests move time instead of
sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from forum.clock import Clock
from forum.mentoring.asking import offer_unanswered_questions
from forum.mentoring.requests import expire_stale_requests
from forum.settings import Settings

log = logging.getLogger("forum.sweep")


@dataclass
class SweepResult:
    expired: int
    offered: int


async def sweep_once(clock: Clock, settings: Settings) -> SweepResult:
    """One pass of every time-driven job, at the clock's current time."""
    now = clock()
    expired = await expire_stale_requests(now)
    offered = await offer_unanswered_questions(now, after_hours=settings.unanswered_after_hours)
    if expired or offered:
        log.info("sweep: %d requests expired, %d questions offered to mentors", expired, offered)
    return SweepResult(expired=expired, offered=offered)


async def run_forever(clock: Clock, settings: Settings) -> None:
    """Sweep every `sweep_interval_seconds` until cancelled; a failure waits for the next pass."""
    while True:
        try:
            await sweep_once(clock, settings)
        except Exception:  # the next pass retries; the web process must not die of it
            log.exception("sweep failed")
        await asyncio.sleep(settings.sweep_interval_seconds)


@contextlib.asynccontextmanager
async def embedded_sweeping(clock: Clock, settings: Settings) -> AsyncIterator[None]:
    """Run the sweep in this process for as long as the block runs."""
    task = asyncio.create_task(run_forever(clock, settings), name="mentoring-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
