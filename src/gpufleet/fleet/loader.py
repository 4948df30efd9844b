"""Load a fleet scenario from YAML (a built-in name or a file) into a validated Fleet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from gpufleet.errors import ConfigError
from gpufleet.fleet.catalog import CATALOG, GpuModel
from gpufleet.fleet.model import Cluster, Fleet, Maintenance, PowerPhase, Site, SiteExecutor
from gpufleet.yamlfile import duration_seconds, error_at, load_yaml, validate

# Domain presets: (GPUs per NVLink domain, GPUs per node, domains per block by default).
# hgx8: 8-GPU HGX node, SuperPOD scalable unit of 32 nodes [S86].
# nvl72: 72-GPU rack of 18 trays x 4 GPUs, scalable unit of 8 racks [S88].
# pcie8: 8 PCIe GPUs per server, no NVLink; the node is the locality unit; 32 per block [A].
# quad4: 4 GPUs per node (e.g. GH200 quad nodes); the node is the locality unit [A].
DOMAIN_PRESETS: dict[str, tuple[int, int, int]] = {
    "hgx8": (8, 8, 32),
    "nvl72": (72, 4, 8),
    "pcie8": (8, 8, 32),
    "quad4": (4, 4, 64),
}

_STRICT = ConfigDict(extra="forbid", frozen=True)


class _GpuModelIn(BaseModel):
    model_config = _STRICT
    memory_gb: float = Field(gt=0)
    bf16_tflops: float = Field(gt=0)
    tdp_w: float = Field(gt=0)
    nvlink_domain: int = Field(ge=1)
    source: str = Field(min_length=1)


class ClusterIn(BaseModel):
    """A cluster as written in YAML; sweep files reuse it to add clusters to a fleet."""

    model_config = _STRICT
    id: str = Field(min_length=1)
    gpu_model: str = Field(min_length=1)
    gpus: int = Field(gt=0, strict=True)
    domain: Literal["hgx8", "nvl72", "pcie8", "quad4"] = "hgx8"
    domain_gpus: int | None = Field(default=None, gt=0, strict=True)
    node_gpus: int | None = Field(default=None, gt=0, strict=True)
    block_domains: int | None = Field(default=None, gt=0, strict=True)
    node_kw: float = Field(default=0.0, ge=0)
    source: str = Field(min_length=1)


def _date_text(v: object) -> object:
    """YAML reads an unquoted 2026-03-01 as a date; keep it as its ISO text."""
    return v.isoformat() if isinstance(v, date) else v


DateText = Annotated[str, BeforeValidator(_date_text)]


_SLURM_ONLY = ("partition", "account", "accounts", "node_map", "env", "binaries", "extra_args")


class _ExecutorIn(BaseModel):
    """A site's `executor:` block; the Slurm options are refused for `kind: local`."""

    model_config = _STRICT
    kind: Literal["local", "slurm"]
    partition: str | None = Field(default=None, min_length=1)
    account: str | None = Field(default=None, min_length=1)
    accounts: dict[str, str] = {}
    gres: str = Field(default="gpu", pattern=r"^[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)?$")
    node_map: dict[str, str] = {}
    env: dict[str, str] = {}
    binaries: str | None = Field(default=None, min_length=1)
    extra_args: tuple[str, ...] = ()


def day_of(text: str) -> date | None:
    """The day a `YYYY-MM` (its first day) or `YYYY-MM-DD` text names; None if malformed."""
    try:
        if len(text) == 7:
            return date.fromisoformat(text + "-01")
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


class _PowerPhaseIn(BaseModel):
    model_config = _STRICT
    date: DateText = Field(min_length=1)
    mw: float = Field(gt=0)
    source: str = Field(min_length=1)


class _MaintenanceIn(BaseModel):
    """`maintenance:` of the scenario (every site) or of one site; durations like "30d"."""

    model_config = _STRICT
    every: float = Field(gt=0)
    fraction: float = Field(gt=0, le=1)
    drain: float = Field(default=0.0, ge=0)
    down: float = Field(gt=0)
    start: float | None = Field(default=None, ge=0)  # first wave; default one `every` in
    stagger: bool = False  # each cluster at its own time within `every`, from the seed
    source: str = Field(min_length=1)
    _secs = field_validator("every", "drain", "down", "start", mode="before")(duration_seconds)

    def build(self) -> Maintenance:
        start = self.every if self.start is None else self.start
        return Maintenance(
            self.every, self.fraction, self.drain, self.down, start, self.source, self.stagger
        )


class _SiteIn(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    kind: Literal["sovereign_cloud", "ai_factory", "national_center", "research_cloud"]
    region: str = Field(min_length=1)
    country: str = Field(default="KR", min_length=2, max_length=2)
    csap_tier: Literal["none", "low", "medium", "high"] = "none"
    certifications: tuple[str, ...] = ()
    access: Literal["open", "captive"] = "open"
    power_budget_mw: float = Field(default=0.0, ge=0)
    pue: float = Field(default=1.4, ge=1.0, le=3.0)
    program: str = ""
    online: DateText = ""
    source: str = Field(min_length=1)
    power_phases: list[_PowerPhaseIn] = []
    maintenance: _MaintenanceIn | None = None
    clusters: list[ClusterIn] = Field(min_length=1)
    executor: _ExecutorIn | None = None


class _ScenarioIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    description: str = ""
    as_of: DateText = ""
    sources: dict[str, str] = {}
    maintenance: _MaintenanceIn | None = None  # every site's, unless a site gives its own
    gpu_models: dict[str, _GpuModelIn] = {}
    sites: list[_SiteIn] = Field(min_length=1)


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    root = resources.files("gpufleet.fleet") / "scenarios"
    return sorted(
        p.name.removesuffix(".yaml")
        for p in root.iterdir()
        if p.name.endswith(".yaml") and not p.name.endswith(".tenancy.yaml")
    )


def scenario_path(name_or_path: str) -> Path:
    """Resolve a built-in scenario name or a file path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError(f"{p}: no such scenario file")
        return p
    builtin = resources.files("gpufleet.fleet") / "scenarios" / f"{name_or_path}.yaml"
    if not builtin.is_file():
        names = ", ".join(builtin_scenarios())
        raise ConfigError(f"unknown scenario {name_or_path!r}; built-in scenarios: {names}")
    return Path(str(builtin))


def load_fleet(name_or_path: str) -> Fleet:
    """Load and validate a fleet scenario; raise ConfigError naming file, field and line."""
    path = scenario_path(name_or_path)
    data, node = load_yaml(path)
    sc = validate(_ScenarioIn, data, path, node)
    models: dict[str, GpuModel] = dict(CATALOG)
    for name, gm in sc.gpu_models.items():
        models[name] = GpuModel(
            name, gm.memory_gb, gm.bf16_tflops, gm.tdp_w, gm.nvlink_domain, gm.source
        )
    sites: list[Site] = []
    clusters: list[Cluster] = []
    seen_sites: set[str] = set()
    seen_clusters: set[str] = set()
    for si, s in enumerate(sc.sites):
        if s.id in seen_sites:
            raise error_at(path, node, ("sites", si, "id"), f"duplicate site id {s.id!r}")
        seen_sites.add(s.id)
        sites.append(
            Site(
                id=s.id,
                owner=s.owner,
                kind=s.kind,
                region=s.region,
                country=s.country.upper(),
                csap_tier=s.csap_tier,
                certifications=s.certifications,
                access=s.access,
                power_budget_mw=s.power_budget_mw,
                pue=s.pue,
                program=s.program,
                online=s.online,
                source=s.source,
                power_phases=_power_phases(s, path, node, si),
                maintenance=m.build() if (m := s.maintenance or sc.maintenance) else None,
            )
        )
        for ci, c in enumerate(s.clusters):
            loc = ("sites", si, "clusters", ci)
            clusters.append(build_cluster(c, s.id, models, seen_clusters, path, node, loc))
        if s.executor is not None:
            site_clusters = clusters[len(clusters) - len(s.clusters) :]
            sites[-1] = replace(
                sites[-1], executor=_executor(s.executor, site_clusters, path, node, si)
            )
    return Fleet.build(sc.name, sc.description, tuple(sites), tuple(clusters), models, sc.sources)


def _executor(
    e: _ExecutorIn, clusters: list[Cluster], path: Path, node: yaml.Node | None, si: int
) -> SiteExecutor:
    """The site's executor; node_map keys must be nodes of the site's clusters."""
    loc: tuple[int | str, ...] = ("sites", si, "executor")
    if e.kind == "local":
        for name in _SLURM_ONLY:
            if name in e.model_fields_set:
                raise error_at(path, node, (*loc, name), f"{name} is for kind: slurm only")
    if e.account is not None and e.accounts:
        raise error_at(path, node, (*loc, "accounts"), "give account or accounts, not both")
    nodes = {f"{c.id}-{k:04d}" for c in clusters for k in range(c.gpus // c.node_gpus)}
    for name in e.node_map:
        if name not in nodes:
            example = min(nodes)
            raise error_at(
                path,
                node,
                (*loc, "node_map", name),
                f"{name!r} is not a node of this site (nodes are named like {example!r})",
            )
    return SiteExecutor(
        kind=e.kind,
        partition=e.partition,
        account=e.account,
        accounts=tuple(sorted(e.accounts.items())),
        gres=e.gres,
        node_map=tuple(sorted(e.node_map.items())),
        env=tuple(sorted(e.env.items())),
        binaries=e.binaries,
        extra_args=e.extra_args,
    )


def _power_phases(
    s: _SiteIn, path: Path, node: yaml.Node | None, si: int
) -> tuple[PowerPhase, ...]:
    """A site's power schedule: dates as YYYY-MM or YYYY-MM-DD, strictly in order."""
    phases: list[PowerPhase] = []
    for k, p in enumerate(s.power_phases):
        day = day_of(p.date)
        loc = ("sites", si, "power_phases", k, "date")
        if day is None:
            raise error_at(
                path, node, loc, f"{p.date!r} is not a date; expected YYYY-MM or YYYY-MM-DD"
            )
        if phases and day <= phases[-1].start:
            raise error_at(path, node, loc, f"{p.date} is not after the phase before it")
        phases.append(PowerPhase(day, p.mw, p.source))
    if s.online and day_of(s.online) is None:
        raise error_at(
            path,
            node,
            ("sites", si, "online"),
            f"{s.online!r} is not a date; expected YYYY-MM or YYYY-MM-DD",
        )
    return tuple(phases)


def build_cluster(
    c: ClusterIn,
    site_id: str,
    models: Mapping[str, GpuModel],
    seen: set[str],
    path: Path,
    node: yaml.Node | None,
    loc: tuple[int | str, ...],
) -> Cluster:
    """Check a YAML cluster against its GPU model and domain preset and build the Cluster.

    `loc` is where the cluster sits in the file, so errors name its field and line.
    """
    n = node
    if c.id in seen:
        raise error_at(path, n, (*loc, "id"), f"duplicate cluster id {c.id!r}")
    seen.add(c.id)
    if c.gpu_model not in models:
        known = ", ".join(sorted(models))
        raise error_at(
            path, n, (*loc, "gpu_model"), f"unknown GPU model {c.gpu_model!r}; known: {known}"
        )
    d_gpus, n_gpus, b_domains = DOMAIN_PRESETS[c.domain]
    nvlink = models[c.gpu_model].nvlink_domain
    if nvlink > 1 and (c.domain_gpus or d_gpus) != nvlink:
        raise error_at(
            path,
            n,
            (*loc, "domain"),
            f"{c.gpu_model} has {nvlink}-GPU NVLink domains; domain gives {c.domain_gpus or d_gpus}"
            f" (use domain: {'nvl72' if nvlink == 72 else 'hgx8'})",
        )
    d_gpus = c.domain_gpus or d_gpus
    n_gpus = c.node_gpus or min(n_gpus, d_gpus)
    b_domains = c.block_domains or b_domains
    if d_gpus % n_gpus:
        raise error_at(
            path, n, (*loc, "node_gpus"), f"{n_gpus} does not divide domain size {d_gpus}"
        )
    if c.gpus % d_gpus:
        raise error_at(
            path,
            n,
            (*loc, "gpus"),
            f"{c.gpus} GPUs is not a whole number of {d_gpus}-GPU domains",
        )
    return Cluster(
        id=c.id,
        site=site_id,
        gpu_model=c.gpu_model,
        gpus=c.gpus,
        domain_gpus=d_gpus,
        node_gpus=n_gpus,
        block_domains=b_domains,
        node_kw=c.node_kw,
        source=c.source,
    )
