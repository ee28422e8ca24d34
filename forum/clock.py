"""The time, as the application sees it.

Services that depend on the time (request expiry, unanswered questions) take a
`now` argument; views pass `request.app.state.clock()`, and the periodic sweep
asks the same clock. Tests replace `app.state.clock` to move time instead of
sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tortoise.timezone import now as _now

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time (UTC)."""
    return _now()
