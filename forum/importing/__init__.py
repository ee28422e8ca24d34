"""Import forum content from JSON Lines (the interchange format of dataset/FORMAT.md).

Lines are checked as they are read, against maps of what the database already
holds (loaded once) and of what earlier lines defined, then written
`batch_size` lines at a time with bulk inserts, one transaction per batch.

Re-importing skips what already exists (users by username, organisations, topics
and playbooks by slug, threads and posts by `ref`) and never updates it: after the first
import the site is the source of truth, and members may since have edited their
posts, profiles or passwords. New replies to an existing thread go after its
last post.

A bad line stops the import with ImportError_ naming it: the lines before it are
committed, with correct counters; nothing of it, or after it, is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from forum.importing.importer import _Importer
from forum.importing.summary import ImportError_, ImportSummary
from forum.threads.models import Thread, Topic

__all__ = ["ImportError_", "ImportSummary", "import_file", "is_seeded"]


async def import_file(
    path: Path, progress: Callable[[str], object] = print, batch_size: int = 1000
) -> ImportSummary:
    """Import the JSON Lines file at `path`; raise ImportError_ at the first bad line."""
    importer = _Importer(progress, batch_size)
    await importer.load()
    try:
        await importer.read(path)
    except Exception:
        # Also after a bad line, so that the batches committed before it count right.
        await importer.finish()
        raise
    await importer.finish()
    return importer.summary


async def is_seeded() -> bool:
    """True when the forum already has content (topics or threads)."""
    return await Topic.all().exists() or await Thread.all().exists()
