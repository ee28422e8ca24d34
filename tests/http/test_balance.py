"""Keep-alive connections shared between the web workers (`forum.http.balance`)."""

from __future__ import annotations

import collections
import contextlib
import http.client
import multiprocessing
import os
import signal
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import server
from forum.http import balance

SPAWN = multiprocessing.get_context("spawn")


def _hold(path: str, workers: int, count: int, ready, done) -> None:  # type: ignore[no-untyped-def]
    """A worker, in its own process: take a slot, hold `count` connections until told."""
    shares = balance.ConnectionShares(Path(path), workers)
    shares.publish(count)
    ready.put(shares.slot)
    done.wait(30)
    shares.close()


class Worker:
    """Another process holding a slot of the counts file, as a sibling worker does."""

    def __init__(self, path: Path, workers: int, count: int) -> None:
        self.ready, self.done = SPAWN.Queue(), SPAWN.Event()
        self.process = SPAWN.Process(
            target=_hold, args=(str(path), workers, count, self.ready, self.done)
        )
        self.process.start()
        self.slot = self.ready.get(timeout=30)

    def stop(self) -> None:
        if self.process.exitcode is None:
            # Not once killed: setting the event would wait for the dead waiter to wake.
            self.done.set()
        self.process.join(30)

    def kill(self) -> None:
        self.process.kill()
        self.process.join(30)


@contextlib.contextmanager
def two_workers(path: Path, count: int) -> Iterator[tuple[Worker, balance.ConnectionShares]]:
    """Another worker holding `count` connections, and this process's own slot."""
    other = Worker(path, 2, count=count)
    mine = balance.ConnectionShares(path, 2)
    try:
        yield other, mine
    finally:
        other.stop()
        mine.close()


def test_each_worker_takes_its_own_slot_and_a_dead_workers_slot_is_taken_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "counts"
    with two_workers(path, count=10) as (first, mine):
        assert {first.slot, mine.slot} == {0, 1}
        # A third process finds no free slot: it serves, but never closes a connection.
        third = Worker(path, 2, count=0)
        third.stop()
        assert third.slot is None
        mine.publish(6)
        assert not mine.over_share(6)  # 16 connections: a share of 8 each

        first.kill()  # no chance to give its slot back
        # Its slot is free: a replacement takes it and forgets the 10.
        replacement = Worker(path, 2, count=0)
        try:
            assert replacement.slot == first.slot
            assert mine.over_share(6)  # 6 connections, all here: a share of 3
        finally:
            replacement.stop()


def test_a_worker_that_found_every_slot_taken_takes_one_once_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in a SIGHUP restart: the new worker starts before the old one stops.
    path = tmp_path / "counts"
    staying, old = Worker(path, 2, count=0), Worker(path, 2, count=1)
    new = balance.ConnectionShares(path, 2)
    try:
        assert new.slot is None
        new.publish(5)
        assert not new.over_share(5)  # without a slot, it closes nothing
        old.stop()
        new.publish(5)
        assert new.slot is None  # it tries again a second later, not on every change
        later = types.SimpleNamespace(monotonic=lambda: time.monotonic() + 2)
        monkeypatch.setattr(balance, "time", later)
        new.publish(5)
        assert new.slot == old.slot
        assert new.over_share(5)  # all 5 here: a share of 3
    finally:
        staying.stop()
        old.stop()
        new.close()
    assert not path.exists()  # the last out, though it started without a slot


def test_a_worker_is_over_its_share_only_beyond_the_total_divided_rounded_up(
    tmp_path: Path,
) -> None:
    with two_workers(tmp_path / "counts", count=3) as (_, mine):
        for held, over in [(0, False), (3, False), (4, False), (5, True), (8, True)]:
            mine.publish(held)
            assert mine.over_share(held) is over, held


def test_the_last_worker_to_stop_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "counts"
    other = Worker(path, 2, count=1)
    mine = balance.ConnectionShares(path, 2)
    mine.close()
    assert path.exists()  # the other worker still serves
    other.stop()
    assert not path.exists()
    mine.close()  # twice: nothing more


def test_files_of_servers_that_are_gone_are_swept(tmp_path: Path) -> None:
    gone = SPAWN.Process(target=int)
    gone.start()
    gone.join()
    stale = balance.shares_path(gone.pid, tmp_path)
    live = balance.shares_path(os.getpid(), tmp_path)
    other = tmp_path / "notes.txt"
    for path in (stale, live, other):
        path.write_bytes(b"")
    balance.sweep(tmp_path)
    assert not stale.exists()
    assert live.exists() and other.exists()


def test_a_single_worker_keeps_every_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(balance, "_opened", {})
    assert balance.worker_shares(1) is None


def test_a_worker_opens_its_slot_once_and_not_again_once_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(balance, "_opened", {})
    monkeypatch.setattr(balance, "shares_folder", lambda: tmp_path)
    shares = balance.worker_shares(2)
    assert shares is not None and balance.worker_shares(2) is shares
    assert [path.name for path in tmp_path.iterdir()] == [f"forum-web-{os.getppid()}.connections"]

    balance.release()  # the application stops; connections may still close after it

    assert balance.worker_shares(2) is None
    assert list(tmp_path.iterdir()) == []


# The web process, as the Procfile starts it, with two workers.

def _workers(web: server.Server) -> list[int]:
    return [int(child["pid"]) for child in web.workers()
            if "resource_tracker" not in str(child["command"])]


def _held(web: server.Server, workers: list[int]) -> dict[int, int]:
    """How many established connections to the server each worker holds, read from
    /proc as `ss -p` reads it."""
    port = f"{web.port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port}") and fields[3] == "01":  # local port, ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    held = {}
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        held[pid] = sum(1 for fd in fds.iterdir() if os.readlink(fd) in inodes)
    return held


def _get(connection: http.client.HTTPConnection) -> bool:
    """GET /healthz on `connection`; whether the server asked to close it."""
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    return (response.getheader("connection") or "").lower() == "close"


def test_connections_piled_on_one_worker_spread_out_evenly(
    database: tuple[str, list[str]], tmp_path: Path,
) -> None:
    with server.running(database[0], tmp_path, workers=2) as web:
        workers = _workers(web)
        assert len(workers) == 2
        stopped, awake = workers
        host, port = server.HOST, web.port
        # A stopped worker accepts nothing: the eight connections all go to the other.
        os.kill(stopped, signal.SIGSTOP)
        try:
            connections = [http.client.HTTPConnection(host, port, timeout=10) for _ in range(8)]
            closes = sum(_get(connection) for connection in connections)
        finally:
            os.kill(stopped, signal.SIGCONT)
        held = _held(web, workers)
        assert held == {stopped: 0, awake: 8 - closes}
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                for connection in connections:
                    _get(connection)
                held = _held(web, workers)
                if sorted(held.values()) == [4, 4]:
                    break
            assert sorted(held.values()) == [4, 4], held
            # Once even, nothing more is closed.
            closed = collections.Counter(
                _get(connection) for _ in range(10) for connection in connections
            )
            assert closed == {False: 80}
            assert sorted(_held(web, workers).values()) == [4, 4]
        finally:
            for connection in connections:
                connection.close()
