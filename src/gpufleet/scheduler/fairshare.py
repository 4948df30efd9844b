"""Fair share over the tenant tree: decayed usage, dominant shares and Fair Tree ranks.

Usage is GPU-seconds per (node, GPU model), decayed with a half-life as Slurm's multifactor
plugin does (PriorityDecayHalfLife). A node's *dominant share* is its largest share of any GPU
model's capacity (DRF): for its decayed usage (GPU-seconds over the model's GPUs) and for what
it runs now (GPUs over the model's GPUs). Among siblings, a node's usage is the larger of its
two dominant shares, each as a fraction of the siblings' total, and its level fair share is
its normalized share over that usage (Slurm's Fair Tree). Siblings are ordered by level fair
share, highest first; a depth-first walk of the ordered tree ranks the leaves, and rank 0
goes first. Ranks are recomputed every period (PriorityCalcPeriod), not at every start.

Accrual is exact without visiting running jobs: between recomputes a node accrues
running GPUs x elapsed time, corrected at each start (minus the time before it) and end
(plus the time it ran since the last recompute).
"""

from __future__ import annotations

import math

import numpy as np

from gpufleet.scheduler.quota import Quota


class FairShare:
    """Decayed usage and leaf ranks for one tenant tree, driven by the core's starts and ends."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        t = quota.tenancy
        self.half_life = t.fair_share.half_life_s
        self.period = t.fair_share.period_s
        n, nf = len(t.nodes), len(quota.flavors)
        self.models = nf - 1  # the `any` flavor is last and is not a resource of its own
        self.hist = [[0.0] * self.models for _ in range(n)]
        self.corr = [[0.0] * self.models for _ in range(n)]
        self.last = 0.0
        self.next_at = 0.0
        self.ranks: list[int] = [0] * n
        self._past: list[float] = [0.0] * n
        self._now: list[float] = [0.0] * n
        self.version = 0
        self._order: list[int] = []

    def started(self, leaf: int, flavor: int, gpus: int, now: float) -> None:
        d = gpus * (now - self.last)
        for node in self.quota.tenancy.path[leaf]:
            self.corr[node][flavor] -= d

    def ended(self, leaf: int, flavor: int, gpus: int, now: float) -> None:
        d = gpus * (now - self.last)
        for node in self.quota.tenancy.path[leaf]:
            self.corr[node][flavor] += d

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def recompute(self, now: float, rank: bool = True, waiting: set[int] | None = None) -> bool:
        """Decay and accrue usage up to `now`; rank the leaves when `rank` (only waiting jobs
        need ranks). True when the order changed among the `waiting` leaves (all when None):
        only then do ranks move, so queues holding the old ranks stay consistent, and a leaf
        that starts waiting later is at most one period behind."""
        q = self.quota
        dt = now - self.last
        decay = math.pow(0.5, dt / self.half_life) if dt > 0 else 1.0
        m = self.models
        used = np.array(q.used, dtype=np.float64)[:, :m]
        hist = np.array(self.hist) * decay + used * dt + np.array(self.corr)
        self.hist = hist.tolist()
        self.corr = [[0.0] * m for _ in self.corr]
        cap = np.array(q.capacity[:m], dtype=np.float64)
        scale = np.divide(1.0, cap, out=np.zeros(m), where=cap > 0)
        self._past = (hist * scale).max(axis=1).tolist() if m else [0.0] * len(hist)
        self._now = (used * scale).max(axis=1).tolist() if m else [0.0] * len(hist)
        self.last = now
        self.next_at = now + self.period
        if not rank:
            return False
        order = self._walk()
        if order == self._order:
            return False
        if waiting is not None and self._order:
            ranks = self.ranks
            mine = [leaf for leaf in order if leaf in waiting]
            if mine == sorted(mine, key=lambda leaf: ranks[leaf]):
                return False  # the waiting tenants keep their relative order
        self._order = order
        for i, leaf in enumerate(order):
            self.ranks[leaf] = i
        self.version += 1
        return True

    def dominant(self, node: int) -> tuple[float, float]:
        """(decayed, current) dominant share of `node`: its largest share of any model."""
        return self._past[node], self._now[node]  # as of the last recompute

    def _walk(self) -> list[int]:
        """Leaves in Fair Tree order: siblings by level fair share, depth first."""
        nodes = self.quota.tenancy.nodes
        order: list[int] = []
        stack = [n.id for n in reversed(nodes) if n.parent < 0]
        stack = self._sorted(stack)[::-1]
        while stack:
            nid = stack.pop()
            kids = nodes[nid].children
            if not kids:
                order.append(nid)
            else:
                stack.extend(reversed(self._sorted(list(kids))))
        return order

    def _sorted(self, siblings: list[int]) -> list[int]:
        """Siblings by level fair share (share over usage, both normalized), highest first."""
        nodes = self.quota.tenancy.nodes
        shares = [nodes[s].share for s in siblings]
        doms = [self.dominant(s) for s in siblings]
        total_share = sum(shares) or 1.0
        total_past = sum(d[0] for d in doms)
        total_now = sum(d[1] for d in doms)

        def level(i: int) -> float:
            past = doms[i][0] / total_past if total_past else 0.0
            now = doms[i][1] / total_now if total_now else 0.0
            usage = max(past, now)
            s = shares[i] / total_share
            return math.inf if usage <= 0 else s / usage

        idx = sorted(range(len(siblings)), key=lambda i: (-level(i), siblings[i]))
        return [siblings[i] for i in idx]
