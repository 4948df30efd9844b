"""Per tenant group: GPU-hours against entitlement, waits, preemptions and grant use.

Every node of the tenant tree that has children is a group; its figures cover the jobs of all
leaves below it. GPU-hours count every run of a job, including runs cut short by preemption
(that work was done, then lost). A group's entitlement is its guaranteed GPUs over the fleet's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gpufleet.engine.record import COMPLETED, PENDING, REJECTED, TIMEOUT, RunRecord, row_slices
from gpufleet.metrics.arrays import RunArrays, run_arrays
from gpufleet.tenancy.model import ANY, Grant, Tenancy


def tenancy_summary(rec: RunRecord, tenancy: Tenancy) -> dict[str, Any]:
    """{"groups": [row per internal node, depth-first], "grants": [...], "preempted_runs"}."""
    jobs = rec.jobs
    a = run_arrays(rec)
    last = float(np.nanmax(a.end, initial=0.0))
    lost, preempts = _preempted_by_job(rec, a)
    # leaf node of each tenant code; tenants outside the tree map to a node no mask holds
    outside = len(tenancy.nodes)
    leaf_by_code = np.array([tenancy.leaf.get(w, outside) for w in jobs.tenant.words], np.int64)
    f = _PerJob(a, jobs.tenant.code_array(), leaf_by_code, last, lost)
    # A year is ~47 million jobs: each figure below is computed a slice of rows at a time,
    # and the whole-length arrays that a sum or a percentile needs exist one at a time.
    all_lost_s = f.whole(f.lost_s).sum()  # summed whole, then dropped: one at a time
    total_gpu_s = float(f.whole(f.gpu_s).sum() + all_lost_s)
    fleet_gpus = rec.fleet.total_gpus
    members: dict[int, list[int]] = {}
    for leaf in set(leaf_by_code.tolist()):  # the leaves that have jobs
        if leaf == outside:
            continue
        for node in tenancy.path[leaf]:
            members.setdefault(node, []).append(leaf)
    entitled = _entitlements(tenancy)
    groups = []
    for node in tenancy.nodes:
        if not node.children or node.id not in members:
            continue
        lut = np.zeros(outside + 1, bool)
        lut[members[node.id]] = True
        mine = {i for i in preempts if lut[f.leaf_of(i)]}
        lost_g = f.gather(lut, f.lost_s).sum()
        used = float(f.gather(lut, f.gpu_s).sum() + lost_g)
        w = f.gather(lut, f.wait, ran_only=True)
        groups.append(
            {
                "group": node.name,
                "depth": len(tenancy.path[node.id]) - 1,
                "jobs": f.count(lut),
                "gpu_hours": used / 3600.0,
                "share": used / total_gpu_s if total_gpu_s else 0.0,
                "entitlement": entitled[node.id] / fleet_gpus if fleet_gpus else 0.0,
                "wait_p50_s": _percentile(w, 50),
                "wait_p95_s": _percentile(w, 95),
                "preempted_jobs": len(mine),
                "lost_gpu_hours": float(lost_g) / 3600.0,
                "pending": f.count(lut, PENDING),
                "rejected": f.count(lut, REJECTED),
            }
        )
    grants = []
    for node in tenancy.nodes:
        if not node.grants:
            continue
        lut = np.zeros(outside + 1, bool)
        lut[node.id] = True
        for g in node.grants:
            # only runs that happened: the last run of each started job, and every run cut
            # by preemption (it held its GPUs and was charged); a job that never started
            # used nothing
            used_s = float(f.gather(lut, f.granted(g), began_only=True).sum())
            for i, s0, e0, _ in rec.preempted:
                if lut[f.leaf_of(i)]:
                    used_s += (min(e0, g.end) - min(max(s0, g.start), g.end)) * a.gpus[i]
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
        "lost_gpu_hours": float(all_lost_s) / 3600.0,
    }


def _preempted_by_job(rec: RunRecord, a: RunArrays) -> tuple[dict[int, float], set[int]]:
    """GPU-seconds each job lost to preemption (added in run order), and the jobs hit."""
    lost: dict[int, float] = {}
    for i, s, e, _ in rec.preempted:
        lost[i] = lost.get(i, 0.0) + (e - s) * a.gpus[i]
    return lost, set(lost)


def _percentile(w: np.ndarray, q: float) -> float:
    return float(np.percentile(w, q, overwrite_input=True)) if w.size else float("nan")


Column = Callable[[slice], np.ndarray]


class _PerJob:
    """Per-job figures of the tenancy summary, computed for a slice of rows when asked."""

    def __init__(
        self,
        a: RunArrays,
        tenant: np.ndarray,
        leaf_by_code: np.ndarray,
        last: float,
        lost: dict[int, float],
    ) -> None:
        self.a, self.tenant, self.leaf_by_code, self.last = a, tenant, leaf_by_code, last
        self.n = len(a.state)
        self.lost_at = np.fromiter(lost, np.int64, len(lost))
        self.lost_gpu_s = np.fromiter(lost.values(), np.float64, len(lost))

    def leaf_of(self, i: int) -> int:
        return int(self.leaf_by_code[self.tenant[i]])

    def ran_to(self, rows: slice) -> np.ndarray:
        end = self.a.end[rows]
        return np.where(np.isnan(end), self.last, end)

    def gpu_s(self, rows: slice) -> np.ndarray:
        start = self.a.start[rows]
        return np.where(np.isnan(start), 0.0, (self.ran_to(rows) - start) * self.a.gpus[rows])

    def lost_s(self, rows: slice) -> np.ndarray:
        out = np.zeros(rows.stop - rows.start)
        at = (self.lost_at >= rows.start) & (self.lost_at < rows.stop)
        out[self.lost_at[at] - rows.start] = self.lost_gpu_s[at]
        return out

    def wait(self, rows: slice) -> np.ndarray:
        out: np.ndarray = self.a.start[rows] - self.a.submit[rows]
        return out

    def granted(self, g: Grant) -> Column:
        """GPU-seconds of each job's last run inside the grant's period."""

        def of(rows: slice) -> np.ndarray:
            lo = np.clip(self.a.start[rows], g.start, g.end)
            hi = np.clip(self.ran_to(rows), g.start, g.end)
            out: np.ndarray = (hi - lo) * self.a.gpus[rows]
            return out

        return of

    def _mask(
        self, rows: slice, by_code: np.ndarray, ran_only: bool, began_only: bool
    ) -> np.ndarray:
        mask = by_code[self.tenant[rows]]
        state, start = self.a.state[rows], self.a.start[rows]
        if ran_only:
            mask &= ((state == COMPLETED) | (state == TIMEOUT)) & ~np.isnan(start)
        if began_only:
            mask &= ~np.isnan(start)
        out: np.ndarray = mask
        return out

    def whole(self, col: Column) -> np.ndarray:
        """`col` of every job, in one array (for a sum over all jobs)."""
        out = np.empty(self.n)
        for rows in row_slices(self.n):
            out[rows] = col(rows)
        return out

    def gather(
        self, lut: np.ndarray, col: Column, *, ran_only: bool = False, began_only: bool = False
    ) -> np.ndarray:
        """`col` of the jobs whose leaf `lut` holds (that ran, or began), in job order."""
        by_code = lut[self.leaf_by_code]  # whether each tenant code's leaf is held
        size = sum(
            int(self._mask(rows, by_code, ran_only, began_only).sum())
            for rows in row_slices(self.n)
        )
        out = np.empty(size)
        at = 0
        for rows in row_slices(self.n):
            x = col(rows)[self._mask(rows, by_code, ran_only, began_only)]
            out[at : at + x.size] = x
            at += x.size
        return out

    def count(self, lut: np.ndarray, state: int | None = None) -> int:
        """Jobs whose leaf `lut` holds (in `state`, if given)."""
        by_code = lut[self.leaf_by_code]
        total = 0
        for rows in row_slices(self.n):
            mask = by_code[self.tenant[rows]]
            if state is not None:
                mask &= self.a.state[rows] == state
            total += int(mask.sum())
        return total


def _entitlements(tenancy: Tenancy) -> list[float]:
    """Guaranteed GPUs per node: its own guarantee, else the sum of its children's."""
    out = [0.0] * len(tenancy.nodes)
    for node in reversed(tenancy.nodes):  # children come after their parents
        own = node.guarantee.get(ANY, sum(v for k, v in node.guarantee.items() if k != ANY))
        out[node.id] = float(own) if own else sum(out[c] for c in node.children)
    return out
