"""Which GPU indices on which nodes a core Allocation means, lowest free indices first.

The core counts GPUs per NVLink domain; an executor needs node names and device indices.
Domain d of a cluster covers GPUs [d * domain_gpus, (d + 1) * domain_gpus) of the cluster in
local numbering; it holds `domain_gpus // node_gpus` nodes, numbered the same way, and node k
of the cluster is named `<cluster id>-<k:04d>`. A job takes the lowest free indices of each
of its domains, so that small jobs pack onto the first nodes of a domain.
"""

from __future__ import annotations

from typing import Any

from gpufleet.engine.executor import NodeGpus
from gpufleet.errors import InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.fleet.state import Allocation

# per domain (global id): the GPU indices inside the domain that a job holds
DomainGpus = tuple[tuple[int, tuple[int, ...]], ...]


class GpuMap:
    """GPU indices held per domain, as bit masks; one owner per index."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.used: dict[int, int] = {}  # domain -> bit mask of held indices
        self.held: dict[int, DomainGpus] = {}

    def take(self, job_id: int, alloc: Allocation) -> DomainGpus:
        """Give `job_id` the lowest free indices of each domain of `alloc`."""
        out: list[tuple[int, tuple[int, ...]]] = []
        for d, n in alloc.parts:
            mask = self.used.get(d, 0)
            picked: list[int] = []
            i = 0
            size = self.fleet.domain_gpus[d]
            while len(picked) < n and i < size:
                if not mask >> i & 1:
                    picked.append(i)
                i += 1
            if len(picked) < n:
                raise InvariantError(f"domain {d}: job {job_id} needs {n} GPUs, fewer are free")
            out.append((d, tuple(picked)))
        gpus = tuple(out)
        self.restore(job_id, gpus)
        return gpus

    def restore(self, job_id: int, gpus: DomainGpus) -> None:
        """Mark exactly these indices held by `job_id` (a restart re-takes recorded GPUs)."""
        if job_id in self.held:
            raise InvariantError(f"job {job_id} already holds GPU indices")
        for d, idx in gpus:
            mask = self.used.get(d, 0)
            want = sum(1 << i for i in idx)
            if mask & want or len(set(idx)) != len(idx):
                raise InvariantError(f"domain {d}: job {job_id} asks for GPU indices in use")
            self.used[d] = mask | want
        self.held[job_id] = gpus

    def release(self, job_id: int) -> None:
        for d, idx in self.held.pop(job_id, ()):
            self.used[d] &= ~sum(1 << i for i in idx)
            if not self.used[d]:
                del self.used[d]

    def nodes(self, gpus: DomainGpus) -> tuple[NodeGpus, ...]:
        """Node names and per-node device indices of held GPUs, in node order."""
        fleet = self.fleet
        per_node: dict[str, list[int]] = {}
        for d, idx in gpus:
            ci = fleet.domain_cluster[d]
            c = fleet.clusters[ci]
            local = d - fleet.cluster_first_domain[ci]
            first_node = local * (c.domain_gpus // c.node_gpus)
            for i in idx:
                name = f"{c.id}-{first_node + i // c.node_gpus:04d}"
                per_node.setdefault(name, []).append(i % c.node_gpus)
        return tuple(NodeGpus(n, tuple(sorted(g))) for n, g in sorted(per_node.items()))

    # -- the stored form: by cluster id and local domain index ------------------------------
    def to_json(self, gpus: DomainGpus) -> dict[str, Any]:
        fleet = self.fleet
        ci = fleet.domain_cluster[gpus[0][0]]
        first = fleet.cluster_first_domain[ci]
        return {
            "cluster": fleet.clusters[ci].id,
            "domains": [[d - first, list(idx)] for d, idx in gpus],
            "nodes": [[n.node, list(n.gpus)] for n in self.nodes(gpus)],
        }

    def from_json(self, data: dict[str, Any]) -> tuple[Allocation, DomainGpus]:
        """The core allocation and indices of a stored allocation; KeyError if the fleet lacks
        its cluster, ValueError if a domain is out of range."""
        fleet = self.fleet
        ci = fleet.cluster_index(data["cluster"])
        first = fleet.cluster_first_domain[ci]
        n_domains = fleet.clusters[ci].n_domains
        gpus: list[tuple[int, tuple[int, ...]]] = []
        for local, idx in data["domains"]:
            if not 0 <= local < n_domains:
                raise ValueError(f"domain {local} outside cluster {data['cluster']}")
            gpus.append((first + local, tuple(idx)))
        alloc = Allocation(ci, tuple((d, len(idx)) for d, idx in gpus))
        return alloc, tuple(gpus)
