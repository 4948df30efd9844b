"""jobs.parquet from the record's arrays, written a slice of rows at a time."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gpufleet.engine.record import RunRecord
from gpufleet.engine.sim import simulate
from gpufleet.policy.registry import resolve
from gpufleet.report import files
from gpufleet.report.files import records_table, write_run
from gpufleet.workload.job import Job
from strategies import make_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def _record() -> RunRecord:
    """Job 1 (16 GPUs) waits for job 0; job 2 asks 32 GPUs and is rejected."""
    jobs = [
        Job(0, "a", 0.0, 8, 100.0, group="g", kind="eval"),
        Job(1, "b", 5.0, 16, 50.0),
        Job(2, "a", 6.0, 32, 50.0, group="g"),
    ]
    return simulate(TWO_NODES, jobs, resolve("fifo"))


def test_rows_by_hand() -> None:
    t = records_table(_record()).to_pydict()
    assert t["job_id"] == [0, 1, 2]
    assert t["tenant"] == ["a", "b", "a"] and t["group"] == ["g", "", "g"]
    assert t["kind"] == ["eval", "batch", "batch"]
    assert t["start"] == [0.0, 100.0, None] and t["wait"] == [0.0, 95.0, None]
    assert t["end"] == [100.0, 150.0, None]
    assert t["cluster"] == ["c", "c", None] and t["gpu_model"] == ["H100", "H100", None]
    assert t["state"] == ["completed", "completed", "rejected"]
    assert t["n_domains"] == [1, 2, 0]


def test_slices_make_the_same_file_as_one_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rows a slice: two row groups (rows 0-1, row 2), the rows of the whole table."""
    rec = _record()
    monkeypatch.setattr(files, "ROWS_PER_SLICE", 2)
    write_run(rec, {}, tmp_path)
    read = pq.ParquetFile(tmp_path / "jobs.parquet")
    assert read.metadata.num_row_groups == 2
    assert read.read().equals(records_table(rec))
