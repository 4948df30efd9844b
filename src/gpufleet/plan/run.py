"""Run one sweep point: draw the workload, simulate, summarize. The same on every backend.

Nothing here reads a clock, a file or global state, and every random draw comes from the
point's seed, so a point gives an equal Row in-process, in a worker process or in a Ray task.
"""

from __future__ import annotations

from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.metrics.summary import summarize
from gpufleet.plan.grid import Point
from gpufleet.plan.row import Row, from_summary
from gpufleet.policy.registry import resolve
from gpufleet.workload.synthetic import draw

_DAY = 86400.0


def run_point(p: Point) -> Row:
    """Simulate `p` and return its row of metrics."""
    jobs = draw(p.base, days=p.days, seed=p.seed, load=p.load)
    window = p.days * _DAY
    rec = simulate(p.fleet, jobs, resolve(p.policy, p.placement), window=window, seed=p.seed)
    return from_summary(
        summarize(rec),
        variant=p.variant,
        policy=p.policy,
        placement=p.placement,
        load=p.load,
        days=p.days,
        clusters=len(p.fleet.clusters),
        cost=capacity_cost(p.fleet, dict(p.prices), window / 3600.0) if p.prices else None,
    )


def capacity_cost(fleet: Fleet, prices: dict[str, float], hours: float) -> float:
    """What owning (or leasing) the fleet's GPUs costs over `hours`, busy or idle."""
    return sum(c.gpus * prices[c.gpu_model] for c in fleet.clusters) * hours
