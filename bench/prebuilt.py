"""A built benchmark database kept for later runs (SQLite): ``--build-only`` and ``--prebuilt``.

Building the 1M-post database takes half an hour on this machine, and its figures
are only worth taking with nothing else running. ``--build-only --keep`` generates
the dataset, builds the database, writes ``prebuilt.json`` (the dataset's description
and the build's timings) beside them and stops; ``--prebuilt DIR`` then measures on
a copy of that database (the original stays untouched by the write suite), after
``forum migrate`` brings it up to date, and reports the original build's figures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.database import SQLITE_FILE as DATABASE
from bench.dataset import Dataset

DESCRIPTION = "prebuilt.json"


def save(workdir: Path, dataset: Dataset, build: dict[str, object]) -> Path:
    """Describe the database built in `workdir` so that a later run can reuse it."""
    path = workdir / DESCRIPTION
    path.write_text(json.dumps({"dataset": dataset.describe(), "build": build}, indent=2))
    return path


def restore(source: Path, workdir: Path) -> tuple[Dataset, dict[str, object]]:
    """Copy the prebuilt dataset and database from `source` into `workdir`."""
    described = source / DESCRIPTION
    if not described.exists() or not (source / DATABASE).exists():
        raise SystemExit(f"bench: {source} holds no prebuilt database "
                         f"(make one with --build-only --keep)")
    info = json.loads(described.read_text())
    data = info["dataset"]
    dataset_file = source / Path(data["path"]).name
    print(f"Copying the prebuilt database from {source}...", flush=True)
    for name in (dataset_file.name, DATABASE):
        shutil.copyfile(source / name, workdir / name)
    dataset = Dataset(path=workdir / dataset_file.name, threads_option=data["threads_option"],
                      bytes=data["bytes"], records=data["records"], seconds=data["seconds"])
    return dataset, info["build"] | {"prebuilt_from": str(source)}
