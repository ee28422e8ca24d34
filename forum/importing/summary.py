"""What an import reports: a summary of what it did, or the error that stopped it."""

from __future__ import annotations

from dataclasses import dataclass, field

from forum.importing.lines import REQUIRED


class ImportError_(Exception):
    """The file can't be imported; `line` is the 1-based number of the bad line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


@dataclass
class Counts:
    created: int = 0
    skipped: int = 0


@dataclass
class ImportSummary:
    """What one import did, per line type (a thread line also creates its opening post)."""

    counts: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in REQUIRED})
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = [f"Import finished in {self.seconds:.1f} s:"]
        for kind, c in self.counts.items():
            lines.append(f"  {kind}s: {c.created:,} created, {c.skipped:,} skipped (already present)")
        return "\n".join(lines)
