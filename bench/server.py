"""The application, started exactly as the Procfile's ``web`` process, on 127.0.0.1.

The command is read from the Procfile and run by ``/bin/sh`` (as Procfile runners
do), with ``PORT`` and ``WEB_CONCURRENCY`` set; the only change is the listening
address: ``--host`` becomes 127.0.0.1, so that nothing outside this machine can
reach the server. It runs in its own process group, stopped (SIGTERM, then
SIGKILL) when the `running` block ends, on success, error or Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import machine
from bench.database import backend_pids, forum_env
from bench.dataset import REPO_ROOT

HOST = "127.0.0.1"
PROCFILE = REPO_ROOT / "Procfile"


def procfile_command(process: str = "web", procfile: Path = PROCFILE) -> str:
    """The Procfile's command for `process`, listening on 127.0.0.1 only."""
    for line in procfile.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process:
            command = command.strip()
            break
    else:
        raise SystemExit(f"bench: no {process!r} process in {procfile}")
    command, replaced = re.subn(r"--host(=|\s+)\S+", f"--host {HOST}", command)
    if not replaced:
        command += f" --host {HOST}"
    return command


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    command: str
    log: Path
    loop: str = "?"
    database_url: str = ""
    secret_key: str = ""  # the generated SECRET_KEY (the SQL counter signs the same cookies)
    environment: dict[str, str] | None = None  # settings added for the benchmark

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session: the leader's pid is the group id

    def cpu_seconds(self) -> float:
        return machine.group_seconds(self.pgid)

    def database_pids(self) -> list[int]:
        """The database server's processes serving this app (none for SQLite)."""
        return backend_pids(self.database_url)

    def workers(self) -> list[dict[str, object]]:
        """uvicorn's worker processes (and any helper they started), with RSS."""
        return machine.descendants(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def production_env(database_url: str, port: int, workers: int, **extra: str) -> dict[str, str]:
    """Production settings: a generated SECRET_KEY, indexing left to `forum worker`."""
    return forum_env(
        database_url,
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        BASE_URL=f"http://{HOST}:{port}",
        # As in production: the outbox and the mentoring sweep are `forum worker`'s jobs.
        SEARCH_INDEXING="worker",
        BACKGROUND_JOBS="worker",
        # Production wants a mail server; the benchmarks never send mail.
        SMTP_URL=f"smtp://{HOST}:25",
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        **extra,
    )


@contextlib.contextmanager
def running(
    database_url: str, workdir: Path, *, workers: int = 2, ready_timeout: float = 90.0,
    **extra_env: str,
) -> Iterator[Server]:
    """Start the Procfile's web process, wait for /healthz, and always stop it."""
    port = free_port()
    command = procfile_command("web")
    env = production_env(database_url, port, workers, **extra_env)
    log = workdir / "server.log"
    added = "".join(f" {k}={v}" for k, v in extra_env.items())
    print(f"Starting: {command}  (PORT={port} WEB_CONCURRENCY={workers}{added})", flush=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"], cwd=REPO_ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(process, port, command, log, event_loop(command, env), database_url,
                    env["SECRET_KEY"], dict(extra_env))
    try:
        wait_ready(server, ready_timeout)
        yield server
    finally:
        stop(server)


def wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = server.base_url + "/healthz"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"bench: the server exited ({server.process.returncode}):\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    print(f"Server ready on {server.base_url}.", flush=True)
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench: /healthz not ready after {timeout:.0f} s:\n{server.log_tail()}")


def keepalive_probe(server: Server, requests: int = 12) -> dict[str, object]:
    """Sequential GET /healthz on one keep-alive connection: the time of each after the first.

    A tiny response should take well under a millisecond here. About 40 ms means the
    response waited for the client's delayed ACK: Nagle's algorithm is on (TCP_NODELAY
    not set on the server's sockets, as with uvicorn --workers N on the asyncio loop:
    https://github.com/Kludex/uvicorn/issues/3149), which every keep-alive client —
    a reverse proxy included — pays on every response.
    """
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    times = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    median = statistics.median(times[1:])
    stalled = median >= 20.0
    if stalled:
        print(f"WARNING: keep-alive requests take {median:.0f} ms each (a fresh connection: "
              f"{times[0]:.1f} ms): TCP_NODELAY is off on the server's sockets; every figure "
              "below includes this delayed-ACK stall (uvicorn issue #3149).", flush=True)
    return {"first_ms": round(times[0], 2), "keepalive_median_ms": round(median, 2),
            "delayed_ack_stall": stalled}


def event_loop(command: str, env: dict[str, str]) -> str:
    """The event loop uvicorn runs: ``--loop X``, else (auto) uvloop when importable."""
    chosen = re.search(r"--loop(?:=|\s+)(\S+)", command)
    if chosen and chosen.group(1) != "auto":
        return chosen.group(1)
    python = Path(env["PATH"].split(os.pathsep)[0]) / "python"
    found = subprocess.run([str(python), "-c", "import uvloop"], env=env, capture_output=True)
    return "uvloop" if found.returncode == 0 else "asyncio"


def stop(server: Server, grace: float = 15.0) -> None:
    """SIGTERM the server's process group; SIGKILL what is left after `grace` seconds."""
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pgid, signal.SIGTERM)
        try:
            server.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    # Workers may outlive the master for a moment: make sure the group is gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(5)
    print("Server stopped.", flush=True)
