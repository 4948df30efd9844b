"""Read a Slurm accounting export, `sacct --parsable2` with its header line ('|'-separated).

Useful fields (Slurm sacct manual): JobID, User, Account, Partition, Submit, Start, End
(ISO date-times, or Unknown/None), Elapsed ([D-]HH:MM:SS), AllocTRES or ReqTRES
("billing=8,cpu=8,gres/gpu=2,gres/gpu:a100=2,mem=64G,node=1"), State ("CANCELLED by 0"),
Timelimit ([D-]HH:MM:SS, UNLIMITED, Partition_Limit). Required: JobID, Submit, and
AllocTRES or ReqTRES; Elapsed, or Start and End. For example:

    sacct --parsable2 --allusers --starttime 2025-01-01 --format \\
      JobID,User,Account,Partition,Submit,Start,End,Elapsed,AllocTRES,ReqTRES,State,Timelimit
"""

from __future__ import annotations

import re
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
    Floats,
    Rows,
    Tally,
    TraceRead,
    build_jobs,
)
from gpufleet.workload.traces.gpu_names import catalog_model, require_model

FORMAT = "sacct"
# [A] A site replaying its own history passes its GPU model; typed GRES (gres/gpu:h100=8)
# names the model per job where present.
DEFAULT_REF_MODEL = "H100"
# Words Slurm prints where a time is not known.
NULLS = ("", "Unknown", "None", "N/A")
_CLOCK = r"^\s*(?:(?P<d>\d+)-)?(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)\s*$"
_UNTYPED = r"(?:^|,)gres/gpu=(?P<n>\d+)(?:,|$)"
_TYPED = re.compile(r"(?:^|,)gres/gpu:(?P<type>[^=,]+)=(?P<n>\d+)")
# States of a job that has not finished (sacct shows a job's latest record).
_OPEN = pa.array(["PENDING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED"])
_TIME = "an ISO date-time (2025-01-02T03:04:05), Unknown or None"
_ELAPSED = "[D-]HH:MM:SS or MM:SS"


def read(path: Path, /, *, ref_model: str = DEFAULT_REF_MODEL) -> TraceRead:
    """Slurm jobs: tenant = User, group = Account, gpus from gres/gpu in AllocTRES (else
    ReqTRES), runtime = Elapsed (else End - Start), time_limit = Timelimit."""
    ref_model = require_model(ref_model)
    src = CsvSource(path, delimiter="|", quoting=False, null_values=NULLS)
    tres = "AllocTRES" if src.has("AllocTRES") else "ReqTRES"
    src.require(FORMAT, "JobID", "Submit", tres)
    if not src.has("Elapsed"):
        src.require(FORMAT, "JobID", "Submit", tres, "Start", "End")
    wanted = ("JobID", "User", "Account", "Submit", "Start", "End", "Elapsed", "AllocTRES",
              "ReqTRES", "Timelimit", "State")  # fmt: skip
    tally = Tally()
    parts: list[pa.Table] = []
    for b in src.batches(wanted):
        rows = Rows(b.size, tally)
        _drop_steps_and_open_jobs(b, rows)
        submit, start, end = _times(b, rows)
        gpus, model = _gpus(b, rows)
        rows.drop("no GPUs", gpus == 0)
        runtime = _runtime(b, start, end)
        rows.drop("no run time (empty Elapsed)", np.isnan(runtime))
        rows.drop("zero run time", runtime == 0)
        cols: dict[str, Any] = {
            "id": b.ids(),
            "submit": submit,
            "gpus": gpus.astype(np.int64),
            "runtime": runtime,
            "ref_model": pc.fill_null(model, ref_model),
        }
        rows.adjust(
            "gres/gpu type not in the catalog or absent: ref_model default",
            pc.is_null(model).to_numpy(False),
        )
        if b.text("User") is not None:
            cols["tenant"] = pc.fill_null(b.text("User"), DEFAULT_TENANT)
        if b.text("Account") is not None:
            cols["group"] = pc.fill_null(b.text("Account"), "")
        if b.text("Timelimit") is not None:
            cols["time_limit"] = pa.array(_clock(b, "Timelimit", limits=True), from_pandas=True)
        parts.append(rows.close(cols))
    jobs, origin = build_jobs(parts, {})
    return tally.result(FORMAT, path, jobs, origin)


def _drop_steps_and_open_jobs(b: Batch, rows: Rows) -> None:
    """Job step rows (123.batch) are not jobs; pending or running jobs have not finished."""
    job_id = b.text("JobID")
    if job_id.null_count:
        raise b.fail(int(np.argmax(pc.is_null(job_id).to_numpy(False))), "JobID", "a job id", "")
    rows.drop("job step rows (JobID with '.')", pc.match_substring(job_id, ".").to_numpy(False))
    if b.text("State") is not None:
        state = pc.utf8_upper(pc.fill_null(b.text("State"), ""))
        word = pc.struct_field(pc.extract_regex(state, r"^\s*(?P<w>\S*)"), "w")
        not_done = pc.fill_null(pc.is_in(word, value_set=_OPEN), False)
        rows.drop("not finished (State PENDING, RUNNING, ...)", not_done.to_numpy(False))


def _times(b: Batch, rows: Rows) -> tuple[Floats, Floats | None, Floats | None]:
    """Submit, Start and End (NaN where unknown), dropping jobs that lack the ones needed."""
    submit = b.seconds("Submit", _TIME, nulls=True)
    start = b.seconds("Start", _TIME, nulls=True) if b.text("Start") is not None else None
    end = b.seconds("End", _TIME, nulls=True) if b.text("End") is not None else None
    rows.drop("no Submit time", np.isnan(submit))
    if start is not None:
        rows.drop("never started (no Start)", np.isnan(start))
    if end is not None:
        rows.drop("still running (no End)", np.isnan(end))
    return submit, start, end


def _gpus(b: Batch, rows: Rows) -> tuple[Floats, Any]:
    """GPU count and catalog model (null if unknown) from AllocTRES, else ReqTRES.

    The untyped total `gres/gpu=N` is used when present; otherwise typed counts are summed.
    """
    alloc, req = b.text("AllocTRES"), b.text("ReqTRES")
    text = alloc if req is None else req if alloc is None else pc.coalesce(alloc, req)
    if alloc is not None and req is not None:
        rows.adjust(
            "no AllocTRES (never allocated): ReqTRES used",
            pc.and_(pc.is_null(alloc), pc.is_valid(req)).to_numpy(False),
        )
    text = pc.fill_null(text, "")
    untyped = pc.struct_field(pc.extract_regex(text, _UNTYPED), "n")
    gpus = np.array(pc.cast(untyped, pa.float64()).to_numpy(zero_copy_only=False))
    types: list[str | None] = [None] * len(text)
    # Only rows with typed GRES need Python: for the model, and for the count when no untyped
    # total is given.
    typed = np.flatnonzero(pc.match_substring(text, "gres/gpu:").to_numpy(zero_copy_only=False))
    for row, s in zip(typed.tolist(), pc.take(text, pa.array(typed)).to_pylist(), strict=True):
        found = _TYPED.findall(s)
        if np.isnan(gpus[row]):
            gpus[row] = sum(int(n) for _, n in found)
        models = {catalog_model(t) for t, _ in found}
        types[row] = models.pop() if len(models) == 1 else None
    gpus = np.nan_to_num(gpus)
    if (gpus > INT32_MAX).any():
        row = int(np.argmax(gpus > INT32_MAX))
        raise b.fail(row, "AllocTRES", "gres/gpu=N with N < 2**31", text[row].as_py())
    return gpus, pa.array(types, pa.string())


def _runtime(b: Batch, start: Floats | None, end: Floats | None) -> Floats:
    if b.text("Elapsed") is not None:
        return _clock(b, "Elapsed", limits=False)
    assert start is not None and end is not None  # read() requires both without Elapsed
    bad = np.isfinite(end) & np.isfinite(start) & (end < start)
    if bad.any():
        row = int(np.argmax(bad))
        raise b.fail(row, "End", "a time >= Start", b.text("End")[row].as_py())
    return end - start


def _clock(b: Batch, name: str, *, limits: bool) -> Floats:
    """[D-]HH:MM:SS text as seconds; NaN for empty cells (and, for limits, UNLIMITED and
    Partition_Limit, which mean no limit of the job's own)."""
    text = b.text(name)
    parts = pc.extract_regex(pc.fill_null(text, ""), _CLOCK)
    total = np.zeros(len(text))
    for field, scale in (("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0)):
        digits = pc.struct_field(parts, field)  # "" where an optional part is absent
        digits = pc.if_else(pc.equal(digits, ""), pa.scalar(None, pa.string()), digits)
        v = pc.cast(digits, pa.float64()).to_numpy(zero_copy_only=False)
        total = total + np.nan_to_num(v) * scale
    matched = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    empty = pc.is_null(text).to_numpy(zero_copy_only=False)
    if limits:
        words = pc.is_in(pc.utf8_lower(text), value_set=pa.array(["unlimited", "partition_limit"]))
        empty |= pc.fill_null(words, False).to_numpy(zero_copy_only=False)
    bad = ~matched & ~empty
    if bad.any():
        row = int(np.argmax(bad))
        expected = _ELAPSED + (", UNLIMITED or Partition_Limit" if limits else "")
        raise b.fail(row, name, expected, text[row].as_py())
    total = np.where(matched, total, np.nan)
    if limits:
        total = np.where(total > 0, total, np.nan)  # a 0 limit is no limit
    return np.asarray(total, dtype=np.float64)
