"""Check HTTP bodies against Meilisearch's published OpenAPI document.

The document (OpenAPI 3.1, i.e. JSON Schema 2020-12) is loaded once and
registered with `referencing`, so `$ref`s between its schemas resolve. A request
body is validated against the `requestBody` schema of its path and method; a
response against the schema documented for its status code.

Where the document and the server disagree, the disagreement is listed once, in
`KNOWN_DRIFT`, with what the server really accepts or sends. Nothing else is
tolerated.

One rule is stricter than the document: the server refuses unknown fields in a
request body (its deserialiser denies them), while most request schemas do not
say `additionalProperties: false`. So a JSON object body may only use the
properties its schema declares: a misspelt parameter fails here as it would there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

# CI has the document beside the repository (../shared/meilisearch/openapi.json).
OPENAPI_PATH = Path(__file__).resolve().parents[3] / "shared" / "meilisearch" / "openapi.json"
_BASE_URI = "urn:meilisearch:openapi"
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Drift:
    """One known difference: at `location` in a `where` body, the server takes `accepts`."""

    where: str          # "request" or "response"
    method: str
    path: str           # the path template, as in the document
    location: tuple[str | int, ...]
    accepts: dict[str, Any]
    why: str


KNOWN_DRIFT: tuple[Drift, ...] = (
    Drift(
        where="request", method="post", path="/indexes/{index_uid}/search",
        location=("facets",),
        accepts={"type": "array", "items": {"type": "string"}},
        why="The document types `facets` as an object of patterns; the server and its "
            "guides take a list of attribute names.",
    ),
    Drift(
        where="response", method="get", path="/tasks/{task_id}",
        location=("startedAt",),
        accepts={"type": "null"},
        why="Typed `string`, but documented (and sent) as null while a task is enqueued.",
    ),
    Drift(
        where="response", method="get", path="/tasks/{task_id}",
        location=("finishedAt",),
        accepts={"type": "null"},
        why="Typed `string`, but documented (and sent) as null until a task finishes.",
    ),
)


class NotDocumented(AssertionError):
    """The request or response does not match the OpenAPI document."""


class MeiliOpenAPI:
    """The OpenAPI document, ready to validate bodies by path and method."""

    def __init__(self, path: Path = OPENAPI_PATH) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.registry: Registry = Registry().with_resource(
            _BASE_URI, DRAFT202012.create_resource(self.document)
        )

    @property
    def version(self) -> str:
        return str(self.document["info"]["version"])

    @cached_property
    def _templates(self) -> list[tuple[re.Pattern[str], str]]:
        templates = []
        for template in self.document["paths"]:
            pattern = re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"\{[^/}]+\}", "[^/]+", pattern)
            templates.append((re.compile(f"^{pattern}$"), template))
        # Literal segments win over parameters (/documents/fetch over /documents/{id}).
        templates.sort(key=lambda item: item[1].count("{"))
        return templates

    def template_for(self, path: str) -> str:
        """The documented path template a concrete path ("/indexes/x/search") belongs to."""
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        raise NotDocumented(f"{path} is not a documented path")

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        template = self.template_for(path)
        operation = self.document["paths"][template].get(method.lower())
        if operation is None:
            raise NotDocumented(f"{method.upper()} {template} is not documented")
        return template, operation

    def schema(self, name: str) -> dict[str, Any]:
        """A validator-ready reference to a named component schema."""
        return {"$ref": f"{_BASE_URI}#/components/schemas/{name}"}

    def validate_request(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        content_type: str | None = None,
        query: dict[str, list[str]] | None = None,
    ) -> None:
        """Raise NotDocumented unless this request is one the document describes."""
        template, operation = self.operation(method, path)
        documented_query = {
            p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"
        }
        for name in query or {}:
            if name not in documented_query:
                raise NotDocumented(f"{method.upper()} {template}: undocumented query `{name}`")
        request_body = operation.get("requestBody")
        if request_body is None:
            if body is not None:
                raise NotDocumented(f"{method.upper()} {template} takes no body, got {body!r}")
            return
        if body is None:
            if request_body.get("required"):
                raise NotDocumented(f"{method.upper()} {template} requires a body")
            return
        media = (content_type or "").split(";")[0].strip()
        if media not in request_body["content"]:
            raise NotDocumented(
                f"{method.upper()} {template}: content type {media!r} not in "
                f"{sorted(request_body['content'])}"
            )
        pointer = ("paths", template, method.lower(), "requestBody", "content", media, "schema")
        schema = self._ref(pointer)
        if "properties" in self._resolved(pointer):
            schema = {**schema, "unevaluatedProperties": False}
        self._validate(schema, body, "request", method, template)

    def validate_response(self, method: str, path: str, status: int, body: Any) -> None:
        """Raise NotDocumented unless `body` has the documented shape for this status."""
        template, operation = self.operation(method, path)
        responses = operation.get("responses", {})
        if str(status) not in responses:
            raise NotDocumented(f"{method.upper()} {template}: status {status} not documented")
        content = responses[str(status)].get("content", {})
        if "application/json" not in content:
            raise NotDocumented(f"{method.upper()} {template} {status}: no JSON body documented")
        pointer = (
            "paths", template, method.lower(), "responses", str(status),
            "content", "application/json", "schema",
        )
        self._validate(self._ref(pointer), body, "response", method, template)

    def example(self, method: str, path: str, status: int) -> Any:
        """The document's own example response for this operation and status."""
        _, operation = self.operation(method, path)
        return operation["responses"][str(status)]["content"]["application/json"]["example"]

    def _resolved(self, pointer: tuple[str, ...]) -> dict[str, Any]:
        """The schema at `pointer`, following `$ref`s to the one that declares something."""
        resolved = self.registry.resolver().lookup(self._ref(pointer)["$ref"])
        while "$ref" in resolved.contents:
            resolved = resolved.resolver.lookup(resolved.contents["$ref"])
        schema: dict[str, Any] = resolved.contents
        return schema

    def _ref(self, pointer: tuple[str, ...]) -> dict[str, Any]:
        escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)
        return {"$ref": f"{_BASE_URI}#/{quote(escaped, safe='/~')}"}

    def _validate(
        self, schema: dict[str, Any], body: Any, where: str, method: str, template: str
    ) -> None:
        validator = Draft202012Validator(schema, registry=self.registry)
        errors = [
            error for error in validator.iter_errors(body)
            if not _tolerated(error, body, where, method.lower(), template)
        ]
        if errors:
            details = "; ".join(
                f"at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in errors
            )
            raise NotDocumented(f"{where} of {method.upper()} {template}: {details}")


def _tolerated(error: ValidationError, body: Any, where: str, method: str, template: str) -> bool:
    location = tuple(error.absolute_path)
    for drift in KNOWN_DRIFT:
        if (drift.where, drift.method, drift.path, drift.location) != (
            where, method, template, location,
        ):
            continue
        value = body
        for key in location:
            value = value[key]
        if Draft202012Validator(drift.accepts).is_valid(value):
            return True
    return False
