"""Run the test OpenID provider (provider.mjs, built on the npm package oidc-provider)."""

from __future__ import annotations

import json
import select
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forum.settings import PROJECT_ROOT

SCRIPT = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "mutuals-forum"
CLIENT_SECRET = "a-client-secret-for-the-tests"
STARTUP_SECONDS = 20

USERS = [
    {"login": "ada", "password": "ada-pass", "sub": "sub-ada", "email": "ada@leeds.gov.uk",
     "email_verified": True, "name": "Ada Okafor"},
    {"login": "ben", "password": "ben-pass", "sub": "sub-ben", "email": "ben@example.org",
     "email_verified": False, "name": "Ben Price"},
    {"login": "cara", "password": "cara-pass", "sub": "sub-cara", "email": "cara@nhs.net",
     "email_verified": True, "name": "Cara Jones"},
]


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen[bytes]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def provider_setting(self, slug: str = "test", **extra: Any) -> dict[str, Any]:
        """An OIDC_PROVIDERS entry for this provider."""
        return {"slug": slug, "name": "Test ID", "discovery_url": self.discovery_url,
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **extra}


@contextmanager
def running_provider(redirect_uris: list[str]) -> Iterator[OidcProvider]:
    """Start the provider on a free port of 127.0.0.1; stop it afterwards."""
    config = {
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris}],
        "users": USERS,
    }
    process = subprocess.Popen(
        ["node", str(SCRIPT), json.dumps(config)], cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        yield OidcProvider(issuer=_wait_until_ready(process), process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def _wait_until_ready(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode().strip()
            if line.startswith("ready "):
                return line.removeprefix("ready ")
            if not line and process.poll() is not None:
                break
        elif process.poll() is not None:
            break
    raise RuntimeError(
        "the test OpenID provider did not start: is node installed and `npm ci` run "
        "(node_modules/oidc-provider)?"
    )
