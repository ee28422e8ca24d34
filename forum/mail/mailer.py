"""Mailers: one sends through an SMTP server, the other writes files for development."""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import anyio

log = logging.getLogger("forum.mail")
SEND_TIMEOUT = 20


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one recipient."""

    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Deliver `mail` or raise."""


def build_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


def _domain(sender: str) -> str:
    match = re.search(r"@([^>\s]+)", sender)
    return match.group(1) if match else "localhost"


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through the server of `SMTP_URL`: smtp:// (STARTTLS when offered) or smtps://."""

    hostname: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpMailer:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        return cls(
            hostname=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 587),
            sender=sender, username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=parts.scheme == "smtps",
        )

    async def send(self, mail: Mail) -> None:
        await aiosmtplib.send(
            build_message(mail, self.sender), hostname=self.hostname, port=self.port,
            username=self.username, password=self.password, use_tls=self.implicit_tls,
            # None: upgrade with STARTTLS whenever the server offers it.
            start_tls=None if not self.implicit_tls else False,
            tls_context=ssl.create_default_context(), timeout=SEND_TIMEOUT,
        )


@dataclass(frozen=True)
class FileMailer:
    """Development: each message becomes a .eml file in `directory` and is printed."""

    directory: Path
    sender: str

    async def send(self, mail: Mail) -> None:
        message = build_message(mail, self.sender)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        slug = re.sub(r"[^a-z0-9]+", "-", mail.subject.lower()).strip("-")[:40]
        path = anyio.Path(self.directory) / f"{stamp}-{slug}.eml"
        await path.parent.mkdir(parents=True, exist_ok=True)
        await path.write_bytes(bytes(message))
        print(
            f"--- email to {mail.to} (saved in {path})\nSubject: {mail.subject}\n\n{mail.body}\n---",
            flush=True,
        )


def build_mailer(smtp_url: str, sender: str, mail_dir: str) -> Mailer:
    """SMTP when `smtp_url` is set, otherwise files in `mail_dir`."""
    if smtp_url:
        return SmtpMailer.from_url(smtp_url, sender)
    return FileMailer(Path(mail_dir), sender)
