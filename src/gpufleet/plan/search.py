"""The smallest fleet meeting a target: one bisection on the scale factor per (policy, load).

A probe meets the target when every seed meets it and no seed rejects more jobs than at the
top of the range (probed first): a fleet too small to fit some gangs would otherwise meet a
wait target by turning those jobs away.

All bisections advance in lockstep, so each round sends every pending probe's seeds to the
backend as one batch. Scale factors that round to a fleet already simulated (GPU counts are
whole NVLink domains) reuse its rows instead of running again.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.plan.backends import Backend, Progress
from gpufleet.plan.bisect import Bisection
from gpufleet.plan.grid import Point, points_for
from gpufleet.plan.row import Row
from gpufleet.plan.spec import Search, Sweep
from gpufleet.plan.variant import apply

_Key = tuple[str, float, tuple[int, ...]]  # policy, load, GPUs per cluster


@dataclass(frozen=True, slots=True)
class Probe:
    """One probed scale: the fleet it made, the target metric's worst seed, the verdict."""

    policy: str
    load: float
    scale: float
    gpus: int
    cost: float | None
    value: float
    rejected: int  # most jobs rejected by any seed
    met: bool


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The smallest scale meeting the target for one policy and load (None: not even hi)."""

    policy: str
    load: float
    scale: float | None
    gpus: int | None
    probes: tuple[Probe, ...]


def run_search(
    sweep: Sweep, backend: Backend, progress: Progress | None = None
) -> list[SearchResult]:
    """Bisect for every (policy, load) of the sweep; probes run all of the sweep's seeds."""
    s = sweep.search
    if s is None:
        return []
    keys = [(p, load) for p in sweep.policies for load in sweep.loads]
    state = {k: Bisection(s.lo, s.hi, s.tolerance) for k in keys}
    probes: dict[tuple[str, float], list[Probe]] = {k: [] for k in keys}
    cache: dict[_Key, list[Row]] = {}
    top: dict[tuple[str, float], list[int]] = {}  # rejected per seed at the first probe (hi)
    done = 0
    while True:
        asks = [(k, sc) for k in keys if (sc := state[k].next_scale()) is not None]
        if not asks:
            break
        # Same policy, load and GPUs per cluster = same points: run each once.
        todo: dict[_Key, list[Point]] = {}
        keyed: list[tuple[tuple[str, float], float, _Key]] = []
        for (policy, load), sc in asks:
            v = s.variant(sc)
            fleet = apply(sweep.base, v)
            key = (policy, load, tuple(c.gpus for c in fleet.clusters))
            keyed.append(((policy, load), sc, key))
            if key not in cache and key not in todo:
                todo[key] = points_for(sweep, v.name, fleet, policy, load)
        if todo:
            batch = [p for ps in todo.values() for p in ps]
            rows = backend.map(batch)
            done += len(batch)
            if progress is not None:
                progress(done, done)  # the total is unknown until the bisections end
            n = len(sweep.seeds)
            for i, key in enumerate(todo):
                cache[key] = rows[i * n : (i + 1) * n]
        for k, sc, key in keyed:
            top.setdefault(k, [r.rejected for r in cache[key]])
            probes[k].append(_probe(s, k, sc, cache[key], top[k]))
            state[k].record(sc, probes[k][-1].met)
    out = []
    for k in keys:
        ans = state[k].answer
        gpus = apply(sweep.base, s.variant(ans)).total_gpus if ans is not None else None
        out.append(SearchResult(k[0], k[1], ans, gpus, tuple(probes[k])))
    return out


def _probe(
    s: Search, key: tuple[str, float], scale: float, rows: list[Row], top: list[int]
) -> Probe:
    value = s.target.worst([s.target.value_of(r) for r in rows])
    serves_all = all(r.rejected <= t for r, t in zip(rows, top, strict=True))
    return Probe(
        policy=key[0],
        load=key[1],
        scale=scale,
        gpus=rows[0].gpus,
        cost=rows[0].cost,
        value=value,
        rejected=max(r.rejected for r in rows),
        met=s.target.met(value) and serves_all,
    )
