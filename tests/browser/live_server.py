"""The real application under uvicorn, in a subprocess, on a free local port."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from forum.settings import PROJECT_ROOT

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    """A uvicorn process serving `forum.app:create_app` against its own SQLite file."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # More settings, e.g. OIDC_PROVIDERS once the test provider runs.
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite://{self.workdir / 'browser.sqlite3'}"

    @property
    def mail_dir(self) -> Path:
        """Where the server's development mailer writes each message."""
        return self.workdir / "mail"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env.update(
            DATABASE_URL=self.database_url,
            SECRET_KEY=secrets.token_urlsafe(48),
            ENVIRONMENT="test",  # StrictUndefined: a template typo fails the journey
            BASE_URL=self.url,
            POSTS_PER_MINUTE="1000",
            PYTHONUNBUFFERED="1",
            MAIL_DIR=str(self.mail_dir),
            SMTP_URL="",
            # Each journey joins afresh: the new-member allowance would slow the suite down.
            NEW_MEMBER_POSTS_PER_DAY="1000",
            SIGNUPS_PER_ADDRESS_PER_HOUR="1000",
        )
        env.update(self.extra_env)
        return env

    def prepare(self) -> None:
        """Migrate a fresh database with the real migrations and add the topics."""
        subprocess.run(
            [sys.executable, "-m", "tests.browser.seed", self.database_url],
            cwd=PROJECT_ROOT, env=self.environment(), check=True, capture_output=True,
        )

    def start(self) -> None:
        uvicorn = Path(sys.executable).parent / "uvicorn"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(uvicorn), "forum.app:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=PROJECT_ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at startup:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer /healthz in {STARTUP_SECONDS}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no server log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
