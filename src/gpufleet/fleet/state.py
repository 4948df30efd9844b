"""Mutable free capacity of a fleet, with indices keyed by free GPUs so placement never scans.

For every cluster, `buckets[c][f]` holds the domains with exactly f free GPUs (f >= 1), as an
insertion-ordered dict used as a set, so the smallest domain that fits a job is found in at
most `domain_gpus` dictionary probes. Blocks and clusters keep their free GPUs and their count
of wholly free domains. `check()` re-derives everything from scratch and compares.
"""

from __future__ import annotations

from typing import Final

from gpufleet.errors import InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.value import Value


class Allocation(Value):
    """GPUs held by one job: `parts` are (domain id, GPUs) pairs inside one cluster."""

    __slots__ = ("cluster", "parts")
    __match_args__ = ("cluster", "parts")

    def __init__(self, cluster: int, parts: tuple[tuple[int, int], ...]) -> None:
        self.cluster: Final = cluster
        self.parts: Final = parts

    def _key(self) -> tuple[int, tuple[tuple[int, int], ...]]:
        return (self.cluster, self.parts)

    @property
    def gpus(self) -> int:
        return sum(n for _, n in self.parts)


class AllocationState:
    """Free GPUs per domain, block and cluster, updated in O(1) per touched domain."""

    __slots__ = (
        "block_free",
        "block_full",
        "buckets",
        "cluster_free",
        "cluster_full",
        "cluster_returns",
        "fleet",
        "free",
        "held",
        "levels",
        "moves",
    )

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.free: list[int] = list(fleet.domain_gpus)
        self.block_free: list[int] = [0] * fleet.n_blocks
        self.block_full: list[int] = [0] * fleet.n_blocks
        self.cluster_free: list[int] = [c.gpus for c in fleet.clusters]
        self.cluster_full: list[int] = [c.n_domains for c in fleet.clusters]
        self.buckets: list[list[dict[int, None]]] = [
            [{} for _ in range(c.domain_gpus + 1)] for c in fleet.clusters
        ]
        self.held: dict[int, Allocation] = {}
        # Counts releases per cluster: while it stays, a cluster's free GPUs have only shrunk.
        self.cluster_returns: list[int] = [0] * len(fleet.clusters)
        self.moves = 0  # counts takes and releases: while it stays, no GPU has moved
        # levels[c]: bit f is set when some domain of cluster c has exactly f free GPUs, so the
        # smallest level >= g is one shift and one lowest-bit operation away.
        self.levels: list[int] = [0] * len(fleet.clusters)
        for d, cap in enumerate(fleet.domain_gpus):
            b = fleet.domain_block[d]
            self.block_free[b] += cap
            self.block_full[b] += 1
            self.buckets[fleet.domain_cluster[d]][cap][d] = None
            self.levels[fleet.domain_cluster[d]] |= 1 << cap

    # -- mutation -------------------------------------------------------------------------
    def take(self, job_id: int, alloc: Allocation) -> None:
        """Give `alloc` to `job_id`; the caller has checked that it fits."""
        if job_id in self.held:
            raise InvariantError(f"job {job_id} already holds GPUs")
        self._move(alloc, -1)
        self.held[job_id] = alloc
        self.moves += 1

    def release(self, job_id: int) -> Allocation:
        """Return the GPUs held by `job_id` to the free pool."""
        alloc = self.held.pop(job_id, None)
        if alloc is None:
            raise InvariantError(f"job {job_id} holds no GPUs")
        self._move(alloc, +1)
        self.cluster_returns[alloc.cluster] += 1
        self.moves += 1
        return alloc

    def _move(self, alloc: Allocation, sign: int) -> None:
        ci = alloc.cluster
        fleet = self.fleet
        cap = fleet.clusters[ci].domain_gpus
        buckets = self.buckets[ci]
        free = self.free
        domain_block = fleet.domain_block
        levels = self.levels[ci]
        total = 0
        for d, n in alloc.parts:
            total += n
            f = free[d]
            g = f + sign * n
            if g < 0 or g > cap or n <= 0:
                raise InvariantError(
                    f"domain {d}: {f} free, cannot {'take' if sign < 0 else 'return'} {n}"
                )
            if f:
                bucket = buckets[f]
                del bucket[d]
                if not bucket:
                    levels &= ~(1 << f)
            if g:
                buckets[g][d] = None
                levels |= 1 << g
            free[d] = g
            b = domain_block[d]
            self.block_free[b] += g - f
            if f == cap:
                self.block_full[b] -= 1
                self.cluster_full[ci] -= 1
            elif g == cap:
                self.block_full[b] += 1
                self.cluster_full[ci] += 1
        self.levels[ci] = levels
        self.cluster_free[ci] += sign * total

    # -- queries --------------------------------------------------------------------------
    @property
    def busy_gpus(self) -> int:
        return self.fleet.total_gpus - sum(self.cluster_free)

    def check(self) -> None:
        """Re-derive every index from the held allocations; raise InvariantError on a mismatch."""
        fleet = self.fleet
        used = [0] * fleet.n_domains
        for job_id, alloc in self.held.items():
            for d, n in alloc.parts:
                if fleet.domain_cluster[d] != alloc.cluster:
                    raise InvariantError(f"job {job_id}: domain {d} not in cluster {alloc.cluster}")
                used[d] += n
        for d, cap in enumerate(fleet.domain_gpus):
            if used[d] > cap:
                raise InvariantError(f"domain {d}: {used[d]} GPUs allocated, only {cap} exist")
            if self.free[d] != cap - used[d]:
                raise InvariantError(f"domain {d}: free {self.free[d]} != {cap} - {used[d]}")
            f = self.free[d]
            bucket = self.buckets[fleet.domain_cluster[d]]
            if f and d not in bucket[f]:
                raise InvariantError(f"domain {d} missing from free-count index {f}")
        for ci, bucket in enumerate(self.buckets):
            for f, members in enumerate(bucket):
                for d in members:
                    if self.free[d] != f or f == 0:
                        raise InvariantError(f"domain {d} indexed at {f}, has {self.free[d]}")
            mask = sum(1 << f for f, members in enumerate(bucket) if members and f)
            if self.levels[ci] != mask:
                raise InvariantError(f"cluster {ci}: free-level mask out of date")
            doms = fleet.cluster_domains(ci)
            cap = fleet.clusters[ci].domain_gpus
            if self.cluster_free[ci] != sum(self.free[d] for d in doms):
                raise InvariantError(f"cluster {ci}: free total out of date")
            if self.cluster_full[ci] != sum(1 for d in doms if self.free[d] == cap):
                raise InvariantError(f"cluster {ci}: full-domain count out of date")
        for b in range(fleet.n_blocks):
            doms = fleet.block_domains(b)
            cap = fleet.clusters[fleet.block_cluster[b]].domain_gpus
            if self.block_free[b] != sum(self.free[d] for d in doms):
                raise InvariantError(f"block {b}: free total out of date")
            if self.block_full[b] != sum(1 for d in doms if self.free[d] == cap):
                raise InvariantError(f"block {b}: full-domain count out of date")
