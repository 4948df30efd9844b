"""One sweep point's outcome as a flat row of metrics, ready for a table."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

_H = 3600.0


@dataclass(frozen=True, slots=True)
class Row:
    """What one simulate() run of a sweep point delivered.

    Waits and JCTs are hours, makespan days. `cost` is the fleet's capacity cost over the
    window (GPUs x price per GPU-hour x hours), None when the sweep file gives no prices: a
    missing price must not look like a free fleet. No wall time here, so that the same point
    gives an equal row on any backend.
    """

    variant: str
    policy: str
    placement: str
    load: float
    seed: int
    days: float
    gpus: int
    clusters: int
    jobs: int
    rejected: int
    utilization: float
    wait_mean_h: float
    wait_p50_h: float
    wait_p95_h: float
    wait_p99_h: float
    jct_mean_h: float
    jct_p50_h: float
    jct_p95_h: float
    slowdown_mean: float
    slowdown_p95: float
    makespan_d: float
    gpu_hours: float
    jain: float
    cost: float | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Metrics a target may name ("p95_wait_h <= 4" reads naturally, so both spellings work).
_KEYS = ("variant", "policy", "placement", "load", "seed", "days")
METRICS: tuple[str, ...] = tuple(f.name for f in fields(Row) if f.name not in _KEYS)
ALIASES: dict[str, str] = {
    "p50_wait_h": "wait_p50_h",
    "p95_wait_h": "wait_p95_h",
    "p99_wait_h": "wait_p99_h",
    "mean_wait_h": "wait_mean_h",
    "p95_jct_h": "jct_p95_h",
    "mean_jct_h": "jct_mean_h",
}


def from_summary(
    m: dict[str, Any],
    *,
    variant: str,
    policy: str,
    placement: str,
    load: float,
    days: float,
    clusters: int,
    cost: float | None,
) -> Row:
    """Flatten `metrics.summary.summarize` output into a Row."""
    w, j, s = m["wait_s"], m["jct_s"], m["bounded_slowdown"]
    return Row(
        variant=variant,
        policy=policy,
        placement=placement,
        load=load,
        seed=int(m["seed"]),
        days=days,
        gpus=int(m["fleet_gpus"]),
        clusters=clusters,
        jobs=int(m["jobs"]),
        rejected=int(m["rejected"]),
        utilization=float(m["utilization"]),
        wait_mean_h=w["mean"] / _H,
        wait_p50_h=w["p50"] / _H,
        wait_p95_h=w["p95"] / _H,
        wait_p99_h=w["p99"] / _H,
        jct_mean_h=j["mean"] / _H,
        jct_p50_h=j["p50"] / _H,
        jct_p95_h=j["p95"] / _H,
        slowdown_mean=float(s["mean"]),
        slowdown_p95=float(s["p95"]),
        makespan_d=float(m["makespan_days"]),
        gpu_hours=float(m["gpu_hours"]),
        jain=float(m["jain_fairness"]),
        cost=cost,
    )
