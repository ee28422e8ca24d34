"""Keep-alive connections shared evenly between the web workers.

uvicorn's workers accept from one listening socket, and a keep-alive connection
stays with the worker that accepted it. The event loop accepts every waiting
connection at once, so when a client opens several together (a proxy's pool of
upstream connections, a load balancer), whichever worker wakes first takes most
of them. A 6/2 split of eight busy connections gives one worker three times the
queue of the other: the requests on it wait while the other worker idles.

Here each worker publishes how many connections it holds in a small file that
all the workers map, one slot each. A worker holding more than its share of the
total answers the next request it reads with ``Connection: close``; the client
opens a new connection, which the least busy worker is the likeliest to accept
(a busy worker is not waiting on the socket). A worker at or under its share
closes nothing, so a single worker, or evenly spread connections, see no change.

The Procfile and ``forum serve`` name the protocol (`PROTOCOL`) to uvicorn.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "forum.http.balance:BalancedHttpToolsProtocol"  # uvicorn's --http
SLOT = 8  # bytes: one signed 64-bit count per worker
CLAIM_RETRY_SECONDS = 1.0


class ConnectionShares:
    """The open-connection counts of one server's workers, in a file all of them map.

    Each worker holds a POSIX lock on its own slot for as long as it lives, so a
    slot whose lock is free belongs to no one: a worker that replaces a dead one
    takes it over, and its stale count is zeroed. When uvicorn restarts its workers
    (SIGHUP), each new one starts before the old one stops and may find every slot
    taken: until it has one it closes nothing, and it tries again at most once a
    second as its connections come and go.
    """

    def __init__(self, path: Path, workers: int) -> None:
        self.path = path
        self.workers = workers
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = workers * SLOT
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._counts = memoryview(self._map).cast("q")
        self._closed = False
        self._next_claim = 0.0
        self.slot = self._claim()

    def _claim(self) -> int | None:
        """Lock the first free slot and zero the counts of every other free one."""
        mine = None
        for slot in range(self.workers):
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, SLOT, slot * SLOT)
            except OSError:
                continue  # a live worker's
            self._counts[slot] = 0
            if mine is None:
                mine = slot
            else:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, SLOT, slot * SLOT)
        if mine is None:
            self._next_claim = time.monotonic() + CLAIM_RETRY_SECONDS
        return mine

    def publish(self, count: int) -> None:
        """Record that this worker now holds `count` connections."""
        if self.slot is None and not self._closed and time.monotonic() >= self._next_claim:
            self.slot = self._claim()
        if self.slot is not None:
            # An aligned 8-byte store: readers see the old count or the new one.
            self._counts[self.slot] = count

    def over_share(self, count: int) -> bool:
        """Whether `count` connections are more than this worker's share of all of them."""
        if self.slot is None:
            return False
        total = sum(self._counts)
        share = -(-total // self.workers)  # rounded up: 7 over 2 workers allows 4 and 3
        return count > share

    def close(self) -> None:
        """Give up this worker's slot; the last worker out removes the file."""
        if self._closed:
            return
        self._closed = True
        if self.slot is not None:
            self.publish(0)
            # Let go of the slot first: workers stop together, and each must see the
            # others' slots free for the last of them to find the whole file free.
            fcntl.lockf(self._fd, fcntl.LOCK_UN, SLOT, self.slot * SLOT)
            self.slot = None
        with contextlib.suppress(OSError):
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no other worker holds a slot
            self.path.unlink(missing_ok=True)
        self._counts.release()
        self._map.close()
        os.close(self._fd)  # releases the locks


PREFIX, SUFFIX = "forum-web-", ".connections"


def shares_folder() -> Path:
    # A memory-backed directory where there is one: the file is read on every request.
    return Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())


def shares_path(server_pid: int, folder: Path | None = None) -> Path:
    """The counts file of the server whose supervising process is `server_pid`."""
    return (folder or shares_folder()) / f"{PREFIX}{server_pid}{SUFFIX}"


def sweep(folder: Path | None = None) -> None:
    """Remove the counts files of servers that are gone (killed before their
    workers could remove it)."""
    for path in (folder or shares_folder()).glob(f"{PREFIX}*{SUFFIX}"):
        pid = path.name.removeprefix(PREFIX).removesuffix(SUFFIX)
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


# This process's shares, opened on its first connection (None: not balancing).
_opened: dict[str, ConnectionShares | None] = {}


def worker_shares(workers: int) -> ConnectionShares | None:
    """This worker's shares, or None when it is the only worker."""
    try:
        return _opened["shares"]
    except KeyError:
        pass
    shares = None
    if workers > 1:
        try:
            sweep()
            # uvicorn's supervisor starts every worker, so their parent names the server.
            shares = ConnectionShares(shares_path(os.getppid()), workers)
        except OSError:
            pass  # no shared file: the worker serves unbalanced rather than not at all
    _opened["shares"] = shares
    return shares


def release() -> None:
    """Give up this worker's slot, if it has one (called as the application stops).

    Not at exit: uvicorn ends a worker by raising the signal that stopped it
    again, so exit handlers do not run.
    """
    shares = _opened.get("shares")
    # None, not removed: a connection that closes after this must not open the file again.
    _opened["shares"] = None
    if shares is not None:
        shares.close()


class BalancedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing keep-alive connections a worker holds
    beyond its share (see the module's docstring)."""

    # Connections this worker has told to close, not yet closed: they no longer
    # count towards its share, so that one excess connection closes only once.
    _leaving: ClassVar[set[BalancedHttpToolsProtocol]] = set()

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        super().connection_made(transport)
        self._publish()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._leaving.discard(self)
        self._publish()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is None or cycle.response_started or not cycle.keep_alive or self in self._leaving:
            return
        shares = worker_shares(self.config.workers)
        if shares is not None and shares.over_share(self._held()):
            cycle.keep_alive = False  # uvicorn answers with Connection: close
            self._leaving.add(self)
            shares.publish(self._held())

    def _held(self) -> int:
        return len(self.connections) - len(self._leaving)

    def _publish(self) -> None:
        shares = worker_shares(self.config.workers)
        if shares is not None:
            shares.publish(self._held())
