"""What a comparison page shows: runs side by side, each figure's difference from the first run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufleet.report.charts import Chart, Series
from gpufleet.report.run_report import RunReport, cdf_chart, cdf_series, header, time_axis
from gpufleet.scheduler.why import CODES

# Which way is better for a key figure: -1 lower, +1 higher; absent: neither. Energy is
# neither: a run that leaves GPUs idle uses less of it.
BETTER = {
    "utilization": 1,
    "utilization_makespan": 1,
    "jain_fairness": 1,
    "states.rejected": -1,
    "states.timeout": -1,
    "makespan_days": -1,
    "queue.unusable_free_gpus.mean": -1,
    "tenancy.preempted_runs": -1,
    "tenancy.lost_gpu_hours": -1,
}
for _k in ("wait_s", "jct_s", "bounded_slowdown"):
    for _s in ("mean", "p50", "p95", "p99", "max"):
        BETTER[f"{_k}.{_s}"] = -1
for _c in CODES:  # fewer job-hours spent waiting is better, whatever the reason
    BETTER[f"queue.waiting_job_hours.{_c}"] = -1


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One key figure across runs; differences are against the first run."""

    key: str
    label: str
    values: tuple[float, ...]
    texts: tuple[str, ...]
    better: int

    def diff(self, i: int) -> float:
        return self.values[i] - self.values[0]

    def rel(self, i: int) -> float | None:
        return self.diff(i) / self.values[0] if self.values[0] else None


@dataclass(frozen=True, slots=True)
class GroupCompare:
    group: str
    gpu_hours: tuple[float, ...]
    wait_p95: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TreeCompare:
    """One tenant-tree group across runs; NaN where a run's tree has no such group."""

    group: str
    depth: int
    share: tuple[float, ...]
    entitlement: tuple[float, ...]
    preempted_jobs: tuple[float, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    labels: tuple[str, ...]  # "A: run-name", ...
    runs: tuple[RunReport, ...]
    info: tuple[tuple[str, tuple[str, ...]], ...]  # header rows: label, value per run
    figures: tuple[FigureRow, ...]
    groups: tuple[GroupCompare, ...]
    charts: tuple[Chart, ...]
    tree: tuple[TreeCompare, ...] = ()  # empty when no run had a tenant tree


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"R{i + 1}"


def build_comparison(runs: list[RunReport]) -> Comparison:
    """Set two or more run reports side by side."""
    labels = tuple(f"{_letter(i)}: {r.name}" for i, r in enumerate(runs))
    heads = [header(r) for r in runs]
    info = tuple(
        (label, tuple(h[row][1] for h in heads)) for row, (label, _) in enumerate(heads[0])
    )
    by_key = [{f.key: f for f in r.figures} for r in runs]
    figures = tuple(
        FigureRow(
            key=f.key,
            label=f.label,
            values=tuple(float(b[f.key].value) for b in by_key),
            texts=tuple(b[f.key].text for b in by_key),
            better=BETTER.get(f.key, 0),
        )
        for f in runs[0].figures
        if all(f.key in b for b in by_key)
    )
    names = sorted({g.group for r in runs for g in r.groups})
    rows = [{g.group: g for g in r.groups} for r in runs]
    groups = tuple(
        GroupCompare(
            group=n,
            gpu_hours=tuple(row[n].gpu_hours if n in row else 0.0 for row in rows),
            wait_p95=tuple(row[n].wait_p95 if n in row else float("nan") for row in rows),
        )
        for n in names
    )
    tree = tree_rows(runs)
    charts = (*_charts(labels, runs, groups), *_new_charts(labels, runs, tree))
    return Comparison(labels, tuple(runs), info, figures, groups, charts, tree)


def tree_rows(runs: list[RunReport]) -> tuple[TreeCompare, ...]:
    """Tenant-tree groups of all runs, in the first tree order that lists them."""
    order: list[tuple[str, int]] = []
    for r in runs:
        for row in r.tenancy.rows if r.tenancy is not None else ():
            if row.group not in {g for g, _ in order}:
                order.append((row.group, row.depth))
    by_run = [{t.group: t for t in (r.tenancy.rows if r.tenancy else ())} for r in runs]
    nan = float("nan")
    return tuple(
        TreeCompare(
            group=g,
            depth=depth,
            share=tuple(b[g].share if g in b else nan for b in by_run),
            entitlement=tuple(b[g].entitlement if g in b else nan for b in by_run),
            preempted_jobs=tuple(float(b[g].preempted_jobs) if g in b else nan for b in by_run),
        )
        for g, depth in order
    )


def _new_charts(
    labels: tuple[str, ...], runs: list[RunReport], tree: tuple[TreeCompare, ...]
) -> list[Chart]:
    """Waiting reasons, unusable free GPUs and tenant-tree shares: for the runs that have them."""
    charts = []
    waits = [(i, lb, r.waiting) for i, (lb, r) in enumerate(zip(labels, runs, strict=True))]
    if any(w is not None for _, _, w in waits):
        charts.append(
            Chart(
                id="compare-waiting-totals",
                section="queue",
                title="Job-hours waiting by reason, whole run",
                x_title="reason",
                y_title="job-hours waiting",
                series=tuple(
                    Series(lb, list(CODES), [float(v) for v in w.job_hours], kind="bar", color=i)
                    for i, lb, w in waits
                    if w is not None
                ),
                note="Waiting jobs x hours over each run's samples (arrivals and drain).",
            )
        )
    lines = [
        Series(lb, r.overview.unusable[0], r.overview.unusable[1], color=i)
        for i, (lb, r) in enumerate(zip(labels, runs, strict=True))
        if r.overview.unusable is not None
    ]
    if lines:
        charts.append(
            Chart(
                id="compare-unusable",
                section="queue",
                title="Free GPUs no waiting job can use",
                y_title="GPUs",
                series=tuple(lines),
                **_time(runs, "Mean of each interval when downsampled."),
            )
        )
    if tree:
        names = [t.group for t in tree]
        charts.append(
            Chart(
                id="compare-tenancy-share",
                section="tenancy",
                title="GPU-hours share by tenant-tree group, against run A's entitlement",
                x_title="tenant-tree group (tree order)",
                y_title="share of the fleet",
                series=(
                    *(
                        Series(lb, names, [t.share[i] for t in tree], kind="bar", color=i)
                        for i, lb in enumerate(labels)
                    ),
                    Series(
                        "entitlement (A)",
                        names,
                        [t.entitlement[0] for t in tree],
                        kind="bar",
                        color=9,
                    ),
                ),
                y_percent=True,
            )
        )
    return charts


def _time(runs: list[RunReport], note: str = "") -> dict[str, Any]:
    """Time-chart fields spanning every run; no arrivals-end mark when the runs' differ."""
    window = max(float(r.metrics["window_days"]) for r in runs)
    makespan = max(float(r.metrics["makespan_days"]) for r in runs)
    kw = time_axis(window, makespan, note)
    if len({r.metrics["window_days"] for r in runs}) > 1:
        kw["x_mark"] = None  # arrivals end at different times
    return kw


def _charts(
    labels: tuple[str, ...], runs: list[RunReport], groups: tuple[GroupCompare, ...]
) -> tuple[Chart, ...]:
    ov = [r.overview for r in runs]
    enum = list(enumerate(zip(labels, ov, strict=True)))
    names = [g.group for g in groups]

    def time(note: str = "") -> dict[str, Any]:
        return _time(runs, note)

    return (
        Chart(
            id="compare-utilization",
            section="use",
            title="Fleet utilization",
            **time(),
            y_title="GPUs busy",
            series=tuple(
                Series(lb, o.time_days, o.fleet_utilization, color=i) for i, (lb, o) in enum
            ),
            y_percent=True,
        ),
        Chart(
            id="compare-queue",
            section="use",
            title="Queued jobs (solid) and running jobs (dashed)",
            **time(),
            y_title="jobs",
            series=tuple(
                s
                for i, (lb, o) in enum
                for s in (
                    Series(f"{lb} queued", o.queue_days, o.pending, color=i, group=lb),
                    Series(f"{lb} running", o.queue_days, o.running, color=i, dash=True, group=lb),
                )
            ),
        ),
        *(
            cdf_chart(
                f"compare-{key}",
                f"{what} CDF, all jobs",
                what,
                tuple(
                    cdf_series(lb, cdf[0], cdf[1], i)
                    for i, (lb, o) in enum
                    for cdf in (o.wait_cdf if what == "Wait" else o.jct_cdf,)
                    if cdf[0].size
                ),
            )
            for key, what in (("wait", "Wait"), ("jct", "Job completion time"))
        ),
        Chart(
            id="compare-wait-p95-group",
            section="waits",
            title="Wait p95 by tenant group",
            x_title="tenant group",
            y_title="hours",
            series=tuple(
                Series(lb, names, [g.wait_p95[i] / 3600 for g in groups], kind="bar", color=i)
                for i, (lb, _) in enum
            ),
        ),
        Chart(
            id="compare-gpu-hours",
            section="shares",
            title="GPU-hours by tenant group, whole run",
            x_title="tenant group",
            y_title="GPU-hours",
            series=tuple(
                Series(lb, names, [g.gpu_hours[i] for g in groups], kind="bar", color=i)
                for i, (lb, _) in enum
            ),
        ),
        Chart(
            id="compare-power",
            section="power",
            title="Facility power, whole fleet",
            y_title="MW",
            series=tuple(Series(lb, o.power_days, o.power_mw, color=i) for i, (lb, o) in enum),
            **time("Peak of each interval when downsampled; see the run reports for the method."),
        ),
        Chart(
            id="compare-energy",
            section="power",
            title="Energy over each run's window",
            x_title="run",
            y_title="MWh",
            series=(Series("MWh", list(labels), [r.energy.mwh for r in runs], kind="bar"),),
        ),
    )
