"""Printing tables and writing result files (``bench/results/<date>-<suite>.json``)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def timestamp(moment: datetime) -> str:
    """A file-name-safe local date and time: 2026-11-22T213000."""
    return moment.strftime("%Y-%m-%dT%H%M%S")


def write(suite: str, started: datetime, payload: dict, directory: Path = RESULTS) -> Path:
    """Write `payload` atomically as ``<date>-<suite>.json`` in `directory`; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{timestamp(started)}-{suite}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    os.replace(temporary, path)
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
