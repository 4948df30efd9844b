"""Read an inference services file and check it against the fleet: errors name the file, the
field path and the line.

```yaml
placement: {node: inference, parent: national-fleet}   # where the services' node goes
services:
  - name: chat
    carve_from: naver-cloud         # whose guarantee gives up max replicas x GPUs
    models: [B200]
    gpus_per_replica: 8
    replicas: {min: 1, max: 16}
    sites: [naver-gak-sejong]
    demand: {peak: 400000, trough: 120000, peak_hour: 14, weekend: 0.7}   # tokens/s
    tokens_per_s: {B200: 100000}                                          # per replica
    objective: {kind: latency, target: 0.7}
    autoscale: {interval: 5m, down_delay: 30m}
```
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

from gpufleet.errors import ConfigError
from gpufleet.fleet.model import Fleet
from gpufleet.workload.job import TOPOLOGIES
from gpufleet.workload.services import (
    LATENCY,
    OBJECTIVES,
    Autoscale,
    Demand,
    Objective,
    Placement,
    Service,
    ServiceSet,
)
from gpufleet.yamlfile import STRICT, duration_seconds, error_at, load_yaml, validate


class _StepIn(BaseModel):
    model_config = STRICT
    at: float = Field(ge=0)
    add: float

    _secs = field_validator("at", mode="before")(duration_seconds)


class _DemandIn(BaseModel):
    model_config = STRICT
    peak: float = Field(ge=0)
    trough: float = Field(ge=0)
    peak_hour: float = Field(ge=0, lt=24)
    weekend: float = Field(default=1.0, ge=0)
    steps: list[_StepIn] = []


class _ReplicasIn(BaseModel):
    model_config = STRICT
    min: int = Field(ge=0)
    max: int = Field(ge=1)


class _ObjectiveIn(BaseModel):
    model_config = STRICT
    kind: str = "throughput"
    target: float = Field(default=1.0, gt=0, le=1)


class _AutoscaleIn(BaseModel):
    model_config = STRICT
    interval: float = Field(default=300.0, gt=0)
    down_delay: float = Field(default=1800.0, ge=0)

    _secs = field_validator("interval", "down_delay", mode="before")(duration_seconds)


class _ServiceIn(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    gpus_per_replica: int = Field(ge=1)
    replicas: _ReplicasIn
    demand: _DemandIn
    tokens_per_s: dict[str, float]
    objective: _ObjectiveIn = _ObjectiveIn()
    autoscale: _AutoscaleIn = _AutoscaleIn()
    sites: list[str] = []
    topology: str = "domain"
    priority: int = 0
    carve_from: str | None = None
    source: str = ""


class _PlacementIn(BaseModel):
    model_config = STRICT
    node: str = Field(default="inference", min_length=1)
    parent: str | None = None


class _FileIn(BaseModel):
    model_config = STRICT
    name: str = ""
    description: str = ""
    sources: dict[str, str] = {}
    placement: _PlacementIn = _PlacementIn()
    services: list[_ServiceIn] = Field(min_length=1)


def builtin_services_path(scenario: str) -> Path | None:
    """The services file shipped beside a built-in scenario, if there is one."""
    res = resources.files("gpufleet.fleet") / "scenarios" / f"{scenario}.inference.yaml"
    return Path(str(res)) if res.is_file() else None


def resolve_services(spec: str, scenario: str, fleet: Fleet) -> ServiceSet | None:
    """`off`: no services; `auto`: the file shipped with a built-in scenario; else a file."""
    if spec == "off":
        return None
    if spec == "auto":
        found = builtin_services_path(scenario) if not Path(scenario).suffix else None
        if found is None:
            raise ConfigError(f"--inference auto: scenario {scenario!r} ships no services file")
        return load_services(found, fleet)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"{path}: no such inference services file (or use 'auto' or 'off')")
    return load_services(path, fleet)


def load_services(path: Path, fleet: Fleet) -> ServiceSet:
    """Load and check a services file against `fleet`; raise ConfigError on bad input."""
    data, node = load_yaml(path)
    spec = validate(_FileIn, data, path, node)
    seen: set[str] = set()
    out = []
    for i, s in enumerate(spec.services):
        loc: tuple[int | str, ...] = ("services", i)
        if s.name in seen:
            raise error_at(path, node, (*loc, "name"), f"duplicate service {s.name!r}")
        seen.add(s.name)
        out.append(_check(s, loc, path, node, fleet))
    p = spec.placement
    return ServiceSet(tuple(out), Placement(p.node, p.parent), str(path))


def _check(
    s: _ServiceIn,
    loc: tuple[int | str, ...],
    path: Path,
    node: yaml.Node | None,
    fleet: Fleet,
) -> Service:
    """Cross-field checks of one service, then the domain value."""

    def fail(where: tuple[int | str, ...], msg: str) -> ConfigError:
        return error_at(path, node, (*loc, *where), msg)

    for k, m in enumerate(s.models):
        if m not in fleet.models:
            valid = ", ".join(sorted(fleet.models))
            raise fail(("models", k), f"unknown GPU model {m!r}; expected one of: {valid}")
        if m not in s.tokens_per_s:
            raise fail(("tokens_per_s",), f"no tokens/s given for GPU model {m!r}")
    for m, v in s.tokens_per_s.items():
        if m not in s.models:
            raise fail(("tokens_per_s", m), f"GPU model {m!r} is not in models")
        if v <= 0:
            raise fail(("tokens_per_s", m), f"expected tokens/s > 0, got {v!r}")
    site_ids = {x.id for x in fleet.sites}
    for k, x in enumerate(s.sites):
        if x not in site_ids:
            raise fail(("sites", k), f"unknown site {x!r}")
    if s.replicas.min > s.replicas.max:
        raise fail(("replicas", "min"), f"min {s.replicas.min} > max {s.replicas.max}")
    if s.demand.trough > s.demand.peak:
        raise fail(("demand", "trough"), f"trough {s.demand.trough} > peak {s.demand.peak}")
    if s.objective.kind not in OBJECTIVES:
        raise fail(("objective", "kind"), f"expected one of {OBJECTIVES}, got {s.objective.kind!r}")
    if s.topology not in TOPOLOGIES:
        raise fail(("topology",), f"expected one of {TOPOLOGIES}, got {s.topology!r}")
    fits = [
        c
        for c in fleet.clusters
        if c.gpu_model in s.models
        and (not s.sites or c.site in s.sites)
        and (c.domain_gpus if s.topology == "domain" else c.gpus) >= s.gpus_per_replica
    ]
    if not fits:
        raise fail(
            ("gpus_per_replica",),
            f"no cluster of {s.models} at the allowed sites fits {s.gpus_per_replica} GPUs",
        )
    d = s.demand
    return Service(
        name=s.name,
        tenant=s.name,
        models=tuple(s.models),
        gpus=s.gpus_per_replica,
        min_replicas=s.replicas.min,
        max_replicas=s.replicas.max,
        demand=Demand(
            d.peak, d.trough, d.peak_hour, d.weekend, tuple((x.at, x.add) for x in d.steps)
        ),
        tokens_per_s=dict(s.tokens_per_s),
        objective=Objective(
            s.objective.kind, s.objective.target if s.objective.kind == LATENCY else 1.0
        ),
        autoscale=Autoscale(s.autoscale.interval, s.autoscale.down_delay),
        sites=tuple(s.sites),
        topology=s.topology,
        priority=s.priority,
        carve_from=s.carve_from,
    )
