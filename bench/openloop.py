"""An open-loop load generator: requests sent on a fixed schedule, whatever the server does.

wrk is closed loop: a connection sends its next request only when the previous
answer has come back, so when the server stalls the load drops with it and the
stall is under-sampled ("coordinated omission"). Here request *i* of a run at *R*
requests/s is due at ``start + i/R`` and its latency is measured from that due
time, not from when it was actually sent: a stalled server, or a generator that
fell behind, shows up as latency instead of disappearing.

The schedule is shared by several processes (process *k* of *P* sends requests
*k*, *k+P*, *k+2P*...), each an asyncio loop (uvloop when installed) with a pool of
keep-alive HTTP/1.1 connections on raw sockets. Each process reports how late it
started each request after its due time (the *send lag*): the harness uses it, and
the achieved rate, to say whether the generator kept up — a figure is only
believable when it did.

    python -m bench.openloop --url URL --rate R --seconds S --start-at EPOCH \
        --report FILE [--process K --processes P] [--header "Name: value"]...

writes its JSON report (latencies in milliseconds) to --report. `run` starts the processes and
merges what they report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PER_PROCESS_RATE = 2000  # requests/s one generator process is asked to send at most (it can do 4,000)
MAX_PROCESSES = 3
LAG_LIMIT_MS = 10.0  # p99 send lag above this: the generator did not keep up
RATE_TOLERANCE = 0.03  # achieved send rate this far below the target: did not keep up
CONNECTIONS_PER_PROCESS = 128
TIMEOUT_S = 10.0


def due_offsets(rate: float, seconds: float, process: int = 0, processes: int = 1) -> list[float]:
    """When (seconds after the start) process `process` of `processes` sends its requests.

    The whole run is ``round(rate * seconds)`` requests evenly spaced ``1/rate`` apart;
    process k takes every P-th of them starting with the k-th, so together the
    processes keep the single schedule.
    """
    if rate <= 0 or seconds <= 0:
        return []
    if not 0 <= process < processes:
        raise ValueError(f"process {process} is not one of {processes}")
    total = round(rate * seconds)
    return [i / rate for i in range(process, total, processes)]


def processes_for(rate: float, per_process: float = PER_PROCESS_RATE,
                  limit: int = MAX_PROCESSES) -> int:
    """How many generator processes to share `rate` among."""
    return max(1, min(limit, math.ceil(rate / per_process)))


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (nearest rank) of already sorted values; None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarise_latencies(values_ms: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values_ms)

    def at(q: float) -> float | None:
        value = percentile(ordered, q)
        return None if value is None else round(value, 2)

    return {
        "p50": at(50), "p90": at(90), "p95": at(95), "p99": at(99), "p999": at(99.9),
        "max": round(ordered[-1], 2) if ordered else None,
        "mean": round(sum(ordered) / len(ordered), 2) if ordered else None,
    }


def merge(reports: Sequence[dict], rate: float, seconds: float) -> dict:
    """One result from the processes' reports: latency percentiles over all requests,
    errors, the achieved rate and whether the generator kept up."""
    latencies = [v for r in reports for v in r["latencies_ms"]]
    lags = sorted(v for r in reports for v in r["lags_ms"])
    statuses: Counter[str] = Counter()
    for r in reports:
        statuses.update(r["statuses"])
    scheduled = sum(r["scheduled"] for r in reports)
    completed = len(latencies)
    socket_errors = sum(r["socket_errors"] for r in reports)
    bad_status = sum(n for status, n in statuses.items() if not 200 <= int(status) < 400)
    # The sends span from the first due time to the last start: the achieved send rate.
    span = max((r["last_start_s"] for r in reports), default=0.0)
    started = sum(r["started"] for r in reports)
    sent_rate = (started - 1) / span if span > 0 and started > 1 else 0.0
    lag_p99 = percentile(lags, 99)
    kept_up = (
        started == scheduled
        and lag_p99 is not None and lag_p99 <= LAG_LIMIT_MS
        and sent_rate >= rate * (1 - RATE_TOLERANCE)
    )
    return {
        "target_rate": round(rate, 1),
        "seconds": seconds,
        "scheduled": scheduled,
        "completed": completed,
        "sent_rate": round(sent_rate, 1),
        "completed_rate": round(completed / seconds, 1) if seconds else 0.0,
        "latency_ms": summarise_latencies(latencies),
        "send_lag_ms": {"p50": percentile(lags, 50), "p99": lag_p99,
                        "max": lags[-1] if lags else None},
        "generator_kept_up": kept_up,
        "errors": {"socket": socket_errors, "status": bad_status},
        "statuses": dict(sorted(statuses.items())),
        "processes": len(reports),
        "connections_opened": sum(r["connections_opened"] for r in reports),
    }


# -- one generator process -----------------------------------------------------------


@dataclass
class Target:
    host: str
    port: int
    request: bytes


def build_request(url: str, headers: Sequence[str] = ()) -> Target:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise SystemExit(f"bench: refusing to send load to {url!r}: 127.0.0.1 only")
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: bench-openloop"]
    lines += [h.strip() for h in headers]
    return Target(host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status and whether the connection can be used again."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, reusable = None, False, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            reusable = b"close" not in value.lower()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                break
            await reader.readexactly(size + 2)
    elif length is not None:
        await reader.readexactly(length)
    elif status not in (204, 304) and not 100 <= status < 200:
        await reader.read()  # delimited by the end of the connection
        reusable = False
    return status, reusable


async def drive(target: Target, offsets: Sequence[float], start_at: float,
                connections: int = CONNECTIONS_PER_PROCESS) -> dict:
    loop = asyncio.get_running_loop()
    start = loop.time() + (start_at - time.time())
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(connections)
    latencies: list[float] = []
    lags: list[float] = []
    statuses: Counter[str] = Counter()
    counts = {"socket_errors": 0, "connections_opened": 0}

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        connection = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), TIMEOUT_S
        )
        counts["connections_opened"] += 1
        return connection

    async def exchange(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
                       ) -> tuple[int, bool]:
        reader, writer = connection
        writer.write(target.request)
        return await asyncio.wait_for(read_response(reader), TIMEOUT_S)

    async def one(due: float) -> None:
        lags.append((loop.time() - due) * 1000)
        async with slots:
            connection = idle.pop() if idle else None
            try:
                if connection is None:
                    connection = await connect()
                    status, reusable = await exchange(connection)
                else:
                    try:
                        status, reusable = await exchange(connection)
                    except (asyncio.IncompleteReadError, ConnectionError):
                        # The server closed this idle keep-alive connection (its
                        # keep-alive timeout) as the request went out: like any HTTP
                        # client, send the request again on a new connection.
                        connection[1].close()
                        connection = await connect()
                        status, reusable = await exchange(connection)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                counts["socket_errors"] += 1
                if connection is not None:
                    connection[1].close()
                return
            # Measured from the due time: waiting for a slot or a late send counts.
            latencies.append((loop.time() - due) * 1000)
            statuses[str(status)] += 1
            if reusable:
                idle.append(connection)
            else:
                connection[1].close()

    tasks = set()
    last_start = 0.0
    for offset in offsets:
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        last_start = loop.time() - start
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=TIMEOUT_S + 5)
    for _, writer in idle:
        writer.close()
    return {
        "scheduled": len(offsets), "started": len(lags), "last_start_s": last_start,
        "latencies_ms": [round(v, 3) for v in latencies], "lags_ms": [round(v, 3) for v in lags],
        "statuses": dict(statuses), **counts,
    }


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.openloop")
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests/s of the whole run")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--start-at", type=float, required=True, help="Unix time of the start")
    parser.add_argument("--process", type=int, default=0)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--connections", type=int, default=CONNECTIONS_PER_PROCESS)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--report", type=Path, required=True, help="file the JSON report goes to")
    args = parser.parse_args(argv)
    _event_loop_policy()
    target = build_request(args.url, args.header)
    offsets = due_offsets(args.rate, args.seconds, args.process, args.processes)
    report = asyncio.run(drive(target, offsets, args.start_at, args.connections))
    # A file, not stdout: a report of a few hundred kilobytes written to a pipe the
    # event loop left non-blocking was cut at the pipe's 64 KiB.
    args.report.write_text(json.dumps(report))
    return 0


# -- the harness's side --------------------------------------------------------------


def run(url: str, rate: float, seconds: float, headers: Sequence[str] = (),
        processes: int | None = None) -> dict:
    """Send GET `url` at `rate` requests/s for `seconds` from separate processes; merged figures."""
    count = processes or processes_for(rate)
    start_at = time.time() + 1.0 + 0.2 * count  # every process is up and waiting by then
    with tempfile.TemporaryDirectory(prefix="openloop-") as folder:
        files = [Path(folder) / f"report-{k}.json" for k in range(count)]
        commands = [
            [sys.executable, "-m", "bench.openloop", "--url", url, "--rate", f"{rate:.3f}",
             "--seconds", str(seconds), "--start-at", f"{start_at:.6f}", "--process", str(k),
             "--processes", str(count), "--report", str(files[k]),
             *(arg for h in headers for arg in ("--header", h))]
            for k in range(count)
        ]
        children = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=Path(__file__).resolve().parent.parent)
                    for c in commands]
        reports = []
        for child, report in zip(children, files):
            _, err = child.communicate(timeout=seconds + TIMEOUT_S + 60)
            if child.returncode != 0 or not report.exists():
                raise SystemExit(f"bench: the open-loop generator failed ({child.returncode}):\n{err}")
            reports.append(json.loads(report.read_text()))
    return merge(reports, rate, seconds)


if __name__ == "__main__":
    sys.exit(main())
