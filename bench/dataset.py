"""The standard benchmark dataset (``../shared/dataset/``), written into a work directory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
MAKE_DATASET = SHARED / "dataset" / "make_dataset.py"
STANDARD_THREADS = 2000  # make_dataset.py's default: 40,051 posts


@dataclass(frozen=True)
class Dataset:
    path: Path
    threads_option: int | None  # None: the standard dataset
    bytes: int
    records: dict[str, int]  # lines per type: user, topic, thread, post...
    seconds: float

    @property
    def posts(self) -> int:
        """Every post, opening posts included (what a forum counts)."""
        return self.records.get("thread", 0) + self.records.get("post", 0)

    def describe(self) -> dict[str, object]:
        info = asdict(self)
        info["path"] = str(self.path)
        info["posts"] = self.posts
        info["standard"] = self.threads_option in (None, STANDARD_THREADS)
        return info


def generate(directory: Path, threads: int | None = None) -> Dataset:
    """Write the dataset (`threads` ordinary threads, default the standard 2,000)."""
    if not MAKE_DATASET.exists():
        raise SystemExit(f"bench: the dataset generator is missing: {MAKE_DATASET}")
    target = directory / ("standard.jsonl" if threads is None else f"threads-{threads}.jsonl")
    command = ["python3", str(MAKE_DATASET)]
    if threads is not None:
        command += ["--threads", str(threads)]
    started = time.perf_counter()
    with target.open("wb") as out:
        subprocess.run(command, stdout=out, check=True, cwd=MAKE_DATASET.parent)
    seconds = time.perf_counter() - started
    return Dataset(
        path=target, threads_option=threads, bytes=target.stat().st_size,
        records=count_records(target), seconds=round(seconds, 2),
    )


def count_records(path: Path) -> dict[str, int]:
    """Lines per ``type``, read without parsing whole records (fast at 1M posts)."""
    counts: Counter[str] = Counter()
    marker = b'"type": "'
    with path.open("rb") as lines:
        for line in lines:
            start = line.find(marker)
            if start < 0:
                counts[json.loads(line).get("type", "?")] += 1
                continue
            start += len(marker)
            counts[line[start:line.index(b'"', start)].decode()] += 1
    return dict(counts)


if __name__ == "__main__":  # python -m bench.dataset DIR [THREADS]
    print(generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None).describe())
