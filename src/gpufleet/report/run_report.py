"""What a run's report shows: header, key figures, tenant groups, charts, and what it leaves out.

`build_run_report` reduces a RunDir (arrays with one entry per job) to a RunReport holding only
aggregates, downsampled series and CDF points, which the HTML and PNG renderers draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import gpufleet
from gpufleet.report import energy as en
from gpufleet.report.charts import Chart, Series
from gpufleet.report.figures import DAY, KeyFigure, key_figures
from gpufleet.report.reduce import (
    MAX_POINTS,
    SIZE_CLASSES,
    busy_seconds,
    cdf_points,
    cumulative_gpu_hours,
    downsample,
    size_class,
)
from gpufleet.report.rundir import RunDir, RunInfo
from gpufleet.report.tenant_tree import TenancyView, share_chart, tenancy_figures, tenancy_view
from gpufleet.report.waiting import (
    Waiting,
    free_gpus,
    reduce_waiting,
    waiting_charts,
    waiting_figures,
)

TIME_AXIS = "days since the first submission"

# Page sections: (id, heading), in page order.
SECTIONS = (
    ("use", "How full is the fleet"),
    ("queue", "Why jobs wait"),
    ("waits", "Who waits, and how long"),
    ("shares", "Who gets what"),
    ("tenancy", "Tenant tree: entitlements, preemption and grants"),
    ("power", "Power, energy, cost and CO2"),
)

# What the report leaves out when a run's files lack it, and why: (section, note).
NO_WAITING = (
    "queue",
    "Why jobs wait and fragmentation are not shown: this run's queue.parquet has no "
    "waiting_<reason> and unusable_free_gpus columns (it was written before the twin sampled "
    "them; simulate the run again to get them).",
)
NO_TENANCY = (
    "tenancy",
    "Share against entitlement, preemption and grants are not shown: metrics.json has no "
    "tenancy block (the run had no tenant tree: --tenancy none, a scenario without one, or a "
    "gpufleet from before tenancy).",
)
NO_LEDGER = (
    "shares",
    "Cost and co-pay per group are not shown: the run has no ledger.parquet (written before "
    "the ledger); `gpufleet acct --run RUN_DIR` builds the ledger from jobs.parquet.",
)


@dataclass(frozen=True, slots=True)
class GroupRow:
    group: str
    jobs: int
    gpu_hours: float
    share: float
    wait_p50: float
    wait_p95: float
    jct_p95: float
    cost: tuple[float, float] | None = None  # (market, charged) KRW from the ledger


@dataclass(frozen=True, slots=True, eq=False)
class Overview:
    """The series a comparison page lays over each other, one per run."""

    time_days: np.ndarray
    fleet_utilization: np.ndarray
    queue_days: np.ndarray
    pending: np.ndarray
    running: np.ndarray
    wait_cdf: tuple[np.ndarray, np.ndarray]
    jct_cdf: tuple[np.ndarray, np.ndarray]
    power_days: np.ndarray
    power_mw: np.ndarray
    unusable: tuple[np.ndarray, np.ndarray] | None = None  # (days, unusable free GPUs)


@dataclass(frozen=True, slots=True, eq=False)
class RunReport:
    name: str
    info: RunInfo
    fleet_name: str
    metrics: dict[str, Any]
    energy: en.Energy
    figures: tuple[KeyFigure, ...]
    groups: tuple[GroupRow, ...]
    charts: tuple[Chart, ...]
    overview: Overview
    waiting: Waiting | None = None  # None: queue.parquet has no waiting reasons
    tenancy: TenancyView | None = None  # None: metrics.json has no tenancy block
    ledger: dict[str, dict[str, float]] | None = None  # per tenant group; None: no ledger
    omitted: tuple[tuple[str, str], ...] = ()  # (section, note) of what this run lacks

    def ledger_total(self, column: str) -> float:
        """A ledger column summed over the groups (0 without a ledger)."""
        return sum(g[column] for g in (self.ledger or {}).values())


def header(r: RunReport) -> list[tuple[str, str]]:
    """The header's (label, value) pairs: what produced the run."""
    i = r.info
    scenario = i.scenario if i.scenario == r.fleet_name else f"{r.fleet_name} ({i.scenario})"
    return [
        ("scenario", scenario),
        ("policy", i.policy),
        ("placement", i.placement),
        ("seed", str(i.seed)),
        ("workload", i.workload),
        ("days of arrivals", f"{i.days:g}"),
        ("run made by gpufleet", i.version),
        ("report made by gpufleet", gpufleet.__version__),
    ]


def time_axis(window_days: float, makespan_days: float, note: str = "") -> dict[str, Any]:
    """Chart fields of a time chart: days on x, where arrivals end, and a first view that shows
    the arrivals and as long again of the drain when the drain is longer than that."""
    view = 2 * window_days
    if makespan_days > view > 0:
        more = (
            f"The first view ends at day {view:g}; double-click the chart to see the whole run "
            f"(to day {makespan_days:.1f}), as the queue drains after arrivals end."
        )
        return {
            "x_title": TIME_AXIS,
            "x_mark": window_days,
            "x_range": (0.0, view),
            "note": f"{note} {more}".strip(),
        }
    return {"x_title": TIME_AXIS, "x_mark": window_days, "note": note}


def _cdf_floor(series: tuple[Series, ...]) -> float | None:
    """Where a CDF chart's y axis may start: below every curve's first step, if that is high.

    Waits are often zero for most jobs; starting the axis at, say, 90% shows the tail."""
    firsts = [float(s.y[1]) for s in series if len(s.y) > 1]
    if not firsts or min(firsts) < 0.5:
        return None
    return float(np.floor(min(firsts) * 20) / 20)  # 5% steps


def _cdf_series(
    values: np.ndarray, labels: list[str], members: list[np.ndarray]
) -> tuple[Series, ...]:
    """One step CDF per member set."""
    out = []
    for i, (label, idx) in enumerate(zip(labels, members, strict=True)):
        x, p = cdf_points(values[idx])
        if x.size:
            out.append(cdf_series(label, x, p, i))
    return tuple(out)


def cdf_series(label: str, x: np.ndarray, p: np.ndarray, color: int) -> Series:
    """A CDF as a step line that rises from 0 at its first value; x floored at 1 s (log axis)."""
    x = np.maximum(np.concatenate(([x[0]], x)), 1.0)
    return Series(label, x, np.concatenate(([0.0], p)), kind="step", color=color)


def _cdf_charts(run: RunDir) -> list[Chart]:
    ran = run.ran
    wait = (run.start - run.submit)[ran]
    jct = (run.end - run.submit)[ran]
    group = run.group[ran]
    sizes = size_class(run.gpus[ran])
    by_group = [np.flatnonzero(group == gi) for gi in range(len(run.groups))]
    by_size = [np.flatnonzero(sizes == ci) for ci in range(len(SIZE_CLASSES))]
    size_labels = [label for label, _, _ in SIZE_CLASSES]
    charts = []
    for values, what in ((wait, "Wait"), (jct, "Job completion time")):
        for labels, members, by in (
            (list(run.groups), by_group, "tenant group"),
            (size_labels, by_size, "job size"),
        ):
            series = _cdf_series(values, labels, members)
            chart_id = f"{'wait' if what == 'Wait' else 'jct'}-{by.split()[-1]}"
            charts.append(cdf_chart(chart_id, f"{what} CDF by {by}", what, series))
    return charts


def cdf_chart(chart_id: str, title: str, what: str, series: tuple[Series, ...]) -> Chart:
    """A wait or JCT CDF chart on a log duration axis."""
    floor = _cdf_floor(series)
    note = "Jobs that ran (completed or timed out). Times under 1 s are drawn at 1 s."
    if floor is not None:
        note += f" The y axis starts at {floor:.0%}, below every curve's first step."
    return Chart(
        id=chart_id,
        section="waits",
        title=title,
        x_title=f"{what.lower()} (log scale)",
        y_title="share of jobs",
        series=series,
        note=note,
        x_duration=True,
        y_percent=True,
        y_from=floor,
    )


def _utilization_charts(run: RunDir) -> tuple[list[Chart], np.ndarray, np.ndarray]:
    days = run.sample_time / DAY
    charts = []
    tf, uf = downsample(days, run.busy.sum(axis=1) / max(run.key_gpus.sum(), 1.0))
    for by, pick in (("site", 0), ("GPU model", 1)):
        names = sorted({k[pick] for k in run.keys})
        member = np.array([names.index(k[pick]) for k in run.keys])
        busy = np.zeros((run.busy.shape[0], len(names)))
        total = np.zeros(len(names))
        np.add.at(busy.T, member, run.busy.T)
        np.add.at(total, member, run.key_gpus)
        t, u = downsample(days, busy / np.maximum(total, 1.0))
        series = [Series(n, t, u[:, i], color=i) for i, n in enumerate(names)]
        series.append(Series("whole fleet", tf, uf, color=7, dash=True))
        charts.append(
            Chart(
                id=f"utilization-{'site' if pick == 0 else 'model'}",
                section="use",
                title=f"Utilization by {by}",
                y_title="GPUs busy",
                series=tuple(series),
                y_percent=True,
                **_time(run, "Busy GPUs / GPUs, sampled every hour of simulated time."),
            )
        )
    return charts, tf, uf


def _time(run: RunDir, note: str = "") -> dict[str, Any]:
    m = run.metrics
    return time_axis(float(m["window_days"]), float(m["makespan_days"]), note)


def _queue_chart(t: np.ndarray, y: np.ndarray, time: dict[str, Any]) -> Chart:
    """Running (column 0) and queued (column 1) jobs over time."""
    return Chart(
        id="queue",
        section="use",
        title="Running and queued jobs",
        **time,
        y_title="jobs",
        series=(
            Series("running", t, y[:, 0], color=0),
            Series("queued", t, y[:, 1], color=1),
        ),
    )


def _gpu_hour_charts(run: RunDir) -> list[Chart]:
    makespan = float(run.metrics["makespan_days"]) * DAY
    grid = np.linspace(0.0, makespan, MAX_POINTS)
    lines = []
    for gi, g in enumerate(run.groups):
        m = run.group == gi
        hours = cumulative_gpu_hours(run.start[m], run.end[m], run.gpus[m], grid)
        lines.append(Series(g, grid / DAY, hours, color=gi))
    totals = [float(run.metrics["groups"].get(g, {}).get("gpu_hours", 0.0)) for g in run.groups]
    return [
        Chart(
            id="gpu-hours-time",
            section="shares",
            title="GPU-hours by tenant group, cumulative",
            x_title=TIME_AXIS,
            x_mark=float(run.metrics["window_days"]),
            y_title="GPU-hours",
            series=tuple(lines),
        ),
        Chart(
            id="gpu-hours-total",
            section="shares",
            title="GPU-hours by tenant group, whole run",
            x_title="tenant group",
            y_title="GPU-hours",
            series=(Series("GPU-hours", list(run.groups), totals, kind="bar"),),
        ),
    ]


def _energy(run: RunDir, keys: list[en.PowerKey]) -> en.Energy:
    """Energy over the window, from each job's busy GPU-seconds at its (site, GPU model)."""
    window = float(run.metrics["window_days"]) * DAY
    busy = busy_seconds(run.start, run.end, run.gpus, window)
    ran = run.place >= 0
    per_key = np.bincount(run.place[ran], weights=busy[ran], minlength=len(keys))
    return en.energy(per_key, keys, window)


def _power_charts(
    run: RunDir, keys: list[en.PowerKey], e: en.Energy
) -> tuple[list[Chart], np.ndarray, np.ndarray]:
    """Power per site against its budget, and energy per site; also the fleet's power."""
    mw = en.power_mw(run.busy, keys)
    sites = [s for s in run.fleet.sites if any(k.site == s.id for k in keys)]
    days = run.sample_time / DAY
    series: list[Series] = []
    for i, s in enumerate(sites):
        cols = [ki for ki, k in enumerate(keys) if k.site == s.id]
        t, p = downsample(days, mw[:, cols].sum(axis=1), how="max")
        series.append(Series(s.id, t, p, color=i, group=s.id))
        if s.power_budget_mw > 0:
            cap = s.power_budget_mw * s.pue
            series.append(
                Series(f"{s.id} budget", [t[0], t[-1]], [cap, cap], color=i, dash=True, group=s.id)
            )
    tt, total = downsample(days, mw.sum(axis=1), how="max")
    charts = [
        Chart(
            id="power-site",
            section="power",
            title="Facility power by site against its budget",
            y_title="MW",
            series=tuple(series),
            **_time(
                run,
                "(busy GPUs x TDP + idle GPUs x TDP x "
                f"{en.IDLE_SHARE:g} [A]) x site PUE; GPUs only, hosts not counted. Dashed: the "
                "site's IT power budget x PUE. Peak of each interval when downsampled.",
            ),
        ),
        Chart(
            id="energy-site",
            section="power",
            title="Energy by site over the window",
            x_title="site",
            y_title="MWh",
            series=(
                Series("MWh", [s.id for s in sites], [e.site_mwh[s.id] for s in sites], kind="bar"),
            ),
            note=(
                f"Cost at {en.KRW_PER_KWH} KRW/kWh [S105]; "
                f"CO2 at {en.TCO2E_PER_MWH} tCO2e/MWh [S109]."
            ),
        ),
    ]
    return charts, tt, total


def _group_rows(run: RunDir) -> tuple[GroupRow, ...]:
    m = run.metrics
    total = float(m["gpu_hours"]) or 1.0
    rows = []
    for gi, g in enumerate(run.groups):
        sel = (run.group == gi) & run.ran
        wait = (run.start - run.submit)[sel]
        jct = (run.end - run.submit)[sel]
        p = np.percentile(wait, [50, 95]) if wait.size else np.zeros(2)
        info = m["groups"].get(g, {"jobs": 0, "gpu_hours": 0.0})
        led = (run.ledger or {}).get(g)
        rows.append(
            GroupRow(
                group=g,
                jobs=int(info["jobs"]),
                gpu_hours=float(info["gpu_hours"]),
                share=float(info["gpu_hours"]) / total,
                wait_p50=float(p[0]),
                wait_p95=float(p[1]),
                jct_p95=float(np.percentile(jct, 95)) if jct.size else 0.0,
                cost=None if led is None else (led["cost_market_krw"], led["cost_charged_krw"]),
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.gpu_hours, r.group)))


def _waiting(run: RunDir) -> tuple[Waiting | None, list[Chart]]:
    """The queue samples' reasons and fragmentation, when the run wrote them."""
    if run.waiting is None or run.unusable is None:
        return None, []
    free = free_gpus(run.queue_time, run.sample_time, run.busy, float(run.key_gpus.sum()))
    w = reduce_waiting(run.queue_time, run.waiting, free, run.unusable)
    charts = waiting_charts(run.queue_time, run.waiting, free, run.unusable, w, _time(run))
    return w, charts


def build_run_report(run: RunDir, name: str | None = None) -> RunReport:
    """Reduce a run directory to what its report shows."""
    util_charts, t_util, fleet_util = _utilization_charts(run)
    keys = en.power_keys(run.fleet, run.keys, [int(g) for g in run.key_gpus])
    e = _energy(run, keys)
    energy_charts, t_power, power = _power_charts(run, keys, e)
    ran = run.ran
    tq, q = downsample(run.queue_time / DAY, np.column_stack([run.running, run.pending]))
    waiting, queue_charts = _waiting(run)
    block = run.metrics.get("tenancy")
    tenancy = tenancy_view(block, run.ledger) if isinstance(block, dict) else None
    charts = (
        *util_charts,
        _queue_chart(tq, q, _time(run)),
        *queue_charts,
        *_cdf_charts(run),
        *_gpu_hour_charts(run),
        *((share_chart(tenancy),) if tenancy is not None and tenancy.rows else ()),
        *energy_charts,
    )
    overview = Overview(
        time_days=t_util,
        fleet_utilization=fleet_util,
        queue_days=tq,
        pending=q[:, 1],
        running=q[:, 0],
        wait_cdf=cdf_points((run.start - run.submit)[ran]),
        jct_cdf=cdf_points((run.end - run.submit)[ran]),
        power_days=t_power,
        power_mw=power,
        unusable=None if run.unusable is None else downsample(run.queue_time / DAY, run.unusable),
    )
    figures = key_figures(run.metrics, e)
    if waiting is not None:
        figures += waiting_figures(waiting)
    if tenancy is not None:
        figures += tenancy_figures(tenancy)
    omitted = [
        note
        for note, missing in (
            (NO_WAITING, waiting is None),
            (NO_TENANCY, tenancy is None),
            (NO_LEDGER, run.ledger is None),
        )
        if missing
    ]
    return RunReport(
        name=name or run.path.resolve().name,
        info=run.info,
        fleet_name=run.fleet.name,
        metrics=run.metrics,
        energy=e,
        figures=figures,
        groups=_group_rows(run),
        charts=charts,
        overview=overview,
        waiting=waiting,
        tenancy=tenancy,
        ledger=run.ledger,
        omitted=tuple(omitted),
    )
