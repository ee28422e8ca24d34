"""Writing and sending the forum's emails from the templates in templates/email/."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import jinja2

from forum.mail.mailer import Mail, Mailer
from forum.settings import PROJECT_ROOT

log = logging.getLogger("forum.mail")


def _environment() -> jinja2.Environment:
    # Plain text: nothing to escape, and an address or link must arrive as written.
    return jinja2.Environment(  # noqa: S701
        loader=jinja2.FileSystemLoader(PROJECT_ROOT / "templates" / "email"),
        autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )


@dataclass
class Postman:
    """Renders an email template (first line ``Subject: ...``) and hands it to the mailer."""

    mailer: Mailer
    base_url: str
    site_name: str
    env: jinja2.Environment = field(default_factory=_environment)

    def compose(self, to: str, template: str, **context: Any) -> Mail:
        text = self.env.get_template(f"{template}.txt").render(
            site_name=self.site_name, base_url=self.base_url.rstrip("/"), **context
        )
        first, _, body = text.partition("\n")
        if not first.startswith("Subject: "):
            raise ValueError(f"email template {template!r} must start with 'Subject: '")
        return Mail(to=to, subject=first.removeprefix("Subject: ").strip(), body=body.lstrip("\n"))

    async def send(self, to: str, template: str, **context: Any) -> bool:
        """Send one email; a mail server failure is logged, never shown to the visitor.

        Answers such as "we've sent a link if that address is registered" must not
        change with delivery, or they would tell which addresses are registered.
        """
        mail = self.compose(to, template, **context)
        try:
            await self.mailer.send(mail)
        except Exception:
            log.exception("Could not send %r to %s", mail.subject, _masked(to))
            return False
        return True


def _masked(address: str) -> str:
    name, _, domain = address.partition("@")
    return f"{name[:1]}…@{domain}"
