"""Per tenant group: GPU-hours against entitlement, waits, preemptions and grant use.

Every node of the tenant tree that has children is a group; its figures cover the jobs of all
leaves below it. GPU-hours count every run of a job, including runs cut short by preemption
(that work was done, then lost). A group's entitlement is its guaranteed GPUs over the fleet's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpufleet.engine.record import COMPLETED, PENDING, REJECTED, TIMEOUT, RunRecord
from gpufleet.metrics.arrays import run_arrays
from gpufleet.tenancy.model import ANY, Tenancy


def tenancy_summary(rec: RunRecord, tenancy: Tenancy) -> dict[str, Any]:
    """{"groups": [row per internal node, depth-first], "grants": [...], "preempted_runs"}."""
    jobs = rec.jobs
    n = len(jobs)
    a = run_arrays(rec)
    state, start, end, submit, gpus = a.state, a.start, a.end, a.submit, a.gpus
    last = float(np.nanmax(end, initial=0.0))
    ran_to = np.where(np.isnan(end), last, end)
    gpu_s = np.where(np.isnan(start), 0.0, (ran_to - start) * gpus)
    lost_s = np.zeros(n)
    preempts = np.zeros(n, dtype=np.int64)
    for i, s, e, _ in rec.preempted:
        lost_s[i] += (e - s) * gpus[i]
        preempts[i] += 1
    leaf_by_code = np.array([tenancy.leaf.get(w, -1) for w in jobs.tenant.words], np.int64)
    codes = np.frombuffer(jobs.tenant.codes, np.int32) if n else np.zeros(0, np.int32)
    leaf_of = leaf_by_code[codes] if n else np.zeros(0, np.int64)
    ran = ((state == COMPLETED) | (state == TIMEOUT)) & ~np.isnan(start)
    wait = start - submit
    total_gpu_s = float(gpu_s.sum() + lost_s.sum())
    fleet_gpus = rec.fleet.total_gpus
    members: dict[int, list[int]] = {}
    for leaf in set(leaf_of.tolist()):
        if leaf < 0:
            continue
        for node in tenancy.path[leaf]:
            members.setdefault(node, []).append(leaf)
    entitled = _entitlements(tenancy)
    groups = []
    for node in tenancy.nodes:
        if not node.children or node.id not in members:
            continue
        mask = np.isin(leaf_of, members[node.id])
        used = float(gpu_s[mask].sum() + lost_s[mask].sum())
        w = wait[mask & ran]
        groups.append(
            {
                "group": node.name,
                "depth": len(tenancy.path[node.id]) - 1,
                "jobs": int(mask.sum()),
                "gpu_hours": used / 3600.0,
                "share": used / total_gpu_s if total_gpu_s else 0.0,
                "entitlement": entitled[node.id] / fleet_gpus if fleet_gpus else 0.0,
                "wait_p50_s": float(np.percentile(w, 50)) if w.size else float("nan"),
                "wait_p95_s": float(np.percentile(w, 95)) if w.size else float("nan"),
                "preempted_jobs": int((preempts[mask] > 0).sum()),
                "lost_gpu_hours": float(lost_s[mask].sum()) / 3600.0,
                "pending": int((mask & (state == PENDING)).sum()),
                "rejected": int((mask & (state == REJECTED)).sum()),
            }
        )
    grants = []
    for node in tenancy.nodes:
        mask = leaf_of == node.id
        for g in node.grants:
            # only runs that happened: the last run of each started job, and every run cut
            # by preemption (it held its GPUs and was charged); a job that never started
            # used nothing
            began = ~np.isnan(start) & mask
            lo = np.clip(start[began], g.start, g.end)
            hi = np.clip(ran_to[began], g.start, g.end)
            used_s = float(((hi - lo) * gpus[began]).sum())
            for i, s0, e0, _ in rec.preempted:
                if mask[i]:
                    used_s += (min(e0, g.end) - min(max(s0, g.start), g.end)) * gpus[i]
            used_h = used_s / 3600.0
            award_h = g.gpu_hours or g.gpus * (g.end - g.start) / 3600.0
            grants.append(
                {
                    "tenant": node.name,
                    "grant": g.name,
                    "flavor": g.flavor,
                    "award_gpu_hours": award_h,
                    "used_gpu_hours": used_h,
                    "used_fraction": used_h / award_h if award_h else 0.0,
                }
            )
    return {
        "groups": groups,
        "grants": grants,
        "preempted_runs": len(rec.preempted),
        "lost_gpu_hours": float(lost_s.sum()) / 3600.0,
    }


def _entitlements(tenancy: Tenancy) -> list[float]:
    """Guaranteed GPUs per node: its own guarantee, else the sum of its children's."""
    out = [0.0] * len(tenancy.nodes)
    for node in reversed(tenancy.nodes):  # children come after their parents
        own = node.guarantee.get(ANY, sum(v for k, v in node.guarantee.items() if k != ANY))
        out[node.id] = float(own) if own else sum(out[c] for c in node.children)
    return out
