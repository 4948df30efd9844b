"""Gang placements: all-or-nothing, inside one cluster, topology-aware.

A placement is a pure function `(gpus, topology, clusters, view, limit) -> Allocation | None`.
`clusters` are the candidate cluster ids in the job's order of preference; `limit`, when given,
caps how many GPUs may be taken from some domains now (backfill uses it to keep GPUs promised to
the reserved job). "topology" is "domain" (one NVLink domain), "block" (one network block) or
"any" (anywhere in one cluster).

`topo-best-fit` (the default) ranks candidate placements by fewest domains, then fewest blocks,
then least free capacity left in the domains/blocks it touches (best fit, to limit
fragmentation), then the job's model preference, then cluster order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from gpufleet.fleet.state import Allocation
from gpufleet.policy.view import FleetView

Limit = Mapping[int, int] | None
Placement = Callable[[int, str, Sequence[int], FleetView, Limit], Allocation | None]
Score = tuple[int, int, int]


def topo_best_fit(
    gpus: int, topology: str, clusters: Sequence[int], view: FleetView, limit: Limit = None
) -> Allocation | None:
    """Best placement over the candidate clusters (see module docstring for the ranking)."""
    best: Allocation | None = None
    best_key: tuple[int, int, int, int] | None = None
    cluster_free = view.cluster_free
    clusters_of = view.fleet.clusters
    levels = view.levels
    for rank, ci in enumerate(clusters):
        if cluster_free[ci] < gpus:
            continue
        if limit is None and gpus <= clusters_of[ci].domain_gpus:
            # inline fast path: the tightest single domain, from the free-level mask
            m = levels[ci] >> gpus
            if m:
                left = (m & -m).bit_length() - 1
                key = (1, 1, left, rank)
                if best_key is None or key < best_key:
                    d = next(iter(view.buckets[ci][gpus + left]))
                    best, best_key = Allocation(ci, ((d, gpus),)), key
                    if not left:
                        break
                continue
        found = fit_cluster(view, ci, gpus, topology, limit, smallest=True)
        if found is None:
            continue
        alloc, score = found
        key = (score[0], score[1], score[2], rank)
        if best_key is None or key < best_key:
            best, best_key = alloc, key
            if score[2] == 0 and score[0] == -(-gpus // clusters_of[ci].domain_gpus):
                break  # a perfect fit cannot be beaten by a later-ranked cluster
    return best


def worst_fit(
    gpus: int, topology: str, clusters: Sequence[int], view: FleetView, limit: Limit = None
) -> Allocation | None:
    """Spread: the domain with the most free GPUs, in the emptiest candidate cluster."""
    order = sorted(clusters, key=lambda ci: (-view.cluster_free[ci], ci))
    for ci in order:
        if view.cluster_free[ci] < gpus:
            continue
        found = fit_cluster(view, ci, gpus, topology, limit, smallest=False)
        if found is not None:
            return found[0]
    return None


def first_fit(
    gpus: int, topology: str, clusters: Sequence[int], view: FleetView, limit: Limit = None
) -> Allocation | None:
    """The baseline: the lowest-numbered domains that fit, in the first cluster that fits.

    Scans domains; kept as a reference and a baseline, not for the full national fleet.
    """
    fleet = view.fleet
    for ci in clusters:
        if view.cluster_free[ci] < gpus:
            continue
        cap = fleet.clusters[ci].domain_gpus
        if gpus <= cap:
            for d in fleet.cluster_domains(ci):
                if _eff(view, d, limit) >= gpus:
                    return Allocation(ci, ((d, gpus),))
            if topology == "domain":
                continue
        if topology == "domain":
            continue
        groups = (
            [fleet.block_domains(b) for b in fleet.cluster_blocks(ci)]
            if topology == "block"
            else [fleet.cluster_domains(ci)]
        )
        for doms in groups:
            parts: list[tuple[int, int]] = []
            need = gpus
            for d in doms:
                f = _eff(view, d, limit)
                if f:
                    n = min(f, need)
                    parts.append((d, n))
                    need -= n
                    if not need:
                        return Allocation(ci, tuple(parts))
    return None


def _eff(view: FleetView, d: int, limit: Limit) -> int:
    f = view.free[d]
    if limit is not None and d in limit:
        return min(f, limit[d])
    return f


def fit_cluster(
    view: FleetView, ci: int, gpus: int, topology: str, limit: Limit, smallest: bool
) -> tuple[Allocation, Score] | None:
    """Place `gpus` in cluster `ci`; score = (domains, blocks, free left in what it touches)."""
    fleet = view.fleet
    cap = fleet.clusters[ci].domain_gpus
    if gpus <= cap:
        if limit is None:
            # the free-level mask gives the tightest (or loosest) level in O(1)
            m = view.levels[ci] >> gpus
            if m:
                f = gpus + ((m & -m).bit_length() - 1) if smallest else m.bit_length() - 1 + gpus
                first = next(iter(view.buckets[ci][f]))
                return Allocation(ci, ((first, gpus),)), (1, 1, f - gpus)
        else:
            d = _one_domain(view.buckets[ci], gpus, cap, limit, smallest)
            if d is not None:
                return Allocation(ci, ((d, gpus),)), (1, 1, view.free[d] - gpus)
        if topology == "domain":
            return None
    elif topology == "domain":
        return None
    if gpus <= fleet.cluster_block_gpus[ci]:
        found = _one_block(view, ci, gpus, limit)
        if found is not None or topology == "block":
            return found
    elif topology == "block":
        return None
    return _many_blocks(view, ci, gpus, limit)


def _one_domain(
    buckets: Sequence[Mapping[int, None]], gpus: int, cap: int, limit: Limit, smallest: bool
) -> int | None:
    sizes = range(gpus, cap + 1) if smallest else range(cap, gpus - 1, -1)
    for f in sizes:
        bucket = buckets[f]
        if not bucket:
            continue
        if limit is None:
            return next(iter(bucket))
        for d in bucket:
            if limit.get(d, f) >= gpus:
                return d
    return None


def _min_domains(frees: list[tuple[int, int]], gpus: int) -> list[tuple[int, int]] | None:
    """Fewest domains covering `gpus`; `frees` is (free, domain) sorted by free, largest first.

    Takes whole domains, largest first, until one domain can hold the rest; that rest goes to
    the smallest domain that holds it (best fit).
    """
    parts: list[tuple[int, int]] = []
    need = gpus
    i = 0
    n = len(frees)
    while need > 0 and i < n:
        f, d = frees[i]
        if f >= need:
            j = i
            while j + 1 < n and frees[j + 1][0] >= need:
                j += 1
            parts.append((frees[j][1], need))
            return parts
        parts.append((d, f))
        need -= f
        i += 1
    return None


def _block_frees(view: FleetView, b: int, limit: Limit) -> list[tuple[int, int]]:
    free = view.free
    doms = view.fleet.block_domains(b)
    if limit is None:
        frees = [(free[d], d) for d in doms if free[d]]
    else:
        frees = [(f, d) for d in doms if (f := _eff(view, d, limit))]
    frees.sort(key=lambda fd: (-fd[0], fd[1]))
    return frees


def _one_block(
    view: FleetView, ci: int, gpus: int, limit: Limit
) -> tuple[Allocation, Score] | None:
    """The block that holds the job in the fewest domains, then with the least left free.

    Blocks with enough wholly free domains reach the fewest-domains bound without a scan; the
    others are scanned only when no block reaches that bound.
    """
    fleet = view.fleet
    block_free = view.block_free
    block_full = view.block_full
    cap = fleet.clusters[ci].domain_gpus
    ideal = -(-gpus // cap)
    blocks = fleet.cluster_blocks(ci)
    if limit is None:
        best_b = -1
        best_left = 0
        for b in blocks:
            bf = block_free[b]
            if bf >= gpus and block_full[b] >= ideal and (best_b < 0 or bf - gpus < best_left):
                best_b, best_left = b, bf - gpus
        if best_b >= 0:
            parts = _min_domains(_block_frees(view, best_b, None), gpus)
            assert parts is not None
            return Allocation(ci, tuple(parts)), (len(parts), 1, best_left)
    best: tuple[Allocation, Score] | None = None
    for b in blocks:
        bf = block_free[b]
        if bf < gpus:
            continue
        parts = _min_domains(_block_frees(view, b, limit), gpus)
        if parts is None:
            continue
        score = (len(parts), 1, bf - gpus)
        if best is None or score < best[1]:
            best = (Allocation(ci, tuple(parts)), score)
    return best


def _many_blocks(
    view: FleetView, ci: int, gpus: int, limit: Limit
) -> tuple[Allocation, Score] | None:
    """Fewest domains anywhere in the cluster: largest domains first, best fit for the rest.

    Walks the free-count index from the top, so it touches only the domains it takes (plus
    those `limit` caps), never the whole cluster.
    """
    fleet = view.fleet
    cap = fleet.clusters[ci].domain_gpus
    buckets = view.buckets[ci]
    capped: dict[int, list[int]] = {}
    if limit is not None:
        free = view.free
        for d, lim in limit.items():
            if fleet.domain_cluster[d] == ci and free[d]:
                e = min(free[d], lim)
                if e:
                    capped.setdefault(e, []).append(d)

    def level(f: int) -> Iterator[int]:
        if limit:
            yield from (d for d in buckets[f] if d not in limit)
        else:
            yield from buckets[f]
        yield from capped.get(f, ())

    parts: list[tuple[int, int]] = []
    used: set[int] = set()
    need = gpus
    for f in range(cap, 0, -1):
        if need > f:
            for d in level(f):
                parts.append((d, f))
                used.add(d)
                need -= f
                if need <= f:
                    break
        if need <= f:
            # best fit for the rest: the smallest level that holds it
            for g in range(need, cap + 1):
                for d in level(g):
                    if d not in used:
                        parts.append((d, need))
                        return _scored(view, ci, parts, gpus)
    return None


def _scored(
    view: FleetView, ci: int, parts: list[tuple[int, int]], gpus: int
) -> tuple[Allocation, Score]:
    domain_block = view.fleet.domain_block
    blocks = {domain_block[d] for d, _ in parts}
    leftover = sum(view.block_free[b] for b in blocks) - gpus
    return Allocation(ci, tuple(parts)), (len(parts), len(blocks), leftover)


PLACEMENTS: dict[str, tuple[Placement, str]] = {
    "topo-best-fit": (
        topo_best_fit,
        "fewest NVLink domains, then fewest blocks, then tightest fit (default)",
    ),
    "worst-fit": (worst_fit, "spread: the freest domain in the freest cluster"),
    "first-fit": (first_fit, "lowest-numbered domains that fit; a scanning baseline"),
}
