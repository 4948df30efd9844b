"""The Pollux artifact's baseline placement: fill the domains with the most free GPUs first.

Its Tiresias baseline places a job GPU by GPU: take the node with the most free GPUs (the
lowest-numbered on a tie), as many GPUs from it as the job still needs, and repeat. A gang may
span nodes freely (the artifact's cluster has one network), so a job fits whenever its
cluster has enough free GPUs. Here a node is a domain (`quad4` and `pcie8` fleets).
The order of `parts` is the order taken: the artifact's placement tuple, which its step-time
profiles are keyed by.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpufleet.fleet.state import Allocation
from gpufleet.policy.view import FleetView


def most_free_first(
    gpus: int,
    topology: str,
    clusters: Sequence[int],
    view: FleetView,
    limit: dict[int, int] | None = None,
) -> Allocation | None:
    """In the first candidate cluster with enough free GPUs: freest domains first, spanning.

    `topology` and `limit` are accepted for the placement signature; the artifact's rule knows
    neither (it spans nodes freely and does not backfill), so a `limit` is refused.
    """
    if limit is not None:
        raise ValueError("most-free-first does not take backfill limits")
    for ci in clusters:
        if view.cluster_free[ci] < gpus:
            continue
        cap = view.fleet.clusters[ci].domain_gpus
        buckets = view.buckets[ci]
        parts: list[tuple[int, int]] = []
        need = gpus
        for f in range(cap, 0, -1):
            for d in sorted(buckets[f]):
                n = min(f, need)
                parts.append((d, n))
                need -= n
                if not need:
                    return Allocation(ci, tuple(parts))
    return None
