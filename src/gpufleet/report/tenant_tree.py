"""The report's tenancy view: per tenant-tree group, GPU-hours share against entitlement, waits,
preemptions, grants, and what the ledger says the group's GPU time cost.

Reads metrics.json's `tenancy` block (written by `metrics/tenancy.py` when a tree was in force)
and the ledger's totals per tenant group. The ledger keys rows by the job's tenant group, the
tree by its nodes; they meet by name (the synthetic workload's tenants `<group>-NN` hang under
the tree node `<group>`). A tree group with no ledger group of its name gets the sum of its
sub-groups, so a parent's cost is what its children cost; one with neither shows no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufleet.report.charts import Chart, Series
from gpufleet.report.figures import KeyFigure, figure_text

MARKET, CHARGED = "cost_market_krw", "cost_charged_krw"


@dataclass(frozen=True, slots=True)
class TreeRow:
    """One tenant-tree group (a node with children), as metrics.json has it, plus its cost."""

    group: str
    depth: int
    jobs: int
    gpu_hours: float
    share: float
    entitlement: float
    wait_p50: float
    wait_p95: float
    preempted_jobs: int
    lost_gpu_hours: float
    pending: int
    rejected: int
    cost: tuple[float, float] | None  # (market, charged) KRW from the ledger


@dataclass(frozen=True, slots=True)
class GrantRow:
    tenant: str
    grant: str
    flavor: str
    award_gpu_hours: float
    used_gpu_hours: float
    used_fraction: float


@dataclass(frozen=True, slots=True)
class TenancyView:
    rows: tuple[TreeRow, ...]  # depth-first, as in metrics.json
    grants: tuple[GrantRow, ...]
    preempted_runs: int
    lost_gpu_hours: float


def tree_costs(
    rows: list[tuple[str, int]], ledger: dict[str, dict[str, float]] | None
) -> list[tuple[float, float] | None]:
    """(market, charged) KRW per (name, depth) row of a depth-first tree listing.

    A row takes the ledger group of its own name, else the sum over its direct sub-groups
    that have a cost (the rows after it one level deeper, up to the next row at its depth)."""
    out: list[tuple[float, float] | None] = [None] * len(rows)
    if ledger is None:
        return out
    for i in reversed(range(len(rows))):
        name, depth = rows[i]
        if name in ledger:
            out[i] = (ledger[name][MARKET], ledger[name][CHARGED])
            continue
        kids: list[tuple[float, float]] = []
        for j in range(i + 1, len(rows)):
            if rows[j][1] <= depth:
                break
            cost = out[j]
            if rows[j][1] == depth + 1 and cost is not None:
                kids.append(cost)
        if kids:
            out[i] = (sum(k[0] for k in kids), sum(k[1] for k in kids))
    return out


def tenancy_view(block: dict[str, Any], ledger: dict[str, dict[str, float]] | None) -> TenancyView:
    """metrics.json's `tenancy` block as rows, with ledger costs per tree group."""
    groups = block.get("groups", [])
    costs = tree_costs([(g["group"], int(g["depth"])) for g in groups], ledger)
    rows = tuple(
        TreeRow(
            group=g["group"],
            depth=int(g["depth"]),
            jobs=int(g["jobs"]),
            gpu_hours=float(g["gpu_hours"]),
            share=float(g["share"]),
            entitlement=float(g["entitlement"]),
            wait_p50=float(g["wait_p50_s"]),
            wait_p95=float(g["wait_p95_s"]),
            preempted_jobs=int(g["preempted_jobs"]),
            lost_gpu_hours=float(g["lost_gpu_hours"]),
            pending=int(g["pending"]),
            rejected=int(g["rejected"]),
            cost=cost,
        )
        for g, cost in zip(groups, costs, strict=True)
    )
    grants = tuple(
        GrantRow(
            tenant=str(g["tenant"]),
            grant=str(g["grant"]),
            flavor=str(g["flavor"]),
            award_gpu_hours=float(g["award_gpu_hours"]),
            used_gpu_hours=float(g["used_gpu_hours"]),
            used_fraction=float(g["used_fraction"]),
        )
        for g in block.get("grants", [])
    )
    return TenancyView(
        rows=rows,
        grants=grants,
        preempted_runs=int(block.get("preempted_runs", 0)),
        lost_gpu_hours=float(block.get("lost_gpu_hours", 0.0)),
    )


def tenancy_figures(view: TenancyView) -> tuple[KeyFigure, ...]:
    """Key figures of the tenancy block, keyed by their path in metrics.json."""
    out = (
        ("tenancy.preempted_runs", "runs preempted (reclaim)", float(view.preempted_runs)),
        ("tenancy.lost_gpu_hours", "GPU-hours lost to preemption", view.lost_gpu_hours),
    )
    return tuple(KeyFigure(k, label, v, figure_text(k, v)) for k, label, v in out)


def share_chart(view: TenancyView) -> Chart:
    """GPU-hours share next to entitlement, per tree group in tree order."""
    names = [r.group for r in view.rows]
    return Chart(
        id="tenancy-share",
        section="tenancy",
        title="GPU-hours share against entitlement, by tenant-tree group",
        x_title="tenant-tree group (tree order)",
        y_title="share of the fleet",
        series=(
            Series("GPU-hours share", names, [r.share for r in view.rows], kind="bar", color=0),
            Series("entitlement", names, [r.entitlement for r in view.rows], kind="bar", color=9),
        ),
        y_percent=True,
        note=(
            "Share: the group's GPU-hours (every run, preempted runs too) over all GPU-hours. "
            "Entitlement: its guaranteed GPUs over the fleet's GPUs; groups without a "
            "guarantee have none and borrow what is idle."
        ),
    )


def krw_text(v: float) -> str:
    """KRW as a person reads it: billions, millions, or whole won."""
    if abs(v) >= 1e9:
        return f"{v / 1e9:,.2f} B KRW"
    if abs(v) >= 1e6:
        return f"{v / 1e6:,.1f} M KRW"
    return f"{v:,.0f} KRW"
