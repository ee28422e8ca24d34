"""Sliding-window rate limits kept in memory, one limiter per purpose.

Each worker process keeps its own counts, so with N workers a client gets at most
N times the limit: enough to stop password guessing and post floods.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Allows `limit` hits per `window` seconds for each key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            # Forget idle keys so the table does not grow without bound.
            del self._hits[key]
            hits = deque()
        return hits

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        hits = self._recent(key)
        if len(hits) < self.limit:
            return 0
        return max(1, int(hits[0] + self.window - self.clock()) + 1)

    def hit(self, key: str) -> None:
        """Count one attempt for `key`."""
        hits = self._recent(key)
        hits.append(self.clock())
        self._hits[key] = hits

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
