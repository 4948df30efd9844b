"""Read Alibaba GPU cluster trace 2023 ("openb", FGD ATC'23) pod lists: one row per pod.

Columns (../shared/traces/alibaba-openb-gpu2023/README.md): name, cpu_milli, memory_mib,
num_gpu (0-8), gpu_milli (thousandths of one GPU each pod GPU gets; < 1000 is a shared GPU),
gpu_spec (allowed GPU types separated by '|', empty = any), qos (LS, BE, Burstable, ...),
pod_phase, creation_time, deletion_time, scheduled_time (seconds). The multigpuNN variants carry
only name, cpu_milli, memory_mib, num_gpu and gpu_milli. Required: num_gpu and gpu_milli.

A pod asking for a share of one GPU cannot be a whole-GPU `Job`: with `fractional="round-up"`
(the default) it asks for one whole GPU, with "skip" it is dropped; both are counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.traces.frame import (
    INT32_MAX,
    Batch,
    CsvSource,
    Floats,
    Rows,
    Tally,
    TraceRead,
    build_jobs,
)
from gpufleet.workload.traces.gpu_names import catalog_model, require_model

FORMAT = "openb"
REQUIRED = ("num_gpu", "gpu_milli")
OPTIONAL = ("gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time")
COLUMNS = (*REQUIRED, *OPTIONAL)
FRACTIONAL = ("round-up", "skip")
# [A] Most openb GPUs are of undisclosed types G1-G3; among the disclosed ones (T4, P100, V100,
# A10) V100 is the training GPU the catalog has. Pass ref_model to choose another.
DEFAULT_REF_MODEL = "V100"
# [A] Alibaba's best-effort (BE) pods are the ones co-location evicts first: preemptible.
PREEMPTIBLE_QOS = "BE"
_SECONDS = "seconds >= 0"

Fractional = Literal["round-up", "skip"]


def read(
    path: Path,
    /,
    *,
    fractional: Fractional = "round-up",
    durations: float | None = None,
    ref_model: str = DEFAULT_REF_MODEL,
) -> TraceRead:
    """openb pods as jobs; `durations` (seconds) replaces every pod's lifetime when given, and
    is required when the file has no deletion_time (the multigpu variants)."""
    if fractional not in FRACTIONAL:
        raise ConfigError(
            f"fractional: expected one of {', '.join(FRACTIONAL)}, got {fractional!r}"
        )
    if durations is not None and not (isinstance(durations, int | float) and 0 < durations < 1e18):
        raise ConfigError(f"durations: expected one number of seconds > 0, got {durations!r}")
    ref_model = require_model(ref_model)
    src = CsvSource(path)
    src.require(FORMAT, *REQUIRED)
    if durations is None and not src.has("deletion_time"):
        raise TraceError(
            f"{path}: header, column 'deletion_time': missing, so pod lifetimes are unknown; "
            "pass durations (seconds) to give every pod the same run time"
        )
    tally = Tally()
    parts = [_pods(b, Rows(b.size, tally), fractional, durations) for b in src.batches(COLUMNS)]
    jobs, origin = build_jobs(parts, {"ref_model": ref_model})
    return tally.result(FORMAT, path, jobs, origin)


def _pods(b: Batch, rows: Rows, fractional: Fractional, durations: float | None) -> pa.Table:
    """The job columns of one batch of pods."""
    num_gpu = b.numbers(
        "num_gpu", "a whole number of GPUs >= 0", minimum=0, maximum=INT32_MAX, integral=True
    )
    milli = b.numbers("gpu_milli", "thousandths of a GPU, 0-1000", minimum=0, maximum=1000)
    rows.drop("no GPUs", (num_gpu == 0) | (milli == 0))
    shared = milli < 1000
    if fractional == "skip":
        rows.drop("fractional GPU share (fractional=skip)", shared)
    else:
        rows.adjust("fractional GPU share rounded up to whole GPUs", shared)
    submit = (
        b.numbers("creation_time", _SECONDS, minimum=0)
        if b.text("creation_time") is not None
        else np.zeros(b.size)
    )
    if durations is not None:
        runtime = np.full(b.size, float(durations))
    else:
        runtime = _lifetime(b, rows, submit)
    cols: dict[str, Any] = {
        "id": b.ids(),
        "submit": submit,
        "gpus": num_gpu.astype(np.int64),
        "runtime": runtime,
    }
    if b.text("gpu_spec") is not None:
        cols["models"] = _models(b.text("gpu_spec"), rows)
    if b.text("qos") is not None:
        qos = pc.equal(pc.utf8_trim_whitespace(b.text("qos")), PREEMPTIBLE_QOS)
        cols["preemptible"] = pc.fill_null(qos, False)
    return rows.close(cols)


def _lifetime(b: Batch, rows: Rows, created: Floats) -> Floats:
    """deletion_time - scheduled_time, or - creation_time for pods never scheduled (counted).

    A pod whose lifetime is 0 s gets 1 s (counted): FGD replays every pod, so none is dropped.
    Pods still running when the trace was cut keep their recorded (truncated) lifetime.
    """
    deleted = b.numbers("deletion_time", _SECONDS, minimum=0, nulls=True)
    rows.drop("no deletion_time", np.isnan(deleted))
    start = created
    if b.text("scheduled_time") is not None:
        scheduled = b.numbers("scheduled_time", _SECONDS, minimum=0, nulls=True)
        never = np.isnan(scheduled)
        rows.adjust("never scheduled: run time = deletion - creation", never)
        start = np.where(never, created, scheduled)
    runtime = deleted - start
    bad = np.isfinite(runtime) & (runtime < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise b.fail(
            row,
            "deletion_time",
            "a time >= creation_time and scheduled_time",
            b.text("deletion_time")[row].as_py(),
        )
    if b.text("pod_phase") is not None:
        running = pc.fill_null(pc.equal(b.text("pod_phase"), "Running"), False)
        rows.adjust("running when the trace ends: run time cut there", running.to_numpy(False))
    rows.adjust("zero lifetime set to 1 s", runtime == 0)
    return np.where(runtime == 0, 1.0, runtime)


def _models(spec: Any, rows: Rows) -> Any:
    """gpu_spec ("V100M16|V100M32") as catalog models ("V100"); any unknown type -> any model."""
    distinct = pc.unique(spec)
    mapped: list[str] = []
    for text in distinct.to_pylist():
        names = [s.strip() for s in (text or "").split("|") if s.strip()]
        models = [catalog_model(s) for s in names]
        known = all(models) and bool(models)
        mapped.append("|".join(dict.fromkeys(m for m in models if m)) if known else "")
    out = pc.take(pa.array(mapped, pa.string()), pc.index_in(spec, value_set=distinct))
    unknown = pc.and_(pc.is_valid(spec), pc.equal(out, ""))
    rows.adjust(
        "gpu_spec type not in the catalog: any model", pc.fill_null(unknown, False).to_numpy(False)
    )
    return pc.fill_null(out, "")
