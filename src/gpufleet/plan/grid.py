"""Expand a Sweep into its points: variants x policies x loads x seeds, in that order."""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.fleet.model import Fleet
from gpufleet.plan.spec import Sweep


@dataclass(frozen=True, slots=True)
class Point:
    """Everything one run needs, carried by value so a remote worker needs no files.

    The workload is drawn from `base` and replayed on `fleet`: a variant changes the supply,
    never the demand, so that a bigger fleet is not also handed more jobs.
    """

    variant: str
    base: Fleet
    fleet: Fleet
    policy: str
    placement: str
    load: float
    seed: int
    days: float
    prices: tuple[tuple[str, float], ...] = ()


def expand(sweep: Sweep) -> list[Point]:
    """Every point of the grid, variants outermost and seeds innermost."""
    return [
        Point(v.name, sweep.base, f, policy, sweep.placement, load, seed, sweep.days, sweep.prices)
        for v, f in zip(sweep.variants, sweep.fleets, strict=True)
        for policy in sweep.policies
        for load in sweep.loads
        for seed in sweep.seeds
    ]


def points_for(sweep: Sweep, name: str, fleet: Fleet, policy: str, load: float) -> list[Point]:
    """One point per seed of the sweep for a given fleet, policy and load (a search probe)."""
    return [
        Point(name, sweep.base, fleet, policy, sweep.placement, load, s, sweep.days, sweep.prices)
        for s in sweep.seeds
    ]
