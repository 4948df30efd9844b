"""The fleet as immutable values: sites hold clusters; a cluster is cut into blocks of domains.

Hierarchy: Site -> Cluster (one fabric, one GPU model) -> Block (a network scalable unit) ->
Domain (an NVLink domain: an 8-GPU HGX node or a 72-GPU NVL72 rack; on PCIe servers, the node).
A gang never spans clusters. Domains and blocks get dense global integer ids so that the
allocation state and the placement policies can use flat lists instead of objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from gpufleet.fleet.catalog import GpuModel

SITE_KINDS = ("sovereign_cloud", "ai_factory", "national_center", "research_cloud")
CSAP_TIERS = ("none", "low", "medium", "high")
SITE_ACCESS = ("open", "captive")
EXECUTOR_KINDS = ("local", "slurm")


@dataclass(frozen=True, slots=True)
class SiteExecutor:
    """How the live control plane runs a site's jobs (the fleet file's `executor:` block).

    `kind` is `local` or `slurm`; the rest are the Slurm executor's options (engine/slurm.py):
    `account` charges every tenant to one Slurm account, `accounts` maps tenants to accounts,
    `node_map` maps gpufleet node names to Slurm node names, `env` is extra environment of the
    Slurm commands (e.g. SLURM_CONF for a second cluster). The twin ignores it.
    """

    kind: str
    partition: str | None = None
    account: str | None = None
    accounts: tuple[tuple[str, str], ...] = ()
    gres: str = "gpu"
    node_map: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    binaries: str | None = None
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PowerPhase:
    """From `start` on, the site may draw `mw` megawatts of facility power (grid side, PUE
    included); the twin caps busy GPUs' IT power at mw / PUE."""

    start: date
    mw: float
    source: str = ""


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A site's planned maintenance: a rolling drain of its clusters' NVLink domains.

    From `start_s`, every `every_s`, a `fraction` of each cluster's domains (the next ones in
    turn, so successive waves cover the cluster) stop taking new work; running jobs get
    `drain_s` to end, the rest are checkpointed and requeued; the domains are then out of
    service for `down_s`. The unit is the NVLink domain: an 8-GPU HGX node, or a whole NVL72
    rack (its NVLink switch trays are serviced with the rack [A]). With `stagger`, each
    cluster's waves come at its own time within the period (`engine.maintenance.offset`)
    instead of every cluster of the site at `start_s` together.
    """

    every_s: float
    fraction: float
    drain_s: float
    down_s: float
    start_s: float
    source: str = ""
    stagger: bool = False


@dataclass(frozen=True, slots=True)
class Site:
    """A data-center site with its owner, certifications and power envelope."""

    id: str
    owner: str
    kind: str
    region: str
    country: str = "KR"
    csap_tier: str = "none"
    certifications: tuple[str, ...] = ()
    access: str = "open"  # "captive": serves only tenants of the same owner
    power_budget_mw: float = 0.0
    pue: float = 1.4
    program: str = ""
    online: str = ""
    source: str = ""
    executor: SiteExecutor | None = None  # None: the control plane's default executor
    power_phases: tuple[PowerPhase, ...] = ()  # in date order
    maintenance: Maintenance | None = None  # rolling drains (the twin's --maintenance on)


@dataclass(frozen=True, slots=True)
class Cluster:
    """GPUs of one model on one fabric at one site, cut into equal NVLink domains."""

    id: str
    site: str
    gpu_model: str
    gpus: int
    domain_gpus: int
    node_gpus: int
    block_domains: int
    node_kw: float = 0.0
    source: str = ""

    @property
    def n_domains(self) -> int:
        return self.gpus // self.domain_gpus

    @property
    def n_blocks(self) -> int:
        return -(-self.n_domains // self.block_domains)

    @property
    def block_gpus(self) -> int:
        """GPUs of its largest network block (a cluster smaller than a block is one)."""
        return min(self.block_domains, self.n_domains) * self.domain_gpus

    @property
    def n_nodes(self) -> int:
        return self.gpus // self.node_gpus

    @property
    def it_power_kw(self) -> float:
        return self.n_nodes * self.node_kw


@dataclass(frozen=True, slots=True)
class Fleet:
    """A validated fleet with dense ids: cluster i owns domains [cluster_first_domain[i], ...).

    The flat tuples are the shape the allocation state and placement code index into.
    """

    name: str
    description: str
    sites: tuple[Site, ...]
    clusters: tuple[Cluster, ...]
    models: Mapping[str, GpuModel]
    sources: Mapping[str, str] = field(default_factory=dict)
    # dense indices, derived in build()
    cluster_first_domain: tuple[int, ...] = ()
    cluster_first_block: tuple[int, ...] = ()
    domain_cluster: tuple[int, ...] = ()
    domain_block: tuple[int, ...] = ()
    domain_gpus: tuple[int, ...] = ()
    block_cluster: tuple[int, ...] = ()
    block_first_domain: tuple[int, ...] = ()
    block_n_domains: tuple[int, ...] = ()
    cluster_block_gpus: tuple[int, ...] = ()  # GPUs in the cluster's largest block

    @staticmethod
    def build(
        name: str,
        description: str,
        sites: tuple[Site, ...],
        clusters: tuple[Cluster, ...],
        models: Mapping[str, GpuModel],
        sources: Mapping[str, str] | None = None,
    ) -> Fleet:
        """Derive the dense domain and block ids from validated sites and clusters."""
        c_first_d: list[int] = []
        c_first_b: list[int] = []
        d_cluster: list[int] = []
        d_block: list[int] = []
        d_gpus: list[int] = []
        b_cluster: list[int] = []
        b_first: list[int] = []
        b_n: list[int] = []
        for ci, c in enumerate(clusters):
            c_first_d.append(len(d_cluster))
            c_first_b.append(len(b_cluster))
            n = c.n_domains
            for start in range(0, n, c.block_domains):
                size = min(c.block_domains, n - start)
                b_first.append(len(d_cluster))
                b_n.append(size)
                b_cluster.append(ci)
                block_id = len(b_cluster) - 1
                d_cluster.extend([ci] * size)
                d_block.extend([block_id] * size)
                d_gpus.extend([c.domain_gpus] * size)
        return Fleet(
            name=name,
            description=description,
            sites=sites,
            clusters=clusters,
            models=dict(models),
            sources=dict(sources or {}),
            cluster_first_domain=tuple(c_first_d),
            cluster_first_block=tuple(c_first_b),
            domain_cluster=tuple(d_cluster),
            domain_block=tuple(d_block),
            domain_gpus=tuple(d_gpus),
            block_cluster=tuple(b_cluster),
            block_first_domain=tuple(b_first),
            block_n_domains=tuple(b_n),
            cluster_block_gpus=tuple(c.block_gpus for c in clusters),
        )

    @property
    def total_gpus(self) -> int:
        return sum(c.gpus for c in self.clusters)

    @property
    def n_domains(self) -> int:
        return len(self.domain_cluster)

    @property
    def n_blocks(self) -> int:
        return len(self.block_cluster)

    @property
    def n_nodes(self) -> int:
        return sum(c.n_nodes for c in self.clusters)

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(site_id)

    def cluster_index(self, cluster_id: str) -> int:
        for i, c in enumerate(self.clusters):
            if c.id == cluster_id:
                return i
        raise KeyError(cluster_id)

    def gang_capacity(self, ci: int, topology: str) -> int:
        """The most GPUs one gang can get in cluster `ci` within one `topology` unit
        (an NVLink domain, a network block, or the whole cluster for "any")."""
        c = self.clusters[ci]
        if topology == "domain":
            return c.domain_gpus
        if topology == "block":
            return self.cluster_block_gpus[ci]
        return c.gpus

    def cluster_blocks(self, ci: int) -> range:
        first = self.cluster_first_block[ci]
        last = self.cluster_first_block[ci + 1] if ci + 1 < len(self.clusters) else self.n_blocks
        return range(first, last)

    def cluster_domains(self, ci: int) -> range:
        first = self.cluster_first_domain[ci]
        return range(first, first + self.clusters[ci].n_domains)

    def block_domains(self, bi: int) -> range:
        first = self.block_first_domain[bi]
        return range(first, first + self.block_n_domains[bi])
