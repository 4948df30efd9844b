"""Read SenseTime Helios `cluster_log.csv` (SC'21), one row per job; also the shape Acme reuses.

Columns (HeliosData README): job_id, user, vc, [jobname], gpu_num, cpu_num, node_num, state,
submit_time, start_time, end_time, duration (s, end - start), queue (s). Times are date-times
such as "2020-04-01 00:00:06". Only gpu_num, submit_time and duration are required.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.workload.store import DEFAULT_TENANT
from gpufleet.workload.traces.frame import (
    INT32_MAX,
    Batch,
    CsvSource,
    Rows,
    Tally,
    TraceRead,
    build_jobs,
)
from gpufleet.workload.traces.gpu_names import require_model

FORMAT = "helios"
# HeliosArtifact README: the datacenter's compute node is 8 x Tesla V100-SXM2 ("from Volta
# Cluster"); that every Helios cluster is V100 is [A].
DEFAULT_REF_MODEL = "V100"
REQUIRED = ("gpu_num", "submit_time", "duration")
_GPUS = "a whole number of GPUs >= 0"
_TIME = "a date-time (e.g. 2020-04-01 00:00:06) or seconds"
_DURATION = "seconds >= 0 or an empty cell"


def read(path: Path, /, *, ref_model: str = DEFAULT_REF_MODEL) -> TraceRead:
    """Helios jobs: tenant = user, group = vc; CPU-only jobs dropped; see docs/traces.md."""
    return read_job_log(FORMAT, path, ref_model=ref_model, group="vc")


def read_job_log(
    fmt: str,
    path: Path,
    *,
    ref_model: str,
    group: str | None = None,
    kind: tuple[str, Mapping[str, str]] | None = None,
) -> TraceRead:
    """Read a Helios-shaped job log; `group` names the tenant-group column, `kind` the job-type
    column with its mapping (lower-case type -> Job kind; others become "batch", counted)."""
    ref_model = require_model(ref_model)
    src = CsvSource(path)
    src.require(fmt, *REQUIRED)
    wanted = [*REQUIRED, "user", "start_time", "end_time"]
    wanted += [group] if group else []
    wanted += [kind[0]] if kind else []
    tally = Tally()
    parts: list[pa.Table] = []
    for b in src.batches(wanted):
        rows = Rows(b.size, tally)
        gpus = b.numbers("gpu_num", _GPUS, minimum=0, maximum=INT32_MAX, integral=True)
        submit = b.seconds("submit_time", _TIME)
        runtime = _runtime(b, rows)
        rows.drop("no GPUs", gpus == 0)
        rows.drop("no run time (empty duration and no start/end time)", np.isnan(runtime))
        rows.drop("zero run time", runtime == 0)
        cols: dict[str, Any] = {
            "id": b.ids(),
            "submit": submit,
            "gpus": gpus.astype(np.int64),
            "runtime": runtime,
        }
        if b.text("user") is not None:
            cols["tenant"] = pc.fill_null(b.text("user"), DEFAULT_TENANT)
        if group and b.text(group) is not None:
            cols["group"] = pc.fill_null(b.text(group), "")
        if kind and b.text(kind[0]) is not None:
            cols["kind"] = _kinds(b.text(kind[0]), kind[1], rows)
        parts.append(rows.close(cols))
    jobs, origin = build_jobs(parts, {"ref_model": ref_model})
    return tally.result(fmt, path, jobs, origin)


def _runtime(b: Batch, rows: Rows) -> np.ndarray[Any, np.dtype[np.float64]]:
    """`duration`; where it is empty, end_time - start_time if both are there (counted)."""
    runtime = b.numbers("duration", _DURATION, minimum=0, nulls=True)
    empty = np.isnan(runtime)
    if empty.any() and b.text("start_time") is not None and b.text("end_time") is not None:
        start = b.seconds("start_time", _TIME, nulls=True)
        end = b.seconds("end_time", _TIME, nulls=True)
        derived = empty & np.isfinite(start) & np.isfinite(end) & (end >= start)
        runtime = np.where(derived, end - start, runtime)
        rows.adjust("duration empty: end_time - start_time used", derived)
    return runtime


def _kinds(text: Any, mapping: Mapping[str, str], rows: Rows) -> Any:
    keys = pa.array(list(mapping), pa.string())
    index = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(text)), value_set=keys)
    rows.adjust("job type not recognised: kind batch", pc.is_null(index).to_numpy(False))
    kinds = pa.array(list(mapping.values()), pa.string())
    return pc.fill_null(pc.take(kinds, index), "batch")
