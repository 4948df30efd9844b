"""A run record's per-job columns as numpy arrays, read once for every metric."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpufleet.engine.record import RunRecord


@dataclass(frozen=True, slots=True)
class RunArrays:
    """End state, start, end (NaN where none), submit time and GPUs of every job: views of
    the record's arrays, no copies. GPUs stay int32; a product with float64 seconds is the
    same as with the counts as floats."""

    state: np.ndarray
    start: np.ndarray
    end: np.ndarray
    submit: np.ndarray
    gpus: np.ndarray


def run_arrays(rec: RunRecord) -> RunArrays:
    jobs = rec.jobs
    n = len(jobs)
    return RunArrays(
        state=np.frombuffer(rec.state, dtype=np.int8) if n else np.zeros(0, np.int8),
        start=np.frombuffer(rec.start, dtype=np.float64) if n else np.zeros(0),
        end=np.frombuffer(rec.end, dtype=np.float64) if n else np.zeros(0),
        submit=jobs.submits(),
        gpus=np.frombuffer(jobs.gpus, np.int32) if n else np.zeros(0, np.int32),
    )
