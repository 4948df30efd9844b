"""What failures, the build-out and power caps did to a run: goodput, lost work, ETTR, energy.

Definitions (also in docs/realism.md):
- GPU-hours used = every run of every job (completed, cut by a failure, cut by preemption).
- lost GPU-hours = work thrown away by failures (since the last checkpoint, plus restarts)
  and by maintenance drains (restarts only: a drained job checkpoints first); runs cut by
  preemption are lost whole (the job starts over) and counted apart.
- maintenance GPU-hours = GPUs a drain took out of service (idle GPUs of a draining domain
  from when they fell free, then the whole domain), until the wave's end.
- goodput = (used - lost to failures - lost to preemption) / used.
- ETTR (effective training time ratio [S115]) of a job = productive seconds / (end - first
  start), over jobs of at least LARGE_GPUS GPUs that completed.
- online GPU-hours: capacity in service inside the window (clusters count from their online
  day; repairs are not subtracted); utilization_online = busy / online.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from gpufleet.engine.record import COMPLETED, RunRecord, row_slices
from gpufleet.report import energy as en

# [A] "large" as in Kokolis et al.'s study of failure exposure [S115]: the national
# workload's foundation-model gangs (~1,024 GPU-equivalents per team [S34]) and above.
LARGE_GPUS = 1024


Runs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # job index, start, end, cluster


def _segments(rec: RunRecord) -> Iterator[Runs]:
    """Every run that ended, in chunks: final runs first (in job order, a slice of rows a
    chunk), then runs cut by a failure, then runs cut by preemption."""
    n = len(rec.jobs)
    start = np.frombuffer(rec.start, np.float64) if n else np.zeros(0)
    end = np.frombuffer(rec.end, np.float64) if n else np.zeros(0)
    cluster = np.frombuffer(rec.cluster, np.int32) if n else np.zeros(0, np.int32)
    for rows in row_slices(n):
        s, e = start[rows], end[rows]
        ok = np.flatnonzero(~np.isnan(s) & ~np.isnan(e))
        yield ok + rows.start, s[ok], e[ok], cluster[rows][ok].astype(np.int64)
    for runs in (rec.failed, rec.preempted):
        if runs:
            a = np.array(runs, dtype=np.float64)
            yield a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3].astype(np.int64)


def reliability(rec: RunRecord) -> dict[str, Any]:
    """The run's reliability, capacity and energy figures as a JSON-ready dict."""
    n = len(rec.jobs)
    gpus = np.frombuffer(rec.jobs.gpus, np.int32) if n else np.zeros(0, np.int32)
    fleet = rec.fleet
    # A year is ~47 million runs: they are read a chunk at a time; only the GPU-seconds of
    # each run are kept whole, for their sum.
    seg_gpu_s = np.empty(sum(idx.size for idx, _, _, _ in _segments(rec)))
    at, last_end = 0, 0.0
    for idx, s, e, _ in _segments(rec):
        seg_gpu_s[at : at + idx.size] = (e - s) * gpus[idx]
        at += idx.size
        last_end = max(last_end, float(e.max(initial=0.0)))
    used = float(seg_gpu_s.sum())
    lost_f = float(sum(rec.lost_gpu_s.values()))
    n_pre = len(rec.preempted)
    lost_p = float(seg_gpu_s[len(seg_gpu_s) - n_pre :].sum()) if n_pre else 0.0
    del seg_gpu_s
    window = rec.window if rec.window > 0 else last_end
    online_at = np.array(rec.online_at or [0.0] * len(fleet.clusters), np.float64)
    sizes = np.array([cl.gpus for cl in fleet.clusters], np.float64)
    online_gpu_s = np.clip(window - online_at, 0.0, None) * sizes
    busy_by_cluster = np.zeros(len(fleet.clusters))
    for idx, s, e, c in _segments(rec):
        busy_w = np.clip(np.minimum(e, window) - np.minimum(s, window), 0.0, None) * gpus[idx]
        np.add.at(busy_by_cluster, c, busy_w)  # in run order, as one bincount would add
    return {
        "failures_on": rec.failures_on,
        "start_date": rec.start_date or None,
        "power_caps": rec.power_caps,
        "interruptions": int(sum(rec.failures.values())),
        "jobs_interrupted": len(rec.failures),
        "maintenance_on": rec.maintenance_on,
        "planned_interruptions": int(sum(rec.planned.values())),
        "maintenance_gpu_hours": rec.maintenance_gpu_s / 3600.0,
        "node_failures_by_cause": dict(sorted(rec.strikes.items())),
        "repair_gpu_hours": rec.repair_gpu_s / 3600.0,
        "gpu_hours_used": used / 3600.0,
        "lost_gpu_hours": lost_f / 3600.0,
        "preempted_gpu_hours": lost_p / 3600.0,
        "goodput": (used - lost_f - lost_p) / used if used > 0 else 1.0,
        "ettr_large": _ettr(rec, gpus),
        "online_gpu_hours": float(online_gpu_s.sum()) / 3600.0,
        "utilization_online": (
            float(busy_by_cluster.sum() / online_gpu_s.sum()) if online_gpu_s.sum() else 0.0
        ),
        "energy": _energy(rec, busy_by_cluster, online_gpu_s),
    }


def _ettr(rec: RunRecord, gpus: np.ndarray) -> dict[str, Any]:
    """Mean and lowest ETTR over completed jobs of at least LARGE_GPUS GPUs; productive
    seconds are all runs less the work failures threw away and the preempted runs."""
    n = len(rec.jobs)
    if n == 0:
        return {"min_gpus": LARGE_GPUS, "jobs": 0, "mean": None, "min": None}
    end = np.frombuffer(rec.end, np.float64)
    state = np.frombuffer(rec.state, np.int8)
    # the few large completed jobs, found a slice at a time
    big = np.concatenate(
        [np.zeros(0, np.int64)]
        + [
            np.flatnonzero(
                (gpus[rows] >= LARGE_GPUS) & (state[rows] == COMPLETED) & ~np.isnan(end[rows])
            )
            + rows.start
            for rows in row_slices(n)
        ]
    )
    # their runs, in the order of _segments: each one's first start, and its GPU-seconds of
    # all runs and of preempted runs, each summed in that order
    first = np.full(big.size, np.inf)
    run_gpu_s = np.zeros(big.size)
    lost_pre = np.zeros(big.size)
    preempted = sum(1 for _ in row_slices(n)) + bool(rec.failed)  # the last chunk's number
    for k, (idx, s, e, _) in enumerate(_segments(rec)):
        mine = np.isin(idx, big)
        at = np.searchsorted(big, idx[mine])
        seg = (e[mine] - s[mine]) * gpus[idx[mine]]
        np.minimum.at(first, at, s[mine])
        np.add.at(run_gpu_s, at, seg)
        if k == preempted:
            np.add.at(lost_pre, at, seg)
    lost = np.array([rec.lost_gpu_s.get(int(i), 0.0) for i in big], np.float64)
    if rec.preempted:
        lost += lost_pre
    found = np.isfinite(first)
    big, first, run_gpu_s, lost = big[found], first[found], run_gpu_s[found], lost[found]
    span = end[big] - first
    productive = (run_gpu_s - lost) / gpus[big]
    ratio = np.where(span > 0, productive / np.where(span > 0, span, 1.0), 1.0)
    return {
        "min_gpus": LARGE_GPUS,
        "jobs": int(big.size),
        "mean": float(ratio.mean()) if ratio.size else None,
        "min": float(ratio.min()) if ratio.size else None,
    }


def _energy(
    rec: RunRecord, busy_by_cluster: np.ndarray, online_gpu_s: np.ndarray
) -> dict[str, float]:
    """Facility energy, cost and CO2 inside the window, with report/energy.py's constants.

    GPUs not yet online draw nothing; online idle GPUs draw IDLE_SHARE of TDP. The keys carry
    online GPU-seconds as their GPU count and the span is one second, so `energy` sees busy
    and idle GPU-seconds directly.
    """
    fleet = rec.fleet
    keys = sorted({(cl.site, cl.gpu_model) for cl in fleet.clusters})
    at = {k: i for i, k in enumerate(keys)}
    busy = np.zeros(len(keys))
    online = np.zeros(len(keys))
    for ci, cl in enumerate(fleet.clusters):
        k = at[(cl.site, cl.gpu_model)]
        busy[k] += busy_by_cluster[ci]
        online[k] += online_gpu_s[ci]
    pk = en.power_keys(fleet, keys, [round(x) for x in online])
    e = en.energy(busy, pk, 1.0)
    return {"mwh": e.mwh, "krw": e.krw, "tco2e": e.tco2e}
