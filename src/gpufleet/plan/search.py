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
    cache: dict[tuple[str, float, tuple[int, ...]], list[Row]] = {}
    top: dict[tuple[str, float], list[int]] = {}  # rejected per seed at the first probe (hi)
    done = 0
    while True:
        asks = [(k, sc) for k in keys if (sc := state[k].next_scale()) is not None]
        if not asks:
            break
        todo: list[tuple[tuple[str, float, tuple[int, ...]], list[Point]]] = []
        fleets = {}
        for (policy, load), sc in asks:
            fleet = apply(sweep.base, s.variant(sc))
            fleets[(policy, load)] = fleet
            key = (policy, load, tuple(c.gpus for c in fleet.clusters))
            if key not in cache and all(key != t[0] for t in todo):
                todo.append((key, points_for(sweep, s.variant(sc).name, fleet, policy, load)))
        batch = [p for _, ps in todo for p in ps]
        if batch:
            rows = backend.map(batch)
            done += len(batch)
            if progress is not None:
                progress(done, done)  # the total is unknown until the bisections end
            for i, (key, ps) in enumerate(todo):
                cache[key] = rows[i * len(ps) : (i + 1) * len(ps)]
        for k, sc in asks:
            fleet = fleets[k]
            rows = cache[(k[0], k[1], tuple(c.gpus for c in fleet.clusters))]
            top.setdefault(k, [r.rejected for r in rows])
            probes[k].append(_probe(s, k, sc, rows, top[k]))
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
