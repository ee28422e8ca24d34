"""Reading the live server's development mail (files in its MAIL_DIR)."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path

from tests.mailbox import LINK


def link_from_mail(mail_dir: Path, address: str, path: str, timeout: float = 5) -> str:
    """The newest link to `path` in a message to `address`, as a site path."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for file in sorted(mail_dir.glob("*.eml"), reverse=True):
            message = message_from_bytes(file.read_bytes(), policy=policy.default)
            if message["To"] != address:
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            for url in LINK.findall(text):
                if path in url:
                    return url[url.index(path):]
        time.sleep(0.1)
    raise AssertionError(f"no email to {address} with a {path} link in {mail_dir}")
