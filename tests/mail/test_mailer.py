"""Mail goes through a real SMTP server, or into files in development."""

from __future__ import annotations

import logging

import pytest

from forum.mail.mailer import FileMailer, Mail, SmtpMailer, build_mailer
from forum.mail.postman import Postman
from tests.browser.live_server import free_port
from tests.mailbox import body

SENDER = "Mutuals Knowledge Network <no-reply@mutuals.example>"


async def test_the_smtp_mailer_delivers_to_the_server_of_smtp_url(smtp_server, inbox):
    mailer = build_mailer(smtp_server.url, SENDER, "unused")
    assert isinstance(mailer, SmtpMailer)
    await mailer.send(Mail(to="dana@leeds.gov.uk", subject="Hello", body="Line one.\nLine two.\n"))
    message = inbox.last_to("dana@leeds.gov.uk")
    assert message["From"] == SENDER and message["Subject"] == "Hello"
    assert message["X-Envelope-To"] == "dana@leeds.gov.uk"
    assert message["Message-ID"].endswith("@mutuals.example>")
    assert body(message) == "Line one.\nLine two.\n"


def test_smtp_urls_give_host_port_credentials_and_tls():
    plain = SmtpMailer.from_url("smtp://user%40x:p%3Ass@mail.example:2525", SENDER)
    assert (plain.hostname, plain.port, plain.username, plain.password, plain.implicit_tls) == (
        "mail.example", 2525, "user@x", "p:ss", False
    )
    tls = SmtpMailer.from_url("smtps://mail.example", SENDER)
    assert (tls.port, tls.implicit_tls) == (465, True)
    assert SmtpMailer.from_url("smtp://mail.example", SENDER).port == 587
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpMailer.from_url("http://mail.example", SENDER)


async def test_without_smtp_url_mail_is_written_to_files_and_printed(tmp_path, capsys):
    mailer = build_mailer("", SENDER, str(tmp_path / "mail"))
    assert isinstance(mailer, FileMailer)
    await mailer.send(Mail(to="dana@leeds.gov.uk", subject="Confirm your address", body="Open the link."))
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and files[0].name.endswith("-confirm-your-address.eml")
    assert b"To: dana@leeds.gov.uk" in files[0].read_bytes()
    printed = capsys.readouterr().out
    assert "email to dana@leeds.gov.uk" in printed and "Open the link." in printed


async def test_a_mail_server_that_is_down_is_logged_not_raised(caplog):
    postman = Postman(mailer=SmtpMailer("127.0.0.1", free_port(), SENDER), base_url="http://x", site_name="Site")
    with caplog.at_level(logging.ERROR, logger="forum.mail"):
        sent = await postman.send("dana@leeds.gov.uk", "password_changed", user=type("U", (), {
            "display_name": "Dana", "username": "dana"})())
    assert sent is False
    assert "Could not send" in caplog.text and "d…@leeds.gov.uk" in caplog.text
    assert "dana@leeds.gov.uk" not in caplog.text


def test_every_email_template_has_a_subject_line():
    from forum.settings import PROJECT_ROOT

    for path in (PROJECT_ROOT / "templates" / "email").glob("*.txt"):
        assert path.read_text().startswith("Subject: "), path.name
