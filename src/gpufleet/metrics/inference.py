"""What inference services got in a run: objective attainment, tokens, energy, preemptions.

Definitions (also in docs/realism.md):
- capacity at a moment = sum over running replicas of tokens/s of a replica on its GPU model;
  a replica waiting for GPUs or for its victims' grace period serves nothing.
- time is cut into STEP_S steps; a step counts a replica if the replica runs at the step's
  start, and the demand is the curve's value there.
- served tokens = sum of min(demand, capacity) x STEP_S; offered = sum of demand x STEP_S.
- a step is within the objective when capacity >= demand (throughput) or demand <= target x
  capacity (latency proxy), or when there is no demand. Attainment by time = share of steps
  within; by requests = share of offered tokens that arrive in such steps (requests taken as
  proportional to tokens [A]).
- energy = replica GPU-seconds x the model's TDP x the site's PUE (busy draw only, as
  report/energy.py counts busy GPUs); tokens per MWh = served tokens / that energy.
- preempted by inference: runs cut by a reclaim whose claiming job is a service replica.
- replica wait: from a replica's submission to its first start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpufleet.engine.inference import ReplicaPlan
from gpufleet.engine.record import RunRecord
from gpufleet.workload.services import LATENCY, ServiceSet

STEP_S = 60.0  # [A] one minute: finer than any decision interval, cheap for a year
_J_PER_MWH = 3.6e9


def inference_summary(rec: RunRecord, services: ServiceSet, plan: ReplicaPlan) -> dict[str, Any]:
    """The `inference` block of metrics.json."""
    ids = rec.jobs.ids()
    wanted = np.fromiter(plan.service_of, np.int64, count=len(plan.service_of))
    index = {int(ids[i]): int(i) for i in np.flatnonzero(np.isin(ids, wanted))}
    by_service: list[list[int]] = [[] for _ in services.services]
    for jid, si in plan.service_of.items():
        by_service[si].append(index[jid])
    rows = {}
    for si, s in enumerate(services.services):
        rows[s.name] = _service(rec, services, plan, si, by_service[si])
    pre = _preempted(rec, services, set(index[j] for j in plan.service_of))
    served = sum(r["tokens_served"] for r in rows.values())
    mwh = sum(r["energy_mwh"] for r in rows.values())
    return {
        "step_s": STEP_S,
        "services": rows,
        "tokens_served": served,
        "energy_mwh": mwh,
        "tokens_per_mwh": served / mwh if mwh > 0 else 0.0,
        "preempted_by_inference": pre,
    }


def _segments(rec: RunRecord, rows: list[int], horizon: float) -> np.ndarray:
    """(start, end, cluster) of every run of the given jobs, cut at the horizon."""
    rowset = set(rows)
    segs = [
        (rec.start[i], rec.end[i] if rec.end[i] == rec.end[i] else horizon, rec.cluster[i])
        for i in rows
        if rec.start[i] == rec.start[i]
    ]
    for runs in (rec.failed, rec.preempted):
        segs += [(s, e, c) for i, s, e, c in runs if i in rowset]
    a = np.array(segs, dtype=np.float64).reshape(-1, 3)
    a[:, 1] = np.minimum(a[:, 1], horizon)
    return a[a[:, 1] > a[:, 0]]


def _service(
    rec: RunRecord, services: ServiceSet, plan: ReplicaPlan, si: int, rows: list[int]
) -> dict[str, Any]:
    s = services.services[si]
    fleet = rec.fleet
    horizon = plan.horizon
    n = int(np.ceil(horizon / STEP_S))
    t = np.arange(n) * STEP_S
    segs = _segments(rec, rows, horizon)
    cl = segs[:, 2].astype(np.int64)
    model = [fleet.clusters[c].gpu_model for c in cl]
    tok = np.array([s.tokens_per_s[m] for m in model], dtype=np.float64)
    i0 = np.ceil(segs[:, 0] / STEP_S).astype(np.int64)
    i1 = np.minimum(np.ceil(segs[:, 1] / STEP_S).astype(np.int64), n)
    diff = np.zeros(n + 1)
    np.add.at(diff, i0, tok)
    np.add.at(diff, i1, -tok)
    cap = np.cumsum(diff[:n])
    demand = s.demand.at(t)
    usable = cap * (s.objective.target if s.objective.kind == LATENCY else 1.0)
    ok = (demand <= usable + 1e-9) | (demand <= 0)
    offered = float(demand.sum() * STEP_S)
    served = float(np.minimum(demand, cap).sum() * STEP_S)
    gpu_s = (segs[:, 1] - segs[:, 0]) * s.gpus
    pue = {x.id: x.pue for x in fleet.sites}
    site = [fleet.clusters[c].site for c in cl]
    watts = np.array(
        [fleet.models[m].tdp_w * pue[x] for m, x in zip(model, site, strict=True)],
        dtype=np.float64,
    )
    mwh = float((gpu_s * watts).sum() / _J_PER_MWH)
    submit = rec.jobs.submit
    waits = np.array([t - submit[i] for i, t in _first_starts(rec, rows).items()])
    return {
        "tenant": s.tenant,
        "objective": s.objective.kind,
        "target": s.objective.target,
        "replicas_min": s.min_replicas,
        "replicas_max": s.max_replicas,
        "replicas_submitted": len(rows),
        "attainment_time": float(ok.mean()) if n else 1.0,
        "attainment_requests": float((demand * ok).sum() * STEP_S / offered) if offered else 1.0,
        "tokens_offered": offered,
        "tokens_served": served,
        "gpu_hours": float(gpu_s.sum() / 3600.0),
        "energy_mwh": mwh,
        "tokens_per_mwh": served / mwh if mwh > 0 else 0.0,
        "replica_wait_s": {
            "mean": float(waits.mean()) if waits.size else 0.0,
            "max": float(waits.max()) if waits.size else 0.0,
        },
        "replicas_sampled": _sampled(rec, segs, plan.targets[si], horizon),
    }


def _first_starts(rec: RunRecord, rows: list[int]) -> dict[int, float]:
    """When each of the jobs first started (a run cut by a failure or a reclaim came first)."""
    first = {i: rec.start[i] for i in rows if rec.start[i] == rec.start[i]}
    rowset = set(rows)
    for runs in (rec.failed, rec.preempted):
        for i, st, _, _ in runs:
            if i in rowset:
                first[i] = min(first.get(i, st), st)
    return first


def _sampled(
    rec: RunRecord, segs: np.ndarray, targets: tuple[tuple[float, int], ...], horizon: float
) -> dict[str, Any]:
    """Running and target replicas at the run's sample times (none from the horizon on)."""
    ts = np.array(rec.sample_time, dtype=np.float64)
    # runs begun by t less runs ended by t (every run ends after it begins)
    began = np.searchsorted(np.sort(segs[:, 0]), ts, side="right")
    running = began - np.searchsorted(np.sort(segs[:, 1]), ts, side="right")
    tt = np.array([x for x, _ in targets], dtype=np.float64)
    tn = np.array([0] + [n for _, n in targets], dtype=np.int64)
    target = np.where(ts < horizon, tn[np.searchsorted(tt, ts, side="right")], 0)
    return {
        "every_s": rec.sample_every,
        "running": running.astype(int).tolist(),
        "target": target.astype(int).tolist(),
    }


def _preempted(rec: RunRecord, services: ServiceSet, replicas: set[int]) -> dict[str, Any]:
    """Runs of other jobs cut by reclaims for a service's replica (by the reason's tenant)."""
    tails = tuple(f" of {s.tenant}" for s in services.services)
    runs = 0
    jobs: set[int] = set()
    gpu_s = 0.0
    kinds: dict[str, int] = {}
    for (i, s, e, _), why in zip(rec.preempted, rec.preempted_by, strict=True):
        if i in replicas or not why.endswith(tails):
            continue
        runs += 1
        jobs.add(i)
        gpu_s += (e - s) * rec.jobs.gpus[i]
        kind = rec.jobs.kind[i]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "runs": runs,
        "jobs": len(jobs),
        "gpu_hours_lost": gpu_s / 3600.0,
        "runs_by_kind": dict(sorted(kinds.items())),
    }
