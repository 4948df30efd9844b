"""Summary metrics of a run: waits, JCT, slowdown, utilization, makespan, shares, fairness.

Definitions (also in docs/metrics.md):
- wait = start - submit; JCT = end - submit; over jobs that ran (completed or timed out).
- bounded slowdown = max(1, JCT / max(run, tau)) with tau = 10 s (Feitelson's bound).
- utilization = GPU-seconds busy inside [0, window] / (fleet GPUs x window), counting runs cut
  by a failure (not those cut by preemption).
- Jain's index over tenant groups of x_g = GPU-hours delivered to g inside the window /
  GPU-hours g asked for among jobs submitted inside the window (1 = everyone served alike).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gpufleet.engine.record import (
    COMPLETED,
    REJECTED,
    STATE_NAMES,
    TIMEOUT,
    Accounts,
    RunRecord,
    row_slices,
)
from gpufleet.metrics.arrays import RunArrays, run_arrays

BSLD_TAU = 10.0


def _pcts(x: np.ndarray) -> dict[str, float]:
    """Mean, percentiles and max of `x`, which it reorders (percentiles partition in place:
    no copy of a year's waits)."""
    if x.size == 0:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    mean, top = float(x.mean()), float(x.max())  # before the partition reorders x
    p50, p95, p99 = np.percentile(x, [50, 95, 99], overwrite_input=True)
    return {"mean": mean, "p50": float(p50), "p95": float(p95), "p99": float(p99), "max": top}


def jain(values: list[float]) -> float:
    """Jain's fairness index: (sum x)^2 / (n * sum x^2); 1 when all equal."""
    xs = [v for v in values if v == v]
    if not xs or not any(xs):
        return 1.0
    return sum(xs) ** 2 / (len(xs) * sum(v * v for v in xs))


def summarize(rec: RunRecord) -> dict[str, Any]:
    """All headline metrics of a run as a JSON-ready dict."""
    jobs = rec.jobs
    n = len(jobs)
    a = run_arrays(rec)
    state, end = a.state, a.end
    ran = ((state == COMPLETED) | (state == TIMEOUT)) & ~np.isnan(end)
    window = rec.window if rec.window > 0 else float(np.nanmax(end, initial=0.0))
    makespan = float(np.nanmax(end, initial=0.0))
    total = rec.fleet.total_gpus
    # A year is ~47 million jobs: per-job figures are computed a slice at a time, and only
    # one full-length array (what a sum or a percentile needs whole) lives at once.
    acc = jobs.accounts()
    k = len(acc.names)
    n_of = np.zeros(k, np.int64)
    for rows in row_slices(n):
        n_of += np.bincount(acc.codes(jobs, rows), minlength=k)
    busy = _busy(rec, a, window)
    utilization = float(busy.sum() / (total * window)) if window > 0 else 0.0
    window_of = _sums_by_account(rec, acc, busy)
    del busy
    busy = _busy(rec, a, None)
    gpu_s = float(busy.sum())
    hours_of = _sums_by_account(rec, acc, busy)
    asks = (a.submit <= window) & ran
    asked_of = _sums_by_account(rec, acc, busy, asks)
    del busy, asks
    # per group (a job without one counts under its tenant), summed in job order
    names = acc.names
    groups: dict[str, dict[str, float]] = {
        name: {
            "jobs": int(n_of[c]),
            "gpu_hours": float(hours_of[c]),
            "window_gpu_hours": float(window_of[c]),
        }
        for c, name in enumerate(names)
    }
    asked = {name: float(asked_of[c]) for c, name in enumerate(names)}
    ratios = [
        min(1.0, g["window_gpu_hours"] / asked[k]) if asked.get(k) else float("nan")
        for k, g in groups.items()
    ]
    counts = {name: int((state == code).sum()) for code, name in enumerate(STATE_NAMES)}
    out = {
        "scenario": rec.fleet.name,
        "policy": rec.policy,
        "placement": rec.placement,
        "seed": rec.seed,
        "jobs": n,
        "states": counts,
        "fleet_gpus": total,
        "window_days": window / 86400.0,
        "makespan_days": makespan / 86400.0,
        "wait_s": _pcts(_of_ran(a, ran, _wait)),
        "jct_s": _pcts(_of_ran(a, ran, _jct)),
        "bounded_slowdown": _pcts(_of_ran(a, ran, _bsld)),
        "utilization": utilization,
        "utilization_makespan": gpu_s / (total * makespan) if makespan else 0.0,
        "gpu_hours": gpu_s / 3600.0,
        "groups": dict(sorted(groups.items())),
        "jain_fairness": jain(ratios),
        "rejected": int((state == REJECTED).sum()),
        "wall_seconds": rec.wall_seconds,
    }
    if rec.failures_on or rec.maintenance_on or rec.start_date or rec.power_caps:
        from gpufleet.metrics.reliability import reliability

        out["realism"] = reliability(rec)
    return out


def _wait(a: RunArrays, rows: slice) -> np.ndarray:
    out: np.ndarray = a.start[rows] - a.submit[rows]
    return out


def _jct(a: RunArrays, rows: slice) -> np.ndarray:
    out: np.ndarray = a.end[rows] - a.submit[rows]
    return out


def _bsld(a: RunArrays, rows: slice) -> np.ndarray:
    run = a.end[rows] - a.start[rows]
    out: np.ndarray = np.maximum(1.0, _jct(a, rows) / np.maximum(run, BSLD_TAU))
    return out


def _of_ran(
    a: RunArrays, ran: np.ndarray, f: Callable[[RunArrays, slice], np.ndarray]
) -> np.ndarray:
    """`f` of the jobs that ran, in job order, built a slice of rows at a time."""
    out = np.empty(int(ran.sum()))
    at = 0
    for rows in row_slices(len(ran)):
        x = f(a, rows)[ran[rows]]
        out[at : at + x.size] = x
        at += x.size
    return out


def _busy(rec: RunRecord, a: RunArrays, window: float | None) -> np.ndarray:
    """GPU-seconds each job held (inside [0, window] when given): its last run plus its runs
    cut by a failure (runs cut by preemption are not counted)."""
    extra = _failed_gpu_s(rec, a, window)
    out = np.empty(len(a.state))
    for rows in row_slices(out.size):
        start, end = a.start[rows], a.end[rows]
        s = np.where(np.isnan(start), 0.0, start)
        e = np.where(np.isnan(end), s, end)
        if window is None:
            b = e
            b -= s
        else:
            b = np.minimum(e, window)
            b -= np.minimum(s, window)
            np.clip(b, 0, None, out=b)
        b *= a.gpus[rows]
        out[rows] = b
    if extra is not None:
        out[extra[0]] += extra[1]
    return out


def _failed_gpu_s(
    rec: RunRecord, a: RunArrays, window: float | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(jobs, GPU-seconds of each one's runs cut by a failure, summed in run order)."""
    if not rec.failed:
        return None
    f = np.array(rec.failed, dtype=np.float64)
    fi, fs, fe = f[:, 0].astype(np.int64), f[:, 1], f[:, 2]
    if window is None:
        held = (fe - fs) * a.gpus[fi]
    else:
        held = np.clip(np.minimum(fe, window) - np.minimum(fs, window), 0, None) * a.gpus[fi]
    jobs, inverse = np.unique(fi, return_inverse=True)
    return jobs, np.bincount(inverse, weights=held, minlength=jobs.size)


def _sums_by_account(
    rec: RunRecord, acc: Accounts, busy: np.ndarray, where: np.ndarray | None = None
) -> np.ndarray:
    """GPU-hours of `busy` (of the jobs `where` holds) per account, added in job order."""
    out = np.zeros(len(acc.names))
    for rows in row_slices(busy.size):
        code = acc.codes(rec.jobs, rows)
        hours = busy[rows] / 3600.0
        if where is not None:
            code, hours = code[where[rows]], hours[where[rows]]
        np.add.at(out, code, hours)  # in order, as one bincount over all jobs would add
    return out
