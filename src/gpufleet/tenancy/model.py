"""The tenant tree: who is entitled to which GPUs, may borrow or lend, and holds which grants.

A tree of nodes (program or owner -> pool -> tenant group -> tenant -> project); jobs name a
leaf in `Job.tenant`. Quantities are GPUs per *flavor*: a GPU model name, or `any` for all
models together. Node ids are dense ints in depth-first order so the core can keep usage in
flat lists; `path[leaf]` runs from the leaf up to the root.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANY = "any"
DATA_CLASSES = (
    "open",
    "public_low",
    "public_medium",
    "public_high",
    "personal",
    "corporate_confidential",
)


@dataclass(frozen=True, slots=True)
class Grant:
    """An award to a node: GPU-hours to spend between `start` and `end` (seconds).

    `gpus` > 0 is an award of that many GPUs of `flavor` for the period (a limit of `gpus`
    while it lasts); `gpu_hours` > 0 is a budget charged with the GPU-hours jobs use. Either
    way nothing of `flavor` starts outside [start, end).
    """

    name: str
    flavor: str
    start: float
    end: float
    gpus: int = 0
    gpu_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the tree. Unset guarantee or limit for a flavor means none / unlimited."""

    id: int
    name: str
    parent: int  # -1 for a root
    share: float = 1.0
    guarantee: dict[str, int] = field(default_factory=dict)
    limit: dict[str, int] = field(default_factory=dict)
    borrow: bool = True
    lend: bool = True
    owner: str = ""
    leases: tuple[str, ...] = ()  # owners of captive sites this subtree may also use
    sites: tuple[str, ...] = ()  # empty: any site (within the ancestors' sites)
    data_class: str = ""  # default for jobs of this subtree; empty: the parent's
    grants: tuple[Grant, ...] = ()
    children: tuple[int, ...] = ()


HALF_LIFE_S = 7 * 86400.0  # Slurm's PriorityDecayHalfLife default, 7 days [S140]
PERIOD_S = 300.0  # Slurm's PriorityCalcPeriod default, 5 minutes [S140]
GRACE_S = 300.0  # [A] time a reclaimed job gets to checkpoint and exit


@dataclass(frozen=True, slots=True)
class FairShareConfig:
    """Slurm-style decayed usage and how often shares and ranks are recomputed."""

    half_life_s: float = HALF_LIFE_S
    period_s: float = PERIOD_S


@dataclass(frozen=True, slots=True)
class PreemptionConfig:
    """Reclaim of borrowed capacity for guaranteed work that waits."""

    reclaim: bool = True
    grace_s: float = GRACE_S


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The whole tree plus its policies, with lookups the core needs on hot paths."""

    nodes: tuple[Node, ...]
    fair_share: FairShareConfig = FairShareConfig()
    preemption: PreemptionConfig = PreemptionConfig()
    source: str = ""
    leaf: dict[str, int] = field(default_factory=dict)  # leaf name -> node id
    path: tuple[tuple[int, ...], ...] = ()  # node id -> ids from it up to the root

    @staticmethod
    def build(
        nodes: list[Node],
        fair_share: FairShareConfig | None = None,
        preemption: PreemptionConfig | None = None,
        source: str = "",
    ) -> Tenancy:
        """Index `nodes` (ids must be their positions, parents before children)."""
        paths: list[tuple[int, ...]] = []
        for n in nodes:
            paths.append((n.id,) + (paths[n.parent] if n.parent >= 0 else ()))
        leaf = {n.name: n.id for n in nodes if not n.children}
        return Tenancy(
            nodes=tuple(nodes),
            fair_share=fair_share or FairShareConfig(),
            preemption=preemption or PreemptionConfig(),
            source=source,
            leaf=leaf,
            path=tuple(paths),
        )

    def node(self, name: str) -> Node | None:
        for n in self.nodes:
            if n.name == name:
                return n
        return None

    def data_class(self, leaf: int) -> str:
        """The default data class of a leaf: the nearest ancestor's that sets one, else open."""
        for nid in self.path[leaf]:
            dc = self.nodes[nid].data_class
            if dc:
                return dc
        return "open"

    def owners(self, leaf: int) -> frozenset[str]:
        """Owners whose captive sites the leaf may use: its own line's owners and leases."""
        out: set[str] = set()
        for nid in self.path[leaf]:
            n = self.nodes[nid]
            if n.owner:
                out.add(n.owner)
            out.update(n.leases)
        return frozenset(out)

    def sites(self, leaf: int) -> frozenset[str] | None:
        """Sites the leaf's line allows (intersection along the path); None = any."""
        allowed: frozenset[str] | None = None
        for nid in self.path[leaf]:
            s = self.nodes[nid].sites
            if s:
                allowed = frozenset(s) if allowed is None else allowed & frozenset(s)
        return allowed

    def group_of(self, leaf: int, depth: int = 1) -> str:
        """Name of the leaf's ancestor `depth` levels below the root (a tenant group)."""
        p = self.path[leaf]
        return self.nodes[p[max(0, len(p) - 1 - depth)]].name
