"""The sweep's table as Parquet (every column) and Markdown (the columns a reader compares)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gpufleet.plan.pareto import Config
from gpufleet.plan.row import Row
from gpufleet.plan.search import SearchResult
from gpufleet.plan.spec import Sweep


def point_records(
    sweep: Sweep, rows: Sequence[Row], cfgs: Sequence[Config]
) -> list[dict[str, Any]]:
    """One record per point: its Row, whether its configuration is on the front, the target."""
    front = {(c.variant, c.policy, c.load) for c in cfgs if c.pareto}
    t = sweep.target
    out = []
    for r in rows:
        d = r.as_dict()
        d["pareto"] = (r.variant, r.policy, r.load) in front
        d["meets_target"] = t.met(t.value_of(r)) if t is not None else None
        out.append(d)
    return out


def probe_records(results: Sequence[SearchResult]) -> list[dict[str, Any]]:
    """One record per search probe; `answer` marks the smallest scale that met the target."""
    return [
        {
            "policy": p.policy,
            "load": p.load,
            "scale": p.scale,
            "gpus": p.gpus,
            "cost": p.cost,
            "value": p.value,
            "rejected": p.rejected,
            "met": p.met,
            "answer": p.scale == res.scale,
        }
        for res in results
        for p in res.probes
    ]


def write_parquet(records: Sequence[dict[str, Any]], path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(list(records)), path)
    return path


_Fmt = Callable[[Any], str]


def _num(spec: str) -> _Fmt:
    return lambda v: "-" if v is None else format(v, spec)


def _yes(v: Any) -> str:
    return "-" if v is None else ("yes" if v else "")


_POINT_COLUMNS: list[tuple[str, str, _Fmt]] = [
    ("variant", "variant", str),
    ("policy", "policy", str),
    ("load", "load", _num("g")),
    ("seed", "seed", str),
    ("gpus", "GPUs", _num(",")),
    ("cost", "cost", _num(",.0f")),
    ("jobs", "jobs", _num(",")),
    ("rejected", "rejected", _num(",")),
    ("utilization", "util", _num(".1%")),
    ("wait_mean_h", "wait mean h", _num(".2f")),
    ("wait_p50_h", "wait p50 h", _num(".2f")),
    ("wait_p95_h", "wait p95 h", _num(".2f")),
    ("jct_mean_h", "JCT mean h", _num(".2f")),
    ("slowdown_mean", "slowdown", _num(".2f")),
    ("pareto", "Pareto", _yes),
    ("meets_target", "meets", _yes),
]


def _md(records: Sequence[dict[str, Any]], columns: list[tuple[str, str, _Fmt]]) -> list[str]:
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for r in records:
        lines.append("| " + " | ".join(f(r[k]) for k, _, f in columns) + " |")
    return lines


def markdown(
    sweep: Sweep,
    points: Sequence[dict[str, Any]],
    cfgs: Sequence[Config],
    results: Sequence[SearchResult],
) -> str:
    """The page a planner reads: what was swept, every point, the front, the search."""
    priced = bool(sweep.prices)
    cols = [c for c in _POINT_COLUMNS if priced or c[0] != "cost"]
    if sweep.target is None:
        cols = [c for c in cols if c[0] != "meets_target"]
    cur = f" ({sweep.currency})" if sweep.currency else ""
    lines = [
        f"# Sweep {sweep.path.name}",
        "",
        f"Scenario `{sweep.scenario}` ({sweep.base.total_gpus:,} GPUs), {sweep.days:g} days of "
        f"arrivals, placement `{sweep.placement}`; {len(sweep.variants)} variants x "
        f"{len(sweep.policies)} policies x {len(sweep.loads)} loads x {len(sweep.seeds)} seeds "
        f"= {len(points)} points. Waits and JCT in hours"
        + (f"; cost is GPUs x price per GPU-hour x hours{cur}" if priced else "")
        + (f"; target `{sweep.target}`" if sweep.target else "")
        + ".",
        "",
        *_md(points, cols),
        "",
        "## Pareto front",
        "",
        f"Per load, configurations (seed means) that no other beats on both "
        f"{'cost' if priced else 'GPUs'} and p95 wait, among those rejecting the fewest jobs "
        "at that load (a fleet that turns jobs away is not comparable on wait).",
        "",
    ]
    front = [c for c in cfgs if c.pareto]
    lines += _md(
        [
            {
                "load": c.load,
                "variant": c.variant,
                "policy": c.policy,
                "gpus": c.gpus,
                "cost": c.cost,
                "wait_p95_h": c.wait_p95_h,
                "utilization": c.utilization,
                "rejected": c.rejected,
            }
            for c in sorted(front, key=lambda c: (c.load, c.size, c.wait_p95_h))
        ],
        [
            ("load", "load", _num("g")),
            ("variant", "variant", str),
            ("policy", "policy", str),
            ("gpus", "GPUs", _num(",")),
            *([("cost", "cost", _num(",.0f"))] if priced else []),
            ("wait_p95_h", "wait p95 h", _num(".2f")),
            ("utilization", "util", _num(".1%")),
            ("rejected", "rejected", _num(".3g")),
        ],
    )
    if results and sweep.search is not None:
        s = sweep.search
        scope = f" (sites/clusters: {', '.join(s.scope)})" if s.scope else ""
        lines += [
            "",
            "## Smallest fleet meeting the target",
            "",
            f"Bisection on the scale factor in [{s.lo:g}, {s.hi:g}]{scope} to {s.tolerance:g}, "
            f"target `{s.target}` on every seed (the worst seed's value is shown), rejecting no "
            f"more jobs than at scale {s.hi:g}.",
            "",
        ]
        for res in results:
            verdict = (
                f"scale {res.scale:.4g}, {res.gpus:,} GPUs"
                if res.scale is not None and res.gpus is not None
                else f"not met even at scale {s.hi:g}"
            )
            lines.append(f"- {res.policy}, load {res.load:g}: {verdict}")
        lines += [""]
        lines += _md(
            probe_records(results),
            [
                ("policy", "policy", str),
                ("load", "load", _num("g")),
                ("scale", "scale", _num(".4g")),
                ("gpus", "GPUs", _num(",")),
                ("value", s.target.metric, _num(".3g")),
                ("rejected", "rejected", _num(",")),
                ("met", "met", _yes),
                ("answer", "answer", _yes),
            ],
        )
    return "\n".join(lines) + "\n"
