"""Read a sweep file (sweep.yaml) into a validated Sweep; errors name file, field and line.

scenario: small-mixed          # built-in name or a fleet file (relative to this file)
days: 2                        # days of synthetic arrivals per run
variants:                      # fleet variants; default: the base fleet alone
  - name: base
  - {name: gov-x2, scale: {gov-cloud: 2}}     # per site or cluster; `scale: 1.5` is global
  - {name: no-edge, remove: [edge]}
  - name: more-b200
    add: [{site: gov-cloud, id: gov-b200-2, gpu_model: B200, gpus: 32, domain: hgx8}]
policies: [fifo+easy, sjf+easy]
loads: [0.7, 0.9]              # multipliers of the synthetic workload's offered load
seeds: [0, 1]
prices: {B200: 5.0, GB200: 7.0, RTXPRO6000: 1.5}   # per GPU-hour; optional
target: p95_wait_h <= 4        # optional; marks rows that meet it
search: {scale: [0.25, 2], tolerance: 0.05}     # optional: smallest fleet meeting target
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import ClusterIn, build_cluster, load_fleet
from gpufleet.fleet.model import Cluster, Fleet
from gpufleet.plan.target import Target, parse_target
from gpufleet.plan.variant import Variant, apply, unknown_ids
from gpufleet.policy.registry import resolve
from gpufleet.yamlfile import error_at, load_yaml, validate

_STRICT = ConfigDict(extra="forbid", frozen=True)
_Fail = Callable[[tuple[int | str, ...], str], ConfigError]  # (field path, message) -> error
Load = Annotated[float, Field(gt=0, le=10)]
Price = Annotated[float, Field(ge=0)]


class _AddIn(ClusterIn):
    site: str = Field(min_length=1)
    source: str = Field(default="[A] what-if cluster from a sweep file", min_length=1)


class _VariantIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    # A number or a mapping; checked after validation so the message can say both forms.
    scale: Any = 1.0
    remove: list[str] = []
    add: list[_AddIn] = []


class _SearchIn(BaseModel):
    model_config = _STRICT
    scale: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]
    target: str | None = None
    tolerance: float = Field(default=0.05, gt=0)
    scope: list[str] = []


class _SweepIn(BaseModel):
    model_config = _STRICT
    scenario: str = Field(min_length=1)
    days: float = Field(gt=0, le=3650)
    variants: list[_VariantIn] = Field(default=[_VariantIn(name="base")], min_length=1)
    policies: list[str] = Field(default=["fifo+easy"], min_length=1)
    placement: str = "topo-best-fit"
    loads: list[Load] = Field(default=[0.85], min_length=1)
    seeds: list[int] = Field(default=[0], min_length=1)
    prices: dict[str, Price] = {}
    currency: str = ""
    target: str | None = None
    search: _SearchIn | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """Bisect the global scale factor in [lo, hi] to `tolerance` for the smallest fleet that
    meets `target` (on every seed); `scope` limits the scaling to some sites or clusters."""

    lo: float
    hi: float
    target: Target
    tolerance: float
    scope: tuple[str, ...] = ()

    def variant(self, scale: float) -> Variant:
        name = f"scale={scale:.4g}"
        if self.scope:
            return Variant(name, scale_at=tuple((i, scale) for i in self.scope))
        return Variant(name, scale=scale)


@dataclass(frozen=True, slots=True)
class Sweep:
    """A validated sweep: the base fleet, its variants (built) and the axes of the grid."""

    path: Path
    scenario: str
    base: Fleet
    days: float
    variants: tuple[Variant, ...]
    fleets: tuple[Fleet, ...]  # fleets[i] is variants[i] applied to base
    policies: tuple[str, ...]
    placement: str
    loads: tuple[float, ...]
    seeds: tuple[int, ...]
    prices: tuple[tuple[str, float], ...] = ()
    currency: str = ""
    target: Target | None = None
    search: Search | None = None


def load_sweep(path: Path) -> Sweep:
    """Load and check a sweep file: every name resolves, every variant builds a fleet."""
    data, node = load_yaml(path)
    sw = validate(_SweepIn, data, path, node)

    def fail(loc: tuple[int | str, ...], msg: str) -> ConfigError:
        return error_at(path, node, loc, msg)

    scenario = _scenario(sw.scenario, path)
    try:
        base = load_fleet(scenario)
    except ConfigError as e:
        raise fail(("scenario",), str(e)) from None
    for name, axis in (("policies", sw.policies), ("loads", sw.loads), ("seeds", sw.seeds)):
        dup = _first_duplicate(list(axis))
        if dup is not None:
            raise fail((name, dup), f"duplicate value {axis[dup]!r}")
    for i, p in enumerate(sw.policies):
        try:
            resolve(p, sw.placement)
        except ConfigError as e:
            loc: tuple[int | str, ...] = (
                ("placement",) if "placement" in str(e) else ("policies", i)
            )
            raise fail(loc, str(e)) from None
    variants = tuple(_variant(v, vi, base, path, node) for vi, v in enumerate(sw.variants))
    dup = _first_duplicate([v.name for v in variants])
    if dup is not None:
        raise fail(("variants", dup, "name"), f"duplicate variant name {variants[dup].name!r}")
    fleets = []
    for vi, v in enumerate(variants):
        try:
            fleets.append(apply(base, v))
        except ConfigError as e:
            raise fail(("variants", vi), str(e)) from None
    if sw.prices:
        priced = set(sw.prices)
        missing = sorted({c.gpu_model for f in fleets for c in f.clusters} - priced)
        if missing:
            raise fail(("prices",), f"no price for GPU model {', '.join(missing)}")
    target = _target(sw.target, ("target",), fail, bool(sw.prices))
    search = None
    if sw.search is not None:
        s = sw.search
        lo, hi = s.scale
        if lo >= hi:
            raise fail(("search", "scale"), f"expected [lo, hi] with lo < hi, got [{lo}, {hi}]")
        t = _target(s.target, ("search", "target"), fail, bool(sw.prices)) or target
        if t is None:
            raise fail(("search",), "a search needs a target (here or at the top level)")
        bad = unknown_ids(base, tuple(s.scope))
        if bad:
            raise fail(("search", "scope"), f"unknown site or cluster {', '.join(bad)}")
        search = Search(lo, hi, t, s.tolerance, tuple(s.scope))
    return Sweep(
        path=path,
        scenario=scenario,
        base=base,
        days=sw.days,
        variants=variants,
        fleets=tuple(fleets),
        policies=tuple(sw.policies),
        placement=sw.placement,
        loads=tuple(sw.loads),
        seeds=tuple(sw.seeds),
        prices=tuple(sorted(sw.prices.items())),
        currency=sw.currency,
        target=target,
        search=search,
    )


def _scenario(text: str, sweep_path: Path) -> str:
    """A fleet file is found next to the sweep file, as a reader of the sweep would expect."""
    p = Path(text)
    if p.suffix in (".yaml", ".yml") and not p.is_absolute():
        return str(sweep_path.parent / p)
    return text


def _first_duplicate(values: list[Any]) -> int | None:
    seen: set[Any] = set()
    for i, v in enumerate(values):
        if v in seen:
            return i
        seen.add(v)
    return None


def _target(
    text: str | None, loc: tuple[int | str, ...], fail: _Fail, priced: bool
) -> Target | None:
    if text is None:
        return None
    try:
        t = parse_target(text)
    except ValueError as e:
        raise fail(loc, str(e)) from None
    if t.metric == "cost" and not priced:
        raise fail(loc, "a target on cost needs prices")
    return t


def _variant(v: _VariantIn, vi: int, base: Fleet, path: Path, node: yaml.Node | None) -> Variant:
    loc: tuple[int | str, ...] = ("variants", vi)
    scale, scale_at = _scale(v.scale, (*loc, "scale"), base, path, node)
    bad = unknown_ids(base, tuple(v.remove))
    if bad:
        raise error_at(path, node, (*loc, "remove"), f"unknown site or cluster {', '.join(bad)}")
    seen = {c.id for c in base.clusters}
    added: list[Cluster] = []
    for ai, a in enumerate(v.add):
        if a.site not in {s.id for s in base.sites}:
            known = ", ".join(s.id for s in base.sites)
            raise error_at(
                path, node, (*loc, "add", ai, "site"), f"unknown site {a.site!r}; sites: {known}"
            )
        added.append(build_cluster(a, a.site, base.models, seen, path, node, (*loc, "add", ai)))
    return Variant(v.name, scale, scale_at, tuple(v.remove), tuple(added))


def _scale(
    raw: Any, loc: tuple[int | str, ...], base: Fleet, path: Path, node: yaml.Node | None
) -> tuple[float, tuple[tuple[str, float], ...]]:
    """`1.5` scales every cluster; `{site-or-cluster: factor}` scales the ones named."""

    def factor(x: Any, at: tuple[int | str, ...]) -> float:
        if isinstance(x, bool) or not isinstance(x, int | float) or x < 0:
            raise error_at(path, node, at, f"expected a factor >= 0, got {x!r}")
        return float(x)

    if isinstance(raw, dict):
        bad = unknown_ids(base, tuple(str(k) for k in raw))
        if bad:
            raise error_at(path, node, loc, f"unknown site or cluster {', '.join(bad)}")
        return 1.0, tuple((str(k), factor(x, (*loc, str(k)))) for k, x in raw.items())
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return factor(raw, loc), ()
    raise error_at(
        path,
        node,
        loc,
        f"expected a factor >= 0 or a mapping of site or cluster id to factor, got {raw!r}",
    )
