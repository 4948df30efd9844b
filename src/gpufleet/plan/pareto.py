"""Pareto fronts: configurations no other beats on both size (GPUs or cost) and p95 wait.

A configuration is (variant, policy, load); its seeds are averaged first, because a front of
single seeds would reward luck. Fronts are taken per load: configurations that faced
different demand are not comparable. Nor are fleets that turn jobs away: a fleet that rejects
the jobs it cannot fit (a removed site, a cluster shrunk below a gang) shows short waits for
the jobs it kept, so only configurations rejecting the fewest jobs at their load may be on the
front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gpufleet.plan.row import Row


def pareto_mask(xs: Sequence[float], ys: Sequence[float]) -> list[bool]:
    """True where no other point is <= on both and < on one (both minimized).

    Equal points do not dominate each other, so duplicates are on the front together.
    """
    n = len(xs)
    return [
        not any(
            xs[j] <= xs[i] and ys[j] <= ys[i] and (xs[j] < xs[i] or ys[j] < ys[i]) for j in range(n)
        )
        for i in range(n)
    ]


@dataclass(frozen=True, slots=True)
class Config:
    """A configuration's seed means, and whether it is on its load's front."""

    variant: str
    policy: str
    load: float
    gpus: int
    cost: float | None
    utilization: float
    wait_mean_h: float
    wait_p95_h: float
    rejected: float
    seeds: int
    pareto: bool
    eligible: bool = True  # rejects no more jobs than the fewest-rejecting config at its load

    @property
    def size(self) -> float:
        """What the front minimizes besides wait: cost when priced, else GPUs."""
        return self.cost if self.cost is not None else float(self.gpus)


def configs(rows: Sequence[Row]) -> list[Config]:
    """Average rows over seeds per (variant, policy, load) and mark each load's front."""
    groups: dict[tuple[str, str, float], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.variant, r.policy, r.load), []).append(r)
    out: list[Config] = []
    for (variant, policy, load), rs in groups.items():
        n = len(rs)
        costs = [r.cost for r in rs if r.cost is not None]
        out.append(
            Config(
                variant=variant,
                policy=policy,
                load=load,
                gpus=rs[0].gpus,
                cost=sum(costs) / n if len(costs) == n else None,
                utilization=sum(r.utilization for r in rs) / n,
                wait_mean_h=sum(r.wait_mean_h for r in rs) / n,
                wait_p95_h=sum(r.wait_p95_h for r in rs) / n,
                rejected=sum(r.rejected for r in rs) / n,
                seeds=n,
                pareto=False,
            )
        )
    marked: list[Config] = []
    for load in sorted({c.load for c in out}):
        at = [c for c in out if c.load == load]
        fewest = min(c.rejected for c in at)
        ok = [c for c in at if c.rejected <= fewest]
        mask = pareto_mask([c.size for c in ok], [c.wait_p95_h for c in ok])
        marked += [replace(c, pareto=m) for c, m in zip(ok, mask, strict=True)]
        marked += [replace(c, eligible=False) for c in at if c.rejected > fewest]
    order = {(c.variant, c.policy, c.load): i for i, c in enumerate(out)}
    return sorted(marked, key=lambda c: order[(c.variant, c.policy, c.load)])
