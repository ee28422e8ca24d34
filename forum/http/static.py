"""Static files under fingerprinted names, cached by browsers for a year.

Templates link `static_url("css/site.css")`, which gives
`/static/css/site.3f2a9c1d0b7e.css`: the name carries a hash of the content, so
a changed file gets a new address and the old one may be cached forever
(`immutable`). A request for the plain name still works, revalidated each time.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from forum.settings import PROJECT_ROOT

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")


class Fingerprints:
    """Content hashes of the files under `directory`, computed once per file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._digests: dict[str, str] = {}

    def digest(self, path: str) -> str | None:
        if path not in self._digests:
            try:
                content = (self.directory / path).read_bytes()
            except OSError:
                return None
            self._digests[path] = hashlib.blake2b(content, digest_size=6).hexdigest()
        return self._digests[path]

    def url(self, path: str) -> str:
        """The address of static file `path`, fingerprinted when the file exists."""
        digest = self.digest(path)
        if digest is None:
            return f"/static/{path}"
        stem, dot, suffix = path.rpartition(".")
        return f"/static/{stem}.{digest}.{suffix}" if dot else f"/static/{path}.{digest}"


class FingerprintedStaticFiles(StaticFiles):
    """StaticFiles that also answers fingerprinted names, with a year-long cache."""

    def __init__(self, fingerprints: Fingerprints) -> None:
        super().__init__(directory=fingerprints.directory, check_dir=False)
        self.fingerprints = fingerprints

    async def get_response(self, path: str, scope: Scope) -> Response:
        found = _FINGERPRINTED.match(path)
        if found is not None:
            original = found["stem"] + found["suffix"]
            digest = self.fingerprints.digest(original)
            if digest is not None:
                response = await super().get_response(original, scope)
                # An older fingerprint (a page cached before a deploy) still gets
                # the file, but only the current one may be kept for a year.
                response.headers["Cache-Control"] = FOREVER if digest == found["digest"] else REVALIDATE
                return response
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", REVALIDATE)
        return response


STATIC = Fingerprints(PROJECT_ROOT / "static")
