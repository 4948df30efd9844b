"""Write a run to a directory: per-job records and time series (Parquet), metrics and how the
run was made (JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import gpufleet
from gpufleet.accounting.ledger import ledger_of
from gpufleet.engine.record import STATE_NAMES, RunRecord
from gpufleet.scheduler.why import CODES

# Rows of jobs.parquet built and written at a time: a year is ~47 million rows, ~230 bytes
# each while built and encoded, so the file goes out in slices of bounded memory. Parquet's
# own row group size, so the file's layout is what one write of the whole table gave.
ROWS_PER_SLICE = 1024 * 1024


def records_table(rec: RunRecord, rows: slice = slice(None)) -> pa.Table:
    """One row per job (of `rows`): what it asked, where and when it ran, how it ended.

    Built from the record's arrays without a Python object per job: strings are taken from
    small word lists by code, missing times are masked NaNs.
    """
    fleet = rec.fleet
    jobs = rec.jobs
    n = len(jobs)

    def col(a: Any, dtype: Any) -> np.ndarray:
        return (np.frombuffer(a, dtype) if n else np.zeros(0, dtype))[rows]

    start = col(rec.start, np.float64)
    end = col(rec.end, np.float64)
    submit = col(jobs.submit, np.float64)
    cl = col(rec.cluster, np.int32)
    placed = pa.array(np.where(cl >= 0, cl, 0), mask=cl < 0)

    def per_cluster(words: list[str]) -> pa.Array:
        return pc.take(pa.array(words, pa.string()), placed)

    def times(x: np.ndarray) -> pa.Array:
        return pa.array(x, pa.float64(), mask=np.isnan(x))

    return pa.table(
        {
            "job_id": pa.array(col(jobs.id, np.int64), pa.int64()),
            "tenant": jobs.tenant.arrow(rows),
            "group": jobs.group.arrow(rows),
            "kind": jobs.kind.arrow(rows),
            "gpus": pa.array(col(jobs.gpus, np.int32), pa.int32()),
            "submit": pa.array(submit, pa.float64()),
            "start": times(start),
            "end": times(end),
            "wait": times(start - submit),
            "cluster": per_cluster([c.id for c in fleet.clusters]),
            "site": per_cluster([c.site for c in fleet.clusters]),
            "gpu_model": per_cluster([c.gpu_model for c in fleet.clusters]),
            "n_domains": pa.array(col(rec.n_domains, np.int32), pa.int32()),
            "n_blocks": pa.array(col(rec.n_blocks, np.int32), pa.int32()),
            "state": pc.take(pa.array(STATE_NAMES, pa.string()), col(rec.state, np.int8)),
        }
    )


def timeseries_table(rec: RunRecord) -> pa.Table:
    """Long format: (time, site, gpu_model, busy_gpus, total_gpus) per sample."""
    fleet = rec.fleet
    keys = sorted({(c.site, c.gpu_model) for c in fleet.clusters})
    idx = {k: i for i, k in enumerate(keys)}
    cols: dict[str, list[Any]] = {
        k: [] for k in ("time", "site", "gpu_model", "busy_gpus", "total_gpus")
    }
    totals = [0] * len(keys)
    members: list[int] = []
    for c in fleet.clusters:
        k = idx[(c.site, c.gpu_model)]
        totals[k] += c.gpus
        members.append(k)
    for t, busy in zip(rec.sample_time, rec.sample_busy, strict=True):
        agg = [0] * len(keys)
        for ci, b in enumerate(busy):
            agg[members[ci]] += b
        for k, (site, model) in enumerate(keys):
            cols["time"].append(t)
            cols["site"].append(site)
            cols["gpu_model"].append(model)
            cols["busy_gpus"].append(agg[k])
            cols["total_gpus"].append(totals[k])
    return pa.table(cols)


def queue_table(rec: RunRecord) -> pa.Table:
    """Hourly queue samples: pending and running jobs, waiting jobs per reason code
    (`waiting_<code>`), and free GPUs no waiting job could use (`unusable_free_gpus`)."""
    cols: dict[str, pa.Array] = {
        "time": pa.array(rec.sample_time, pa.float64()),
        "pending_jobs": pa.array(rec.sample_pending, pa.int64()),
        "running_jobs": pa.array(rec.sample_running, pa.int64()),
    }
    if len(rec.sample_waiting) == len(rec.sample_time):
        for k, code in enumerate(CODES):
            cols[f"waiting_{code}"] = pa.array([w[k] for w in rec.sample_waiting], pa.int64())
        cols["unusable_free_gpus"] = pa.array(rec.sample_unusable, pa.int64())
    return pa.table(cols)


def _write_records(rec: RunRecord, path: Path) -> None:
    """jobs.parquet, a slice of rows at a time (one row group each)."""
    with pq.ParquetWriter(path, records_table(rec, slice(0, 0)).schema) as writer:
        for lo in range(0, len(rec.jobs), ROWS_PER_SLICE):
            writer.write_table(records_table(rec, slice(lo, lo + ROWS_PER_SLICE)))
    # Arrow's allocator keeps what a slice used (~200 MB at 1 Mi rows) for reuse; nothing
    # after this needs Arrow buffers that large, so give it back rather than hold it under
    # the ledger's arrays.
    pa.default_memory_pool().release_unused()


def run_info(rec: RunRecord, scenario: str | None, workload: str) -> dict[str, Any]:
    """What run.json holds: enough to reload the fleet and to title a report.

    `scenario` is what the run was given (a built-in name, or a file stored as an absolute
    path so a report can reload it from elsewhere); it defaults to the fleet's name.
    """
    given = scenario or rec.fleet.name
    path = Path(given)
    return {
        "scenario": str(path.resolve()) if path.is_file() else given,
        "policy": rec.policy,
        "placement": rec.placement,
        "seed": rec.seed,
        "workload": workload,
        "days": rec.window / 86400.0,
        "version": gpufleet.__version__,
    }


def write_run(
    rec: RunRecord,
    metrics: dict[str, Any],
    out: Path,
    *,
    scenario: str | None = None,
    workload: str = "unknown",
) -> list[Path]:
    """Write jobs.parquet, utilization.parquet, queue.parquet, ledger.parquet, metrics.json
    and run.json. The ledger is priced with the built-in price table; `gpufleet acct --run
    --prices FILE` re-prices it."""
    out.mkdir(parents=True, exist_ok=True)
    names = ("jobs", "utilization", "queue", "ledger")
    paths = [out / f"{name}.parquet" for name in names]
    _write_records(rec, paths[0])
    pq.write_table(timeseries_table(rec), paths[1])
    pq.write_table(queue_table(rec), paths[2])
    pq.write_table(ledger_of(rec), paths[3])
    mpath = out / "metrics.json"
    mpath.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    rpath = out / "run.json"
    info = run_info(rec, scenario, workload)
    rpath.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [*paths, mpath, rpath]
