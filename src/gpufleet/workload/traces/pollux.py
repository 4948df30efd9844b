"""Read the Pollux (OSDI'21) artifact's workload CSVs and its Philly-derived job table.

Two shapes, told apart by the header:

- workload-N.csv: name, time (submit, s), application, num_replicas (GPUs), batch_size. There is
  no run time: in the artifact a job runs until its training progress reaches a target, and its
  speed depends on placement and batch size (traces/<application>/*.csv), so the run time is an
  output of a throughput model, not a field of the data. The reader therefore needs a duration
  source, `durations`: one number of seconds for every job, or a mapping from job name or
  application to seconds (the job name wins).
- traces/philly.csv: timestamp (submit date-time), duration (s), num_gpus, gpu_time, cluster
  (a virtual-cluster hash, which becomes the group).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.traces.frame import (
    INT32_MAX,
    Batch,
    CsvSource,
    Floats,
    Mask,
    Rows,
    Tally,
    TraceRead,
    build_jobs,
)
from gpufleet.workload.traces.gpu_names import require_model

FORMAT = "pollux"
WORKLOAD_COLUMNS = ("name", "time", "application", "num_replicas", "batch_size")
TABLE_COLUMNS = ("timestamp", "duration", "num_gpus", "cluster")
# The artifact simulates 16 nodes x 4 T4 (AWS g4dn.12xlarge; ../shared/traces/pollux-osdi21).
WORKLOAD_REF_MODEL = "T4"
# [A] Philly's GPUs (P100/P40 generation) are not in the catalog; V100 is its oldest one.
TABLE_REF_MODEL = "V100"
_GPUS = "a whole number of GPUs >= 0"

Durations = float | Mapping[str, float]


def read(
    path: Path, /, *, durations: Durations | None = None, ref_model: str | None = None
) -> TraceRead:
    """A workload CSV (needs `durations`) or the Philly-derived table, chosen by the header."""
    src = CsvSource(path)
    if src.has("num_replicas"):
        src.require(FORMAT, *WORKLOAD_COLUMNS[:4])
        return _read_workload(src, durations, require_model(ref_model or WORKLOAD_REF_MODEL))
    if src.has("num_gpus"):
        src.require(FORMAT, *TABLE_COLUMNS[:3])
        if durations is not None:
            raise ConfigError(
                f"{path}: durations apply to Pollux workload files only; "
                "this Philly-derived table has its own duration column"
            )
        return _read_table(src, require_model(ref_model or TABLE_REF_MODEL))
    raise TraceError(
        f"{path}: header: expected a Pollux workload ({', '.join(WORKLOAD_COLUMNS)}) or the "
        f"Philly-derived table ({', '.join(TABLE_COLUMNS)}), got {', '.join(src.header)}"
    )


def _read_workload(src: CsvSource, durations: Durations | None, ref_model: str) -> TraceRead:
    if durations is None:
        raise TraceError(
            f"{src.path}: header, column 'duration': a Pollux workload has no run time "
            f"({', '.join(WORKLOAD_COLUMNS)}); pass durations: seconds for every job, or a "
            "CSV of job name or application and seconds"
        )
    durations = _checked(durations)
    tally = Tally()
    parts: list[pa.Table] = []
    for b in src.batches(WORKLOAD_COLUMNS[:4]):
        rows = Rows(b.size, tally)
        gpus = b.numbers("num_replicas", _GPUS, minimum=0, maximum=INT32_MAX, integral=True)
        submit = b.numbers("time", "seconds >= 0", minimum=0)
        rows.drop("no GPUs", gpus == 0)
        runtime = _lookup(b, durations, rows.keep)
        cols: dict[str, Any] = {
            "id": b.ids(),
            "submit": submit,
            "gpus": gpus.astype(np.int64),
            "runtime": runtime,
        }
        parts.append(rows.close(cols))
    jobs, origin = build_jobs(parts, {"ref_model": ref_model})
    return tally.result(FORMAT, src.path, jobs, origin)


def _checked(durations: Durations) -> Durations:
    values = [durations] if isinstance(durations, int | float) else list(durations.values())
    for v in values:
        if not (isinstance(v, int | float) and 0 < v < float("inf")):
            raise ConfigError(f"durations: expected seconds > 0, got {v!r}")
    return durations


def _lookup(b: Batch, durations: Durations, keep: Mask) -> Floats:
    """Each job's run time: the number, or the mapping's value for its name, else application.
    Only kept rows need one."""
    if isinstance(durations, int | float):
        return np.full(b.size, float(durations))
    keys = pa.array(list(durations), pa.string())
    values = pa.array([float(v) for v in durations.values()], pa.float64())
    by_name = pc.take(values, pc.index_in(b.text("name"), value_set=keys))
    by_app = pc.take(values, pc.index_in(b.text("application"), value_set=keys))
    runtime = pc.coalesce(by_name, by_app)
    missing = pc.is_null(runtime).to_numpy(zero_copy_only=False) & keep
    if missing.any():
        row = int(np.argmax(missing))
        raise b.fail(
            row,
            "name",
            "a job name or application that durations gives seconds for",
            b.text("name")[row].as_py(),
        )
    return np.asarray(pc.fill_null(runtime, 1.0).to_numpy(zero_copy_only=False), dtype=np.float64)


def _read_table(src: CsvSource, ref_model: str) -> TraceRead:
    tally = Tally()
    parts: list[pa.Table] = []
    for b in src.batches(TABLE_COLUMNS):
        rows = Rows(b.size, tally)
        gpus = b.numbers("num_gpus", _GPUS, minimum=0, maximum=INT32_MAX, integral=True)
        submit = b.seconds("timestamp", "a date-time (e.g. 2017-10-09 07:01:55) or seconds")
        runtime = b.numbers("duration", "seconds >= 0", minimum=0)
        rows.drop("no GPUs", gpus == 0)
        rows.drop("zero run time", runtime == 0)
        cols: dict[str, Any] = {
            "id": b.ids(),
            "submit": submit,
            "gpus": gpus.astype(np.int64),
            "runtime": runtime,
        }
        if b.text("cluster") is not None:
            cols["group"] = pc.fill_null(b.text("cluster"), "")
        parts.append(rows.close(cols))
    jobs, origin = build_jobs(parts, {"ref_model": ref_model})
    return tally.result(FORMAT, src.path, jobs, origin)
