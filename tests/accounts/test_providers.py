"""OIDC_PROVIDERS: presets, checks at start-up, and GitHub's answers as a profile."""

from __future__ import annotations

import pytest

from forum.accounts.oidc import github_profile
from forum.accounts.providers import parse_providers
from forum.app import create_app
from forum.settings import Settings

SECRETS = {"client_id": "id", "client_secret": "secret"}


def test_presets_fill_in_the_providers_addresses():
    entra, google, github = parse_providers([
        {"slug": "microsoft", "preset": "entra", "tenant": "contoso-tenant-id", **SECRETS},
        {"slug": "google", "preset": "google", **SECRETS, "domains": ["*.NHS.uk"]},
        {"slug": "github", "preset": "github", **SECRETS},
    ])
    assert entra.name == "Microsoft" and entra.discovery_url == (
        "https://login.microsoftonline.com/contoso-tenant-id/v2.0/.well-known/openid-configuration"
    )
    assert google.discovery_url == "https://accounts.google.com/.well-known/openid-configuration"
    assert google.domains == ("*.nhs.uk",) and google.scope == "openid email profile"
    assert github.kind == "github" and github.scope == "read:user user:email"
    assert github.authorize_url == "https://github.com/login/oauth/authorize"


@pytest.mark.parametrize("entry, problem", [
    ({"slug": "Bad Slug", "name": "X", "discovery_url": "https://x", **SECRETS}, "slug"),
    ({"slug": "x", "name": "X", "discovery_url": "https://x", "client_id": "id"}, "client_secret"),
    ({"slug": "x", "name": "X", **SECRETS}, "discovery_url"),
    ({"slug": "x", "preset": "entra", **SECRETS}, "tenant"),
    ({"slug": "x", "preset": "entra", "tenant": "common", **SECRETS}, "tenant"),
    ({"slug": "x", "preset": "okta", **SECRETS}, "unknown preset"),
    ({"slug": "x", "preset": "google", "domains": "nhs.uk", **SECRETS}, "domains"),
])
def test_a_misconfigured_provider_is_named_at_start_up(entry, problem):
    with pytest.raises(ValueError, match=problem):
        parse_providers([entry])


def test_the_app_refuses_to_start_with_a_bad_provider_list():
    with pytest.raises(ValueError, match="OIDC_PROVIDERS entry 1"):
        create_app(Settings(environment="test", oidc_providers=[{"slug": "x"}]))


def test_two_providers_cannot_share_a_slug():
    entry = {"slug": "google", "preset": "google", **SECRETS}
    with pytest.raises(ValueError, match="used twice"):
        parse_providers([entry, entry])


def test_github_gives_its_primary_address_only_when_verified():
    [github] = parse_providers([{"slug": "github", "preset": "github", **SECRETS}])
    user = {"id": 583231, "login": "octocat", "name": "The Octocat"}
    emails = [{"email": "old@example.org", "primary": False, "verified": True},
              {"email": "Octo@Example.org", "primary": True, "verified": True}]
    profile = github_profile(github, user, emails)
    assert (profile.subject, profile.email, profile.email_verified) == ("583231", "octo@example.org", True)
    assert profile.username_hint == "octocat" and profile.name == "The Octocat"
    unverified = github_profile(github, user, [{"email": "x@example.org", "primary": True, "verified": False}])
    assert not unverified.email_verified
