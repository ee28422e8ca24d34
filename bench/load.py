"""The load generator: ``wrk`` (Debian's package), in its own process, closed loop.

`wrk` keeps `connections` requests in flight for the whole run (each connection
sends its next request when the previous answer arrives). `bench/wrk_report.lua`
makes it report its latency distribution, request count and the count of every
response status as JSON; errors are socket errors plus answers that are neither
2xx nor 3xx. `bench/wrk_write.lua` (the write suite) posts replies instead.
Latency at a fixed rate (open loop) is `bench.openloop`'s job.

Only loopback URLs are accepted.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import machine
from bench.server import Server

SCRIPT = Path(__file__).with_name("wrk_report.lua")
INSTALL_HINT = "install it from Debian's packages: apt-get install -y wrk"


@dataclass(frozen=True)
class Scenario:
    """One URL to load. `headers` are "Name: value" strings sent with every request;
    `check` looks at one answer before the load: (what the page shows, what is wrong)."""

    name: str
    path: str
    description: str = ""
    headers: tuple[str, ...] = field(default=())
    # A wrk script of its own (default `wrk_report.lua`) and what it reads from its environment.
    script: Path | None = field(default=None, compare=False)
    env: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    check: Callable[[int, bytes], tuple[int | None, str | None]] | None = field(
        default=None, compare=False, repr=False,
    )


@dataclass(frozen=True)
class LoadSettings:
    connections: int = 16
    seconds: int = 20
    warmup_seconds: int = 3
    threads: int = 2  # wrk threads (each drives connections/threads connections)

    def describe(self) -> dict[str, int]:
        return {"connections": self.connections, "seconds": self.seconds,
                "warmup_seconds": self.warmup_seconds, "threads": self.threads}


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(f"bench: the load generator `wrk` is missing: {INSTALL_HINT}")
    return path


def wrk_version() -> str:
    result = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise SystemExit(f"bench: refusing to send load to {url!r}: 127.0.0.1 only")


def fetch(url: str, headers: tuple[str, ...] = (), timeout: float = 30.0) -> tuple[int, bytes]:
    """One request (preflight checks): the status and the body."""
    require_loopback(url)
    request = urllib.request.Request(url)
    for header in headers:
        name, _, value = header.partition(":")
        request.add_header(name.strip(), value.strip())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _decoded(response.headers, response.read())
    except urllib.error.HTTPError as error:
        return error.code, _decoded(error.headers, error.read())


def _decoded(headers, body: bytes) -> bytes:
    """The body as the page shows it (answers to ``Accept-Encoding: gzip`` are compressed)."""
    if (headers.get("Content-Encoding") or "").strip().lower() == "gzip":
        return gzip.decompress(body)
    return body


def run_wrk(
    url: str, settings: LoadSettings, seconds: int, headers: tuple[str, ...] = (),
    script: Path = SCRIPT, env: dict[str, str] | None = None,
) -> dict:
    """Drive `url` for `seconds`; wrk's figures as a dict (see wrk_report.lua).

    `env` is added to wrk's environment (the write script reads its files from there).
    """
    require_loopback(url)
    threads = max(1, min(settings.threads, settings.connections))
    command = [
        wrk_binary(), f"-t{threads}", f"-c{settings.connections}", f"-d{seconds}s",
        "--timeout", "10s", "-s", str(script), url, "--", *headers,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60,
        env=None if env is None else {**os.environ, **env},
    )
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line.removeprefix("WRK_JSON "))
    raise SystemExit(
        f"bench: wrk gave no report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


def measure(
    server: Server, scenario: Scenario, settings: LoadSettings, *, script: Path = SCRIPT,
    env: dict[str, str] | None = None, warmup_env: dict[str, str] | None = None,
) -> dict:
    """Warm up, then load `scenario` and return its figures, CPU accounting and the
    workers' resident memory included."""
    url = server.base_url + scenario.path
    if scenario.script is not None:
        script = scenario.script
        env = {**(env or {}), "BENCH_REPORT_LUA": str(SCRIPT), **dict(scenario.env)}
        warmup_env = env
    warmup = None
    if settings.warmup_seconds:
        warmup = run_wrk(url, settings, settings.warmup_seconds, scenario.headers, script,
                         warmup_env if warmup_env is not None else env)
    with cpu_window(server) as cpu:
        report = run_wrk(url, settings, settings.seconds, scenario.headers, script, env)
    result = summarise(scenario, report) | {
        "connections": settings.connections, "cpu": cpu,
        "workers": server.workers(),
    }
    if warmup is not None:
        result["warmup"] = {"requests": warmup["requests"], "statuses": warmup["statuses"]}
    return result


@contextmanager
def cpu_window(server: Server) -> Iterator[dict[str, float]]:
    """CPU accounting of the block: the dict yielded is filled in when the block ends."""
    database_pids = server.database_pids()  # after a warm-up: the pool is open
    machine_before = machine.machine_busy_seconds()
    server_before = server.cpu_seconds()
    database_before = machine.pids_seconds(database_pids)
    loadgen_before = machine.children_seconds()
    started = time.perf_counter()
    described: dict[str, float] = {}
    yield described
    described.update(machine.CpuWindow(
        wall_seconds=time.perf_counter() - started,
        machine_seconds=machine.machine_busy_seconds() - machine_before,
        server_seconds=server.cpu_seconds() - server_before,
        loadgen_seconds=machine.children_seconds() - loadgen_before,
        database_seconds=machine.pids_seconds(database_pids) - database_before,
    ).describe())


def bad_statuses(statuses: dict[str, int]) -> int:
    """Responses that are neither 2xx nor 3xx: errors."""
    return sum(n for status, n in statuses.items() if not 200 <= int(status) < 400)


def summarise(scenario: Scenario, report: dict) -> dict:
    seconds = report["duration_us"] / 1e6
    errors = report["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    statuses = {str(k): v for k, v in sorted(report["statuses"].items())}
    latency = {key: round(value / 1000, 2) for key, value in report["latency_us"].items()}
    return {
        "name": scenario.name,
        "path": scenario.path,
        "description": scenario.description,
        "requests": report["requests"],
        "seconds": round(seconds, 2),
        "requests_per_second": round(report["requests"] / seconds, 1) if seconds else 0.0,
        "latency_ms": latency,
        "errors": {
            "socket": socket_errors,
            "status": bad_statuses(statuses),
            "detail": errors,
        },
        "statuses": statuses,
        "bytes": report["bytes"],
    }


def error_count(result: dict) -> int:
    """Socket errors plus non-2xx/3xx answers (older result files: non-2xx)."""
    errors = result["errors"]
    return errors["socket"] + errors.get("status", errors.get("non2xx", 0))
