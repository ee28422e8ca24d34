"""Single sign-on providers, configured from the OIDC_PROVIDERS environment variable.

OIDC_PROVIDERS is a JSON list; each entry has a `slug` (in the callback address
/auth/{slug}/callback), and either a `preset` ("entra", "google" or "github") or a
`name` and `discovery_url`, plus `client_id`, `client_secret` and optional
`domains` (email domains allowed to sign in with it, e.g. ["*.nhs.uk"]).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
GITHUB_API = "https://api.github.com/"
OIDC_SCOPE = "openid email profile"
GITHUB_SCOPE = "read:user user:email"


@dataclass(frozen=True)
class Provider:
    slug: str
    name: str
    client_id: str
    client_secret: str
    # "oidc": OpenID Connect with discovery; "github": GitHub's plain OAuth 2 and its API.
    kind: str = "oidc"
    discovery_url: str = ""
    authorize_url: str = ""
    token_url: str = ""
    api_base_url: str = ""
    domains: tuple[str, ...] = ()

    @property
    def scope(self) -> str:
        return GITHUB_SCOPE if self.kind == "github" else OIDC_SCOPE


def _preset(entry: dict[str, Any]) -> dict[str, Any]:
    preset = entry.get("preset", "")
    if preset == "entra":
        tenant = entry.get("tenant", "")
        if not tenant or tenant in {"common", "organizations", "consumers"}:
            # Multi-tenant endpoints have no single issuer to check ID tokens against.
            raise ValueError("the entra preset needs your directory's `tenant` id (not common/organizations)")
        return {
            "name": "Microsoft",
            "discovery_url": f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration",
        }
    if preset == "google":
        return {"name": "Google", "discovery_url": "https://accounts.google.com/.well-known/openid-configuration"}
    if preset == "github":
        return {
            "name": "GitHub", "kind": "github",
            "authorize_url": "https://github.com/login/oauth/authorize",
            "token_url": "https://github.com/login/oauth/access_token",
            "api_base_url": GITHUB_API,
        }
    if preset:
        raise ValueError(f"unknown preset {preset!r}: use entra, google or github")
    return {}


def parse_providers(entries: list[dict[str, Any]]) -> list[Provider]:
    """Providers from OIDC_PROVIDERS, or ValueError naming what is wrong."""
    providers: list[Provider] = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ValueError(f"OIDC_PROVIDERS entry {number} must be an object")
        merged = {**_preset(entry), **{k: v for k, v in entry.items() if k not in {"preset", "tenant"}}}
        slug = str(merged.get("slug", ""))
        where = f"OIDC_PROVIDERS entry {number} ({slug or 'no slug'})"
        if not SLUG_RE.match(slug):
            raise ValueError(f"{where}: `slug` must be lowercase letters, digits and hyphens")
        if any(p.slug == slug for p in providers):
            raise ValueError(f"{where}: the slug is used twice")
        for required in ("name", "client_id", "client_secret"):
            if not merged.get(required):
                raise ValueError(f"{where}: `{required}` is missing")
        kind = merged.get("kind", "oidc")
        if kind == "oidc" and not merged.get("discovery_url"):
            raise ValueError(f"{where}: `discovery_url` (or a preset) is missing")
        domains = merged.get("domains", [])
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ValueError(f"{where}: `domains` must be a list of domains")
        providers.append(Provider(
            slug=slug, name=str(merged["name"]), client_id=str(merged["client_id"]),
            client_secret=str(merged["client_secret"]), kind=kind,
            discovery_url=str(merged.get("discovery_url", "")),
            authorize_url=str(merged.get("authorize_url", "")),
            token_url=str(merged.get("token_url", "")),
            api_base_url=str(merged.get("api_base_url", "")),
            domains=tuple(d.lower() for d in domains),
        ))
    return providers
