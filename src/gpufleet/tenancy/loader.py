"""Read a tenancy file (the tenant tree, grants, fair share and preemption) and check it
against the fleet: errors name the file, the field path and the line.

A node may stand for many identical leaves: `tenants: {count: 80}` adds leaves named
`<node>-01` ... `<node>-80` (what the synthetic workload's tenants are called), each with the
given share, limit and data class.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

from gpufleet.errors import ConfigError
from gpufleet.fleet.model import Fleet
from gpufleet.tenancy.model import (
    ANY,
    DATA_CLASSES,
    GRACE_S,
    HALF_LIFE_S,
    PERIOD_S,
    FairShareConfig,
    Grant,
    Node,
    PreemptionConfig,
    Tenancy,
)
from gpufleet.yamlfile import STRICT, duration_seconds, error_at, load_yaml, validate


class _GrantIn(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1)
    flavor: str = ANY
    start: float = Field(default=0.0, ge=0)
    end: float = Field(gt=0)
    gpus: int = Field(default=0, ge=0)
    gpu_hours: float = Field(default=0.0, ge=0)

    _secs = field_validator("start", "end", mode="before")(duration_seconds)


class _LeavesIn(BaseModel):
    model_config = STRICT
    count: int = Field(ge=1, le=100_000)
    share: float = Field(default=1.0, gt=0)
    limit: dict[str, int] = {}
    guarantee: dict[str, int] = {}
    data_class: str = ""


class _NodeIn(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1)
    share: float = Field(default=1.0, gt=0)
    guarantee: dict[str, int] = {}
    limit: dict[str, int] = {}
    borrow: bool = True
    lend: bool = True
    owner: str = ""
    leases: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    data_class: str = ""
    grants: list[_GrantIn] = []
    tenants: _LeavesIn | None = None
    children: list[_NodeIn] = []
    source: str = ""


class _FairShareIn(BaseModel):
    model_config = STRICT
    half_life: float = Field(default=HALF_LIFE_S, gt=0)
    period: float = Field(default=PERIOD_S, gt=0)

    _secs = field_validator("half_life", "period", mode="before")(duration_seconds)


class _PreemptionIn(BaseModel):
    model_config = STRICT
    reclaim: bool = True
    grace: float = Field(default=GRACE_S, ge=0)

    _secs = field_validator("grace", mode="before")(duration_seconds)


class _TenancyIn(BaseModel):
    model_config = STRICT
    name: str = ""
    description: str = ""
    sources: dict[str, str] = {}
    fair_share: _FairShareIn = _FairShareIn()
    preemption: _PreemptionIn = _PreemptionIn()
    tree: list[_NodeIn] = Field(min_length=1)


def builtin_tenancy_path(scenario: str) -> Path | None:
    """The tenancy file shipped beside a built-in scenario, if there is one."""
    res = resources.files("gpufleet.fleet") / "scenarios" / f"{scenario}.tenancy.yaml"
    return Path(str(res)) if res.is_file() else None


def resolve_tenancy(spec: str, scenario: str, fleet: Fleet) -> Tenancy | None:
    """`auto`: the tree shipped with a built-in scenario (none for a fleet file); `none`: no
    tree (no quotas: every job may run anywhere it fits); otherwise a tenancy file."""
    if spec == "none":
        return None
    if spec == "auto":
        found = builtin_tenancy_path(scenario) if not Path(scenario).suffix else None
        return load_tenancy(found, fleet) if found is not None else None
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"{path}: no such tenancy file (or use 'auto' or 'none')")
    return load_tenancy(path, fleet)


def load_tenancy(path: Path, fleet: Fleet) -> Tenancy:
    """Load and validate a tenancy file against `fleet`; raise ConfigError on bad input."""
    data, node = load_yaml(path)
    spec = validate(_TenancyIn, data, path, node)
    builder = _Builder(path, node, fleet)
    for i, root in enumerate(spec.tree):
        builder.add(root, -1, ("tree", i))
    return Tenancy.build(
        builder.nodes,
        FairShareConfig(spec.fair_share.half_life, spec.fair_share.period),
        PreemptionConfig(spec.preemption.reclaim, spec.preemption.grace),
        source=str(path),
    )


class _Builder:
    """Flattens the nested nodes depth-first, checking names, flavors, sites and classes."""

    def __init__(self, path: Path, node: yaml.Node | None, fleet: Fleet) -> None:
        self.path, self.yaml, self.fleet = path, node, fleet
        self.nodes: list[Node] = []
        self.names: set[str] = set()
        self.site_ids = {s.id for s in fleet.sites}
        self.flavors = set(fleet.models) | {ANY}

    def fail(self, loc: tuple[int | str, ...], msg: str) -> ConfigError:
        return error_at(self.path, self.yaml, loc, msg)

    def quantities(self, q: dict[str, int], loc: tuple[int | str, ...]) -> dict[str, int]:
        for flavor, n in q.items():
            if flavor not in self.flavors:
                valid = ", ".join(sorted(self.flavors))
                raise self.fail(
                    (*loc, flavor), f"unknown GPU model {flavor!r}; expected one of: {valid}"
                )
            if isinstance(n, bool) or n < 0:
                raise self.fail((*loc, flavor), f"expected a GPU count >= 0, got {n!r}")
        return dict(q)

    def data_class(self, dc: str, loc: tuple[int | str, ...]) -> str:
        if dc and dc not in DATA_CLASSES:
            raise self.fail(loc, f"unknown data class {dc!r}; expected one of: {DATA_CLASSES}")
        return dc

    def reserve(self, name: str, loc: tuple[int | str, ...]) -> int:
        if name in self.names:
            raise self.fail(loc, f"duplicate tenant tree node {name!r}")
        self.names.add(name)
        return len(self.nodes)

    def add(self, n: _NodeIn, parent: int, loc: tuple[int | str, ...]) -> int:
        nid = self.reserve(n.name, (*loc, "name"))
        for i, s in enumerate(n.sites):
            if s not in self.site_ids:
                raise self.fail((*loc, "sites", i), f"unknown site {s!r}")
        grants = []
        for gi, g in enumerate(n.grants):
            if g.flavor not in self.flavors:
                raise self.fail((*loc, "grants", gi, "flavor"), f"unknown GPU model {g.flavor!r}")
            if g.end <= g.start:
                raise self.fail((*loc, "grants", gi, "end"), "end must be after start")
            if (g.gpus > 0) == (g.gpu_hours > 0):
                raise self.fail((*loc, "grants", gi), "give exactly one of gpus or gpu_hours")
            grants.append(Grant(g.name, g.flavor, g.start, g.end, g.gpus, g.gpu_hours))
        self.nodes.append(
            Node(
                id=nid,
                name=n.name,
                parent=parent,
                share=n.share,
                guarantee=self.quantities(n.guarantee, (*loc, "guarantee")),
                limit=self.quantities(n.limit, (*loc, "limit")),
                borrow=n.borrow,
                lend=n.lend,
                owner=n.owner,
                leases=n.leases,
                sites=n.sites,
                data_class=self.data_class(n.data_class, (*loc, "data_class")),
                grants=tuple(grants),
            )
        )
        kids = [self.add(c, nid, (*loc, "children", i)) for i, c in enumerate(n.children)]
        if n.tenants is not None:
            t = n.tenants
            tloc = (*loc, "tenants")
            width = max(2, len(str(t.count)))
            for k in range(1, t.count + 1):
                leaf = self.reserve(f"{n.name}-{k:0{width}d}", tloc)
                self.nodes.append(
                    Node(
                        id=leaf,
                        name=f"{n.name}-{k:0{width}d}",
                        parent=nid,
                        share=t.share,
                        guarantee=self.quantities(t.guarantee, (*tloc, "guarantee")),
                        limit=self.quantities(t.limit, (*tloc, "limit")),
                        data_class=self.data_class(t.data_class, (*tloc, "data_class")),
                    )
                )
                kids.append(leaf)
        self.nodes[nid] = _with_children(self.nodes[nid], tuple(kids))
        return nid


def _with_children(node: Node, children: tuple[int, ...]) -> Node:
    from dataclasses import replace

    return replace(node, children=children)
