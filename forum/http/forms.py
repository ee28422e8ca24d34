"""Reading submitted forms: text fields only, bounded, never a file left behind."""

from __future__ import annotations

from starlette.requests import Request

MAX_FIELDS = 50


async def read_form(request: Request) -> dict[str, str]:
    """The form's text fields (the first value of each name).

    The forum takes no file uploads, so a multipart body with a file is refused
    (400) before anything is written to disk.
    """
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        return {key: value for key, value in form.items() if isinstance(value, str)}


async def read_form_lists(request: Request) -> dict[str, list[str]]:
    """Every text value of every field, for forms with checkbox groups and multiple selects."""
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        values: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                values.setdefault(key, []).append(value)
        return values


def first(values: dict[str, list[str]], name: str) -> str:
    """The first value of `name` in a `read_form_lists` result, or ""."""
    return (values.get(name) or [""])[0]
