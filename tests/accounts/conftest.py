"""Account tests send their email to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from forum.settings import Settings
from tests.accounts.oidc.provider import OidcProvider, running_provider
from tests.mailbox import SmtpServer


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url})


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """The real OpenID provider, shared by the tests of a run."""
    with running_provider(["http://testserver/auth/test/callback"]) as provider:
        yield provider
