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
(plus the time it ran since the last recompute). A start or an end adds its GPUs and its
correction to the nodes of its line (flat lists, a few adds); a recompute reads them as
numpy arrays and ranks the whole tree with array operations, so its cost does not grow
with the jobs that ran in the period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gpufleet.scheduler.quota import Quota
from gpufleet.tenancy.model import Node


class FairShare:
    """Decayed usage and leaf ranks for one tenant tree, driven by the core's starts and ends."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        t = quota.tenancy
        self.half_life = t.fair_share.half_life_s
        self.period = t.fair_share.period_s
        n, nf = len(t.nodes), len(quota.flavors)
        self.models = m = nf - 1  # the `any` flavor is last and is not a resource of its own
        self.hist = np.zeros((n, m))  # decayed GPU-seconds per (node, model)
        self._used = np.zeros((n, m))  # running GPUs per (node, model), as of the last recompute
        # Since the last recompute, per (node, model) at node x m + model: GPUs started less
        # GPUs ended, and GPUs x (time of the start or end - last recompute). Added in event
        # order, as a bincount of the events would add them.
        self._gpus = [0.0] * (n * m)
        self._since = [0.0] * (n * m)
        self._rows = [tuple(x * m for x in p) for p in t.path]  # leaf -> its line's row starts
        self.last = 0.0
        self.next_at = 0.0  # the next recompute is due at this time
        self.ranks: list[int] = [0] * n
        self._past = np.zeros(n)
        self._now = np.zeros(n)
        self.version = 0
        self._order: list[int] = []
        cap = np.array(quota.capacity[:m], dtype=np.float64)
        self._scale = np.divide(1.0, cap, out=np.zeros(m), where=cap > 0)
        self._tree = _TreeIndex(t.nodes, t.path)

    def started(self, leaf: int, flavor: int, gpus: int, now: float) -> None:
        self._add(leaf, flavor, float(gpus), now)

    def ended(self, leaf: int, flavor: int, gpus: int, now: float) -> None:
        self._add(leaf, flavor, float(-gpus), now)

    def _add(self, leaf: int, flavor: int, g: float, now: float) -> None:
        d = g * (now - self.last)
        gpus, since = self._gpus, self._since
        for row in self._rows[leaf]:
            i = row + flavor
            gpus[i] += g
            since[i] += d

    def _fold(self) -> np.ndarray:
        """Apply the starts and ends since the last recompute to the running GPUs; return
        their correction to `running x period` (GPU-seconds per node and model)."""
        n, m = self.hist.shape
        size = n * m
        self._used += np.fromiter(self._gpus, np.float64, size).reshape(n, m)
        corr = np.zeros((n, m))  # (zeros less the sums: no -0.0, as before)
        corr -= np.fromiter(self._since, np.float64, size).reshape(n, m)
        self._gpus = [0.0] * (n * m)
        self._since = [0.0] * (n * m)
        return corr

    def recompute(self, now: float, rank: bool = True, waiting: set[int] | None = None) -> bool:
        """Decay and accrue usage up to `now`; rank the leaves when `rank` (only waiting jobs
        need ranks). True when the order changed among the `waiting` leaves (all when None):
        only then do ranks move, so queues holding the old ranks stay consistent, and a leaf
        that starts waiting later is at most one period behind."""
        dt = now - self.last
        decay = math.pow(0.5, dt / self.half_life) if dt > 0 else 1.0
        corr = self._fold()
        used = self._used
        self.hist = self.hist * decay + used * dt + corr
        self.last = now
        self.next_at = now + self.period
        if not rank or (waiting is not None and len(waiting) < 2 and self._order):
            return False  # (fewer than two tenants waiting keep their relative order)
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

    def _walk(self) -> list[int]:
        """Leaves in Fair Tree order: siblings by level fair share, depth first."""
        if self.models:  # dominant shares of decayed usage and of what runs now
            self._past = (self.hist * self._scale).max(axis=1)
            self._now = (self._used * self._scale).max(axis=1)
        return self._tree.order(self._past, self._now)


class _TreeIndex:
    """The tenant tree as arrays, to rank all siblings and order the leaves at once.

    A leaf's place in the depth-first walk is the sequence of its ancestors' places among
    their siblings, root first: sorting the leaves by those sequences is the walk.
    """

    def __init__(self, nodes: Sequence[Node], path: Sequence[Sequence[int]]) -> None:
        n = len(nodes)
        self.ids = np.arange(n)
        self.group = np.array([x.parent if x.parent >= 0 else n for x in nodes], dtype=np.int64)
        self.share = np.array([x.share for x in nodes], dtype=np.float64)
        self.n = n
        depth = max((len(p) for p in path), default=0)
        self.leaves = np.array([x.id for x in nodes if not x.children], dtype=np.int64)
        # each leaf's line root first, padded after the leaf (a leaf is nobody's prefix)
        self.lines = np.full((len(self.leaves), max(depth, 1)), -1, dtype=np.int64)
        for i, leaf in enumerate(self.leaves):
            p = path[int(leaf)][::-1]
            self.lines[i, : len(p)] = p
        self._total_share = np.bincount(self.group, weights=self.share, minlength=n + 1)

    def order(self, past: np.ndarray, now: np.ndarray) -> list[int]:
        n, group = self.n, self.group
        total_past = np.bincount(group, weights=past, minlength=n + 1)[group]
        total_now = np.bincount(group, weights=now, minlength=n + 1)[group]
        total_share = self._total_share[group]
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(total_past > 0, past / total_past, 0.0)
            c = np.where(total_now > 0, now / total_now, 0.0)
            s = np.where(total_share > 0, self.share / total_share, self.share)
            usage = np.maximum(p, c)
            level = np.where(usage > 0, s / usage, np.inf)
        # place among siblings: by level fair share, highest first, then by id
        by = np.lexsort((self.ids, -level, group))
        place = np.empty(n, dtype=np.int64)
        starts = np.searchsorted(group[by], group[by], side="left")
        place[by] = np.arange(n) - starts
        keys = np.where(self.lines >= 0, place[np.maximum(self.lines, 0)], -1)
        walk = np.lexsort(keys.T[::-1])
        return self.leaves[walk].tolist()  # type: ignore[no-any-return]
