"""A shape's pending jobs under fair share: one sorted list per tenant, merged by tenant rank.

Within a tenant the order is static (priority, then submission), so each tenant's jobs stay in
a sorted list; across tenants the order follows the Fair Tree rank, which changes every
period. The queue shows the core what a plain sorted list of `(key, job id)` would, with
key = (rank,) + static key, and rebuilds its heads lazily when the ranks change. `add` and
`remove` take the static key, as the core stores it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from gpufleet.policy.ordering import OrderKey
from gpufleet.scheduler.fairshare import FairShare
from gpufleet.scheduler.sortedseq import SortedSeq
from gpufleet.workload.job import Job

_Entry = tuple[OrderKey, int]


class FairQueue:
    """Pending jobs of one shape, by (tenant rank, static key, job id)."""

    __slots__ = ("_by_leaf", "_fair", "_heads", "_leaf_of", "_n", "_pending", "_version")

    def __init__(self, fair: FairShare, pending: dict[int, Job], leaf_of: dict[str, int]) -> None:
        """`pending` holds every job in the queue (a job's leaf is its tenant's, `leaf_of`)."""
        self._fair = fair
        self._pending = pending
        self._leaf_of = leaf_of
        self._by_leaf: dict[int, SortedSeq] = {}
        self._heads = SortedSeq()  # (merged key, job id, leaf) of each non-empty leaf
        self._version = fair.version
        self._n = 0

    def leaves(self) -> list[int]:
        """The tenants with jobs here."""
        return list(self._by_leaf)

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def _leaf(self, entry: _Entry) -> int:
        return self._leaf_of[self._pending[entry[1]].tenant]

    def _merged(self, leaf: int, entry: _Entry) -> tuple[OrderKey, int, int]:
        return ((self._fair.ranks[leaf], *entry[0]), entry[1], leaf)

    def _sync(self) -> None:
        if self._version != self._fair.version:
            self._version = self._fair.version
            self._heads = SortedSeq(self._merged(leaf, q[0]) for leaf, q in self._by_leaf.items())

    def add(self, entry: _Entry) -> None:
        self._sync()
        leaf = self._leaf(entry)
        q = self._by_leaf.get(leaf)
        if q is None:
            q = self._by_leaf[leaf] = SortedSeq()
        old = q[0] if q else None
        q.add(entry)
        if q[0] != old:
            if old is not None:
                self._heads.remove(self._merged(leaf, old))
            self._heads.add(self._merged(leaf, q[0]))
        self._n += 1

    def remove(self, entry: _Entry) -> None:
        self._sync()
        leaf = self._leaf(entry)
        q = self._by_leaf[leaf]
        head = q[0] == entry
        q.remove(entry)
        if head:
            self._heads.remove(self._merged(leaf, entry))
            if q:
                self._heads.add(self._merged(leaf, q[0]))
            else:
                del self._by_leaf[leaf]
        self._n -= 1

    def __getitem__(self, i: int) -> _Entry:
        if i != 0:
            raise IndexError("a fair queue shows its head only")
        self._sync()
        key, jid, _ = self._heads[0]
        return key, jid

    def count_before(self, entry: _Entry) -> int:
        """How many entries come before `entry` (a merged key and job id)."""
        key, jid = entry
        rank, static = key[0], key[1:]
        ranks = self._fair.ranks
        n = 0
        for leaf, q in self._by_leaf.items():
            r = ranks[leaf]
            if r < rank:
                n += len(q)
            elif r == rank:
                n += q.bisect_left((static, jid))
        return n

    def irange(
        self, minimum: _Entry, inclusive: tuple[bool, bool] = (False, True)
    ) -> Iterator[_Entry]:
        """Entries after `minimum` (a merged key and job id) in merged order."""
        del inclusive  # always exclusive of `minimum`, as the core asks
        self._sync()
        key, jid = minimum
        rank, static = key[0], key[1:]
        ranks = self._fair.ranks
        streams = []
        for leaf, q in self._by_leaf.items():
            r = ranks[leaf]
            if r < rank:
                continue
            part = q if r > rank else q.irange(minimum=(static, jid), inclusive=(False, True))
            streams.append(_ranked(r, part))
        return heapq.merge(*streams)


def _ranked(rank: int, entries: Iterator[_Entry] | SortedSeq) -> Iterator[_Entry]:
    for key, jid in entries:
        yield (rank, *key), jid
