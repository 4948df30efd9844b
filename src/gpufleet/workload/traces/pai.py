"""Read Alibaba PAI GPU trace 2020 (NSDI'22 "MLaaS in the Wild"): the task and job tables.

pai_task_table (clusterdata cluster-trace-gpu-v2020 README): job_name, task_name, inst_num,
status, start_time (task launch), end_time, plan_cpu, plan_mem, plan_gpu (percent of one GPU
per instance: 50 = half a GPU), gpu_type (T4, P100, V100, V100M32, MISC = older GPUs).
pai_job_table: job_name, inst_id, user, status, start_time (job submission), end_time. The
shipped CSVs have no header line (the header is a separate .header file); a header line is
accepted too. Times are seconds with a constant offset.

`path` is the task table or a directory holding pai_task_table.csv; a pai_job_table.csv beside
it (or `job_table`) supplies users and submission times. A job's GPU tasks make one gang.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.store import DEFAULT_TENANT
from gpufleet.workload.traces.frame import CsvSource, Tally, TraceRead, build_jobs, fail
from gpufleet.workload.traces.gpu_names import catalog_model, require_model
from gpufleet.workload.traces.openb import FRACTIONAL, Fractional

FORMAT = "pai"
TASK_COLUMNS = (
    "job_name", "task_name", "inst_num", "status", "start_time", "end_time",
    "plan_cpu", "plan_mem", "plan_gpu", "gpu_type",
)  # fmt: skip
JOB_COLUMNS = ("job_name", "inst_id", "user", "status", "start_time", "end_time")
TASK_FILE, JOB_FILE = "pai_task_table.csv", "pai_job_table.csv"
# [A] For jobs whose gpu_type is MISC, P100 or mixed (not in the catalog): V100, the catalog's
# oldest training GPU. Jobs on T4 or V100/V100M32 get that model.
DEFAULT_REF_MODEL = "V100"
_SECONDS = "seconds, or an empty cell"


def read(
    path: Path,
    /,
    *,
    job_table: Path | None = None,
    fractional: Fractional = "round-up",
    ref_model: str = DEFAULT_REF_MODEL,
) -> TraceRead:
    """PAI jobs: gpus = sum over GPU tasks of inst_num x plan_gpu/100, each instance rounded up
    to whole GPUs; runtime = last GPU task end - first GPU task start."""
    if fractional not in FRACTIONAL:
        raise ConfigError(
            f"fractional: expected one of {', '.join(FRACTIONAL)}, got {fractional!r}"
        )
    ref_model = require_model(ref_model)
    task_path = path / TASK_FILE if path.is_dir() else path
    if job_table is None and (task_path.parent / JOB_FILE).is_file():
        job_table = task_path.parent / JOB_FILE
    tally = Tally()
    tasks, names = _gpu_tasks(task_path)
    per_job = _per_job(tasks)
    if job_table is not None:
        jobs = _with_job_table(job_table, per_job, tally)
    else:
        tally.rows = len(pc.unique(names))
        tally.drop("no GPU tasks", tally.rows - per_job.num_rows)
        jobs = per_job.append_column("submit", per_job.column("start")).append_column(
            "tenant", pa.repeat(pa.scalar(DEFAULT_TENANT), per_job.num_rows)
        )
    table = _finish(jobs, fractional, ref_model, tally)
    built, origin = build_jobs([table], {})
    return tally.result(FORMAT, path, built, origin)


def _gpu_tasks(path: Path) -> tuple[pa.Table, pa.ChunkedArray]:
    """The GPU tasks (plan_gpu > 0) with their gang size, and every task's job_name."""
    src = CsvSource(path, names=TASK_COLUMNS)
    src.require(FORMAT, "job_name", "inst_num", "start_time", "end_time", "plan_gpu")
    parts: list[pa.Table] = []
    names: list[pa.Array] = []
    for b in src.batches(
        ("job_name", "inst_num", "start_time", "end_time", "plan_gpu", "gpu_type")
    ):
        if b.text("job_name").null_count:
            row = int(np.argmax(pc.is_null(b.text("job_name")).to_numpy(False)))
            raise b.fail(row, "job_name", "a job name", "")
        names.append(b.text("job_name"))
        inst = b.numbers("inst_num", "a whole number of instances >= 0", minimum=0, integral=True)
        plan = b.numbers(
            "plan_gpu", "percent of a GPU >= 0, or an empty cell", minimum=0, nulls=True
        )
        start = b.seconds("start_time", _SECONDS, nulls=True)
        end = b.seconds("end_time", _SECONDS, nulls=True)
        gpu = np.nan_to_num(plan) > 0
        per_instance = np.ceil(np.round(np.nan_to_num(plan) / 100.0, 9))
        cols: dict[str, Any] = {
            "job_name": b.text("job_name"),
            "row": b.ids(),
            "gpus": (inst * per_instance).astype(np.int64),
            "fractional": (np.nan_to_num(plan) % 100.0) != 0,
            "start": pa.array(start, from_pandas=True),  # NaN -> null, counted per job
            "end": pa.array(end, from_pandas=True),
            "model": _models(b.text("gpu_type"), b.size),
        }
        keep = pa.array(gpu & (inst > 0))
        parts.append(
            pa.table(
                {
                    k: pc.filter(pa.array(v) if isinstance(v, np.ndarray) else v, keep)
                    for k, v in cols.items()
                }
            )
        )
    if not parts:
        return pa.table({"job_name": pa.array([], pa.string())}), pa.chunked_array([], pa.string())
    return pa.concat_tables(parts), pa.chunked_array(names, pa.string())


def _models(gpu_type: Any, n: int) -> Any:
    """gpu_type as a catalog model, "" where the catalog lacks it (MISC, P100) or it is empty."""
    if gpu_type is None:
        return pa.array([""] * n, pa.string())
    distinct = pc.unique(gpu_type)
    mapped = pa.array([catalog_model(t or "") or "" for t in distinct.to_pylist()], pa.string())
    return pc.take(mapped, pc.index_in(gpu_type, value_set=distinct))


def _per_job(tasks: pa.Table) -> pa.Table:
    if tasks.num_rows == 0:
        return pa.table(
            {
                "job_name": pa.array([], pa.string()),
                "id": pa.array([], pa.int64()),
                "gpus": pa.array([], pa.int64()),
                "fractional": pa.array([], pa.bool_()),
                "start": pa.array([], pa.float64()),
                "end": pa.array([], pa.float64()),
                "open": pa.array([], pa.int64()),
                "model_min": pa.array([], pa.string()),
                "model_max": pa.array([], pa.string()),
            }
        )
    nulls = pc.CountOptions(mode="only_null")
    g = tasks.group_by("job_name", use_threads=False).aggregate(
        [
            ("row", "min"),
            ("gpus", "sum"),
            ("fractional", "any"),
            ("start", "min"),
            ("end", "max"),
            ("start", "count", nulls),
            ("end", "count", nulls),
            ("model", "min"),
            ("model", "max"),
        ]
    )
    return pa.table(
        {
            "job_name": g.column("job_name"),
            "id": g.column("row_min"),
            "gpus": g.column("gpus_sum"),
            "fractional": g.column("fractional_any"),
            "start": g.column("start_min"),
            "end": g.column("end_max"),
            "open": pc.add(g.column("start_count"), g.column("end_count")),
            "model_min": g.column("model_min"),
            "model_max": g.column("model_max"),
        }
    )


def _with_job_table(path: Path, per_job: pa.Table, tally: Tally) -> pa.Table:
    """Join the per-job GPU tasks onto the job table: id = job table row, user, submission."""
    src = CsvSource(path, names=JOB_COLUMNS)
    src.require(FORMAT, "job_name", "start_time")
    parts: list[pa.Table] = []
    for b in src.batches(("job_name", "user", "start_time")):
        submit = b.seconds("start_time", "seconds (the job's submission)", nulls=True)
        if b.text("job_name").null_count:
            row = int(np.argmax(pc.is_null(b.text("job_name")).to_numpy(False)))
            raise b.fail(row, "job_name", "a job name", "")
        user = b.text("user")
        parts.append(
            pa.table(
                {
                    "job_name": b.text("job_name"),
                    "jid": b.ids(),
                    "submit": pa.array(submit, from_pandas=True),  # NaN -> null
                    "tenant": pc.fill_null(user, DEFAULT_TENANT)
                    if user is not None
                    else pa.repeat(pa.scalar(DEFAULT_TENANT), b.size),
                }
            )
        )
    table = pa.concat_tables(parts) if parts else None
    if table is None:
        raise TraceError(f"{path}: line 1: expected job rows, got an empty file")
    if len(pc.unique(table.column("job_name"))) != table.num_rows:
        first: dict[str, int] = {}
        for row, name in enumerate(table.column("job_name").to_pylist()):
            if name in first:
                expected = f"one row per job ({name!r} is also on {src.where(first[name])})"
                raise fail(path, src.where(row), "job_name", expected, name)
            first[name] = row
    orphans = int(
        pc.sum(
            pc.invert(pc.is_in(per_job.column("job_name"), value_set=table.column("job_name")))
        ).as_py()
        or 0
    )
    tally.rows = table.num_rows + orphans
    tally.drop("GPU tasks of a job missing from pai_job_table", orphans)
    joined = table.join(per_job, "job_name", join_type="inner", use_threads=False)
    tally.drop("no GPU tasks", table.num_rows - joined.num_rows)
    joined = joined.drop_columns(["id"])
    return joined.rename_columns(["id" if c == "jid" else c for c in joined.column_names])


def _finish(jobs: pa.Table, fractional: Fractional, ref_model: str, tally: Tally) -> pa.Table:
    """Drop unfinished and fractional (when skipped) jobs, count, and pick each ref_model."""
    n = jobs.num_rows
    start = jobs.column("start").to_numpy()
    end = jobs.column("end").to_numpy()
    keep = np.ones(n, dtype=np.bool_)

    def drop(reason: str, mask: Any) -> None:
        nonlocal keep
        tally.drop(reason, int(np.count_nonzero(mask & keep)))
        keep &= ~mask

    drop("unfinished: a GPU task without start or end time", jobs.column("open").to_numpy() > 0)
    drop("end_time before start_time", end < start)
    drop("zero run time", end == start)
    frac = jobs.column("fractional").to_numpy(zero_copy_only=False)
    if fractional == "skip":
        drop("fractional GPU share (fractional=skip)", frac)
    tally.adjust(
        "fractional GPU share rounded up to whole GPUs", int(np.count_nonzero(frac & keep))
    )
    no_submit = pc.is_null(jobs.column("submit")).to_numpy(zero_copy_only=False)
    tally.adjust(
        "no submission time in pai_job_table: first GPU task start used",
        int(np.count_nonzero(no_submit & keep)),
    )
    submit = pc.coalesce(jobs.column("submit"), jobs.column("start"))
    lo, hi = jobs.column("model_min"), jobs.column("model_max")
    one = pc.fill_null(pc.and_(pc.equal(lo, hi), pc.not_equal(lo, "")), False)
    model = pc.if_else(one, lo, ref_model)
    tally.adjust(
        f"gpu_type not in the catalog or mixed: ref_model {ref_model}",
        int(np.count_nonzero(~one.to_numpy(zero_copy_only=False) & keep)),
    )
    mask = pa.array(keep)
    return pa.table(
        {
            "id": pc.filter(jobs.column("id"), mask),
            "submit": pc.filter(submit, mask),
            "gpus": pc.filter(jobs.column("gpus"), mask),
            "runtime": pc.filter(pc.subtract(jobs.column("end"), jobs.column("start")), mask),
            "tenant": pc.filter(jobs.column("tenant"), mask),
            "ref_model": pc.filter(model, mask),
        }
    )
