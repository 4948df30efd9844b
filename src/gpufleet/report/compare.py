"""What a comparison page shows: runs side by side, each figure's difference from the first run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufleet.report.charts import Chart, Series
from gpufleet.report.run_report import RunReport, cdf_chart, cdf_series, header, time_axis

# Which way is better for a key figure: -1 lower, +1 higher; absent: neither. Energy is
# neither: a run that leaves GPUs idle uses less of it.
BETTER = {
    "utilization": 1,
    "utilization_makespan": 1,
    "jain_fairness": 1,
    "states.rejected": -1,
    "states.timeout": -1,
    "makespan_days": -1,
}
for _k in ("wait_s", "jct_s", "bounded_slowdown"):
    for _s in ("mean", "p50", "p95", "p99", "max"):
        BETTER[f"{_k}.{_s}"] = -1


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


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    labels: tuple[str, ...]  # "A: run-name", ...
    runs: tuple[RunReport, ...]
    info: tuple[tuple[str, tuple[str, ...]], ...]  # header rows: label, value per run
    figures: tuple[FigureRow, ...]
    groups: tuple[GroupCompare, ...]
    charts: tuple[Chart, ...]


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
    return Comparison(labels, tuple(runs), info, figures, groups, _charts(labels, runs, groups))


def _charts(
    labels: tuple[str, ...], runs: list[RunReport], groups: tuple[GroupCompare, ...]
) -> tuple[Chart, ...]:
    ov = [r.overview for r in runs]
    enum = list(enumerate(zip(labels, ov, strict=True)))
    names = [g.group for g in groups]
    window = max(float(r.metrics["window_days"]) for r in runs)
    makespan = max(float(r.metrics["makespan_days"]) for r in runs)
    same_window = len({r.metrics["window_days"] for r in runs}) == 1

    def time(note: str = "") -> dict[str, Any]:
        kw = time_axis(window, makespan, note)
        if not same_window:
            kw["x_mark"] = None  # arrivals end at different times
        return kw

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
