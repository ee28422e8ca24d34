"""htmx awareness: a fragment for htmx swaps, a full page for everything else."""

from __future__ import annotations

from starlette.requests import Request


def is_htmx(request: Request) -> bool:
    """True for an htmx swap request; boosted navigation still gets the full page."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-boosted") != "true"
    )
