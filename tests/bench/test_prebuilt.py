"""A database built once (--build-only) is measured later on a copy (--prebuilt)."""

from __future__ import annotations

import json

import pytest

from bench import prebuilt
from bench.dataset import Dataset


def test_a_prebuilt_database_is_copied_with_its_dataset_and_build_figures(tmp_path):
    built, run = tmp_path / "built", tmp_path / "run"
    built.mkdir()
    run.mkdir()
    (built / "threads-50000.jsonl").write_text('{"type": "user"}\n')
    (built / prebuilt.DATABASE).write_bytes(b"database")
    dataset = Dataset(path=built / "threads-50000.jsonl", threads_option=50000, bytes=17,
                      records={"user": 1}, seconds=1.5)
    prebuilt.save(built, dataset, {"import_s": 780.0, "reindex_s": 1380.0})

    copied, build = prebuilt.restore(built, run)
    assert copied.path == run / "threads-50000.jsonl" and copied.path.read_text() == '{"type": "user"}\n'
    assert (run / prebuilt.DATABASE).read_bytes() == b"database"
    assert copied.threads_option == 50000 and copied.records == {"user": 1}
    assert build == {"import_s": 780.0, "reindex_s": 1380.0, "prebuilt_from": str(built)}
    # The copy is measured; the original stays as it was built.
    (run / prebuilt.DATABASE).write_bytes(b"changed by the write suite")
    assert (built / prebuilt.DATABASE).read_bytes() == b"database"
    assert json.loads((built / prebuilt.DESCRIPTION).read_text())["dataset"]["threads_option"] == 50000


def test_a_directory_without_a_prebuilt_database_is_refused_plainly(tmp_path):
    with pytest.raises(SystemExit, match="no prebuilt database"):
        prebuilt.restore(tmp_path, tmp_path / "run")
