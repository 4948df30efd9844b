"""Read the Tiresias (NSDI'19) simulator's job CSVs, e.g. `60_job.csv` and `tf_job.csv`, and
its job-size samples (`yarn-gput1000.csv`) that the Gittins-index policy learns from.

Columns: job_id, num_gpu, submit_time (s), duration (s), and per file iterations, model_name,
interval, start_time, model_size, ... Only num_gpu, submit_time and duration are required.
The samples file has one column, `duration`: a job's GPU time (GPU-seconds).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gpufleet.errors import TraceError
from gpufleet.workload.traces.frame import INT32_MAX, CsvSource, Rows, Tally, TraceRead, build_jobs
from gpufleet.workload.traces.gpu_names import require_model

FORMAT = "tiresias"
# [A] The trace's GPUs are of the P100 generation, which the catalog lacks; V100 is the
# catalog's oldest data-centre training GPU. Pass ref_model to choose another.
DEFAULT_REF_MODEL = "V100"
REQUIRED = ("num_gpu", "submit_time", "duration")


def read(path: Path, /, *, ref_model: str = DEFAULT_REF_MODEL) -> TraceRead:
    """Tiresias jobs: gpus = num_gpu, submit = submit_time, runtime = duration (seconds)."""
    ref_model = require_model(ref_model)
    src = CsvSource(path)
    src.require(FORMAT, *REQUIRED)
    tally = Tally()
    parts: list[pa.Table] = []
    for b in src.batches(REQUIRED):
        rows = Rows(b.size, tally)
        gpus = b.numbers(
            "num_gpu", "a whole number of GPUs >= 0", minimum=0, maximum=INT32_MAX, integral=True
        )
        submit = b.numbers("submit_time", "seconds >= 0", minimum=0)
        runtime = b.numbers("duration", "seconds >= 0", minimum=0)
        rows.drop("no GPUs", gpus == 0)
        rows.drop("zero run time", runtime == 0)
        cols: dict[str, Any] = {
            "id": b.ids(),
            "submit": submit,
            "gpus": gpus.astype(np.int64),
            "runtime": runtime,
        }
        parts.append(rows.close(cols))
    jobs, origin = build_jobs(parts, {"ref_model": ref_model})
    return tally.result(FORMAT, path, jobs, origin)


def read_job_sizes(path: Path) -> tuple[float, ...]:
    """GPU-seconds per job from a Tiresias samples file (column `duration`, each > 0)."""
    try:
        f = path.open(newline="", encoding="utf-8")
    except OSError as e:
        raise TraceError(f"{path}: cannot read: {e.strerror}") from None
    sizes: list[float] = []
    with f:
        reader = csv.DictReader(f)
        if "duration" not in (reader.fieldnames or []):
            raise TraceError(f"{path}: header, column 'duration': missing required column")
        for row in reader:
            text = (row["duration"] or "").strip()
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 0):
                raise TraceError(
                    f"{path}: line {reader.line_num}, column 'duration': expected GPU-seconds "
                    f"> 0, got {text!r}"
                )
            sizes.append(value)
    if not sizes:
        raise TraceError(f"{path}: no job-size samples")
    return tuple(sizes)
