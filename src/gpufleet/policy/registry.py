"""Policies by name: `ORDER[+easy]` for the queue, a placement name for the GPUs.

Adding a policy is one function in ordering.py or placement.py and one registry line there.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.errors import ConfigError
from gpufleet.policy.ordering import ORDERINGS, Ordering
from gpufleet.policy.placement import PLACEMENTS, Placement

BACKFILLS: dict[str, str] = {
    "easy": "EASY backfill: later jobs start early if they do not delay the first blocked job",
}


@dataclass(frozen=True, slots=True)
class Policy:
    """A resolved policy: queue ordering, whether to backfill, and placement."""

    name: str
    order: Ordering
    backfill: bool
    placement: Placement
    placement_name: str
    fair: bool = False  # order tenants by fair share first (needs a tenant tree)


def resolve(policy: str, placement: str = "topo-best-fit") -> Policy:
    """Turn `fifo`, `fifo+easy`, `sjf+easy`, ... into a Policy; unknown names list valid ones."""
    order_name, _, backfill = policy.partition("+")
    if order_name not in ORDERINGS:
        raise ConfigError(
            f"unknown queue ordering {order_name!r} in policy {policy!r}; "
            f"valid: {', '.join(sorted(ORDERINGS))} (optionally +easy)"
        )
    if backfill and backfill not in BACKFILLS:
        raise ConfigError(
            f"unknown backfill {backfill!r} in policy {policy!r}; valid: {', '.join(BACKFILLS)}"
        )
    if placement not in PLACEMENTS:
        raise ConfigError(
            f"unknown placement {placement!r}; valid: {', '.join(sorted(PLACEMENTS))}"
        )
    return Policy(
        name=policy,
        order=ORDERINGS[order_name][0],
        backfill=bool(backfill),
        placement=PLACEMENTS[placement][0],
        placement_name=placement,
        fair=order_name == "fairshare",
    )


def describe() -> list[tuple[str, str, str]]:
    """(kind, name, one-line description) for `gpufleet policies`."""
    rows = [("ordering", n, d) for n, (_, d) in ORDERINGS.items()]
    rows += [("backfill", f"+{n}", d) for n, d in BACKFILLS.items()]
    rows += [("placement", n, d) for n, (_, d) in PLACEMENTS.items()]
    return rows
