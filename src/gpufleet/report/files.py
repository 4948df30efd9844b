"""Write a run to a directory: per-job records and time series (Parquet), metrics and how the
run was made (JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import gpufleet
from gpufleet.accounting.ledger import ledger_of
from gpufleet.engine.record import STATE_NAMES, RunRecord
from gpufleet.scheduler.why import CODES


def records_table(rec: RunRecord) -> pa.Table:
    """One row per job: what it asked, where and when it ran, how it ended."""
    fleet = rec.fleet
    jobs = rec.jobs
    clusters = fleet.clusters

    def _opt(x: float) -> float | None:
        return None if math.isnan(x) else x

    cl = list(rec.cluster)
    start = [_opt(x) for x in rec.start]
    end = [_opt(x) for x in rec.end]
    return pa.table(
        {
            "job_id": pa.array([j.id for j in jobs], pa.int64()),
            "tenant": pa.array([j.tenant for j in jobs], pa.string()),
            "group": pa.array([j.group for j in jobs], pa.string()),
            "kind": pa.array([j.kind for j in jobs], pa.string()),
            "gpus": pa.array([j.gpus for j in jobs], pa.int32()),
            "submit": pa.array([j.submit for j in jobs], pa.float64()),
            "start": pa.array(start, pa.float64()),
            "end": pa.array(end, pa.float64()),
            "wait": pa.array(
                [None if s is None else s - j.submit for s, j in zip(start, jobs, strict=True)],
                pa.float64(),
            ),
            "cluster": pa.array([clusters[c].id if c >= 0 else None for c in cl], pa.string()),
            "site": pa.array([clusters[c].site if c >= 0 else None for c in cl], pa.string()),
            "gpu_model": pa.array(
                [clusters[c].gpu_model if c >= 0 else None for c in cl], pa.string()
            ),
            "n_domains": pa.array(list(rec.n_domains), pa.int32()),
            "n_blocks": pa.array(list(rec.n_blocks), pa.int32()),
            "state": pa.array([STATE_NAMES[s] for s in rec.state], pa.string()),
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
    pq.write_table(records_table(rec), paths[0])
    pq.write_table(timeseries_table(rec), paths[1])
    pq.write_table(queue_table(rec), paths[2])
    pq.write_table(ledger_of(rec), paths[3])
    mpath = out / "metrics.json"
    mpath.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    rpath = out / "run.json"
    info = run_info(rec, scenario, workload)
    rpath.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [*paths, mpath, rpath]
