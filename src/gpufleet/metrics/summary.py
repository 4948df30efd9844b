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

from typing import Any

import numpy as np

from gpufleet.engine.record import COMPLETED, REJECTED, STATE_NAMES, TIMEOUT, RunRecord
from gpufleet.metrics.arrays import run_arrays

BSLD_TAU = 10.0


def _pcts(x: np.ndarray) -> dict[str, float]:
    if x.size == 0:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    p50, p95, p99 = np.percentile(x, [50, 95, 99])
    return {
        "mean": float(x.mean()),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(x.max()),
    }


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
    # A year is ~47 million jobs: the per-job arrays below are built in place where they can
    # be, and the group codes first, so that their temporaries never coexist.
    names, code = jobs.account_codes()
    a = run_arrays(rec)
    state, start, end, submit, gpus = a.state, a.start, a.end, a.submit, a.gpus
    ran = ((state == COMPLETED) | (state == TIMEOUT)) & ~np.isnan(end)
    wait = (start - submit)[ran]
    jct = (end - submit)[ran]
    run = (end - start)[ran]
    bsld = np.maximum(1.0, jct / np.maximum(run, BSLD_TAU)) if ran.any() else np.zeros(0)
    del run
    window = rec.window if rec.window > 0 else float(np.nanmax(end, initial=0.0))
    total = rec.fleet.total_gpus
    s = np.where(np.isnan(start), 0.0, start)
    e = np.where(np.isnan(end), s, end)
    busy_in_window = np.minimum(e, window)
    busy_in_window -= np.minimum(s, window)
    np.clip(busy_in_window, 0, None, out=busy_in_window)
    busy_in_window *= gpus
    busy_total = e
    busy_total -= s
    busy_total *= gpus
    del s, e
    if rec.failed:
        # runs cut by a failure held their GPUs too (runs cut by preemption are not counted)
        f = np.array(rec.failed, dtype=np.float64)
        fi, fs, fe = f[:, 0].astype(np.int64), f[:, 1], f[:, 2]
        in_w = np.clip(np.minimum(fe, window) - np.minimum(fs, window), 0, None) * gpus[fi]
        busy_in_window += np.bincount(fi, weights=in_w, minlength=n)
        busy_total += np.bincount(fi, weights=(fe - fs) * gpus[fi], minlength=n)
    makespan = float(np.nanmax(end, initial=0.0))
    # per group (a job without one counts under its tenant), summed in job order
    k = len(names)
    hours = busy_total / 3600.0
    n_of = np.bincount(code, minlength=k)
    hours_of = np.bincount(code, weights=hours, minlength=k)
    window_of = np.bincount(code, weights=busy_in_window / 3600.0, minlength=k)
    asks = (submit <= window) & ran
    asked_of = np.bincount(code[asks], weights=hours[asks], minlength=k)
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
        "wait_s": _pcts(wait),
        "jct_s": _pcts(jct),
        "bounded_slowdown": _pcts(bsld),
        "utilization": float(busy_in_window.sum() / (total * window)) if window > 0 else 0.0,
        "utilization_makespan": float(busy_total.sum() / (total * makespan)) if makespan else 0.0,
        "gpu_hours": float(busy_total.sum() / 3600.0),
        "groups": dict(sorted(groups.items())),
        "jain_fairness": jain(ratios),
        "rejected": int((state == REJECTED).sum()),
        "wall_seconds": rec.wall_seconds,
    }
    if rec.failures_on or rec.maintenance_on or rec.start_date or rec.power_caps:
        from gpufleet.metrics.reliability import reliability

        out["realism"] = reliability(rec)
    return out
