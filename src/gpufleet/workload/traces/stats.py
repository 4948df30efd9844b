"""Summarise a read trace (jobs, GPU-hours, sizes, run times, arrivals, rows dropped) as tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from gpufleet.workload.traces.frame import TraceRead

__all__ = ["PERCENTILES", "SIZE_BUCKETS", "SizeRow", "TraceStats", "stats_tables", "trace_stats"]

# Gang sizes in powers of two: (lowest, highest) GPUs, None = no upper bound.
SIZE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, 64), (65, 128),
    (129, 256), (257, 512), (513, 1024), (1025, None),
)  # fmt: skip
PERCENTILES = (10, 25, 50, 75, 90, 99)


@dataclass(frozen=True, slots=True)
class SizeRow:
    """Jobs whose gang size is in one bucket, and the GPU-hours they ask for."""

    label: str
    jobs: int
    gpu_hours: float


@dataclass(frozen=True, slots=True)
class TraceStats:
    """What a trace asks for. Run times are seconds; percentiles interpolate linearly.

    `arrivals_per_hour` is jobs over the submit span (None when every job submits at once);
    `peak_arrivals_per_hour` is the most jobs submitted in one clock hour from the first.
    """

    format: str
    path: Path
    rows: int
    jobs: int
    gpu_hours: float
    span_hours: float
    arrivals_per_hour: float | None
    peak_arrivals_per_hour: int
    sizes: tuple[SizeRow, ...]
    runtime_mean: float
    runtime_percentiles: tuple[tuple[int, float], ...]
    runtime_max: float
    dropped: Mapping[str, int]
    adjusted: Mapping[str, int]


def trace_stats(read: TraceRead) -> TraceStats:
    """The statistics of `read`'s jobs, with its account of dropped and adjusted rows."""
    jobs = read.jobs
    submit = np.fromiter((j.submit for j in jobs), np.float64, len(jobs))
    gpus = np.fromiter((j.gpus for j in jobs), np.int64, len(jobs))
    runtime = np.fromiter((j.runtime for j in jobs), np.float64, len(jobs))
    gpu_hours = gpus * runtime / 3600.0
    span = float(submit.max() - submit.min()) / 3600.0 if len(jobs) else 0.0
    sizes: list[SizeRow] = []
    top = int(gpus.max()) if len(jobs) else 0
    for lo, hi in SIZE_BUCKETS:
        if lo > max(top, 1):
            break
        inside = (gpus >= lo) & (gpus <= (hi if hi is not None else np.iinfo(np.int64).max))
        label = str(lo) if lo == hi else f"{lo}-{hi}" if hi is not None else f">= {lo}"
        sizes.append(SizeRow(label, int(inside.sum()), float(gpu_hours[inside].sum())))
    hours = np.floor((submit - submit.min()) / 3600.0).astype(np.int64) if len(jobs) else submit
    return TraceStats(
        format=read.format,
        path=read.path,
        rows=read.rows,
        jobs=len(jobs),
        gpu_hours=float(gpu_hours.sum()),
        span_hours=span,
        arrivals_per_hour=len(jobs) / span if span > 0 else None,
        peak_arrivals_per_hour=int(np.bincount(hours).max()) if len(jobs) else 0,
        sizes=tuple(sizes),
        runtime_mean=float(runtime.mean()) if len(jobs) else 0.0,
        runtime_percentiles=tuple(
            (p, float(np.percentile(runtime, p)) if len(jobs) else 0.0) for p in PERCENTILES
        ),
        runtime_max=float(runtime.max()) if len(jobs) else 0.0,
        dropped=dict(read.dropped),
        adjusted=dict(read.adjusted),
    )


def stats_tables(s: TraceStats) -> list[Table]:
    """Rich tables: overview, sizes, run times, and rows dropped or adjusted."""
    head = Table(title=f"Trace {s.path.name} ({s.format})")
    head.add_column("measure")
    head.add_column("value", justify="right")
    head.add_row("records read", f"{s.rows:,}")
    head.add_row("jobs", f"{s.jobs:,}")
    head.add_row("records dropped", f"{sum(s.dropped.values()):,}")
    head.add_row("adjustments (a job may have several)", f"{sum(s.adjusted.values()):,}")
    head.add_row("GPU-hours", f"{s.gpu_hours:,.1f}")
    head.add_row("submit span", _human(s.span_hours * 3600.0))
    rate = "-" if s.arrivals_per_hour is None else f"{s.arrivals_per_hour:,.2f}"
    head.add_row("arrival rate (jobs/h over the span)", rate)
    head.add_row("arrivals in the busiest hour", f"{s.peak_arrivals_per_hour:,}")

    sizes = Table(title="Job sizes")
    for col in ("GPUs", "jobs", "share", "GPU-hours", "share "):
        sizes.add_column(col, justify="left" if col == "GPUs" else "right")
    for row in s.sizes:
        sizes.add_row(
            row.label,
            f"{row.jobs:,}",
            _share(row.jobs, s.jobs),
            f"{row.gpu_hours:,.1f}",
            _share(row.gpu_hours, s.gpu_hours),
        )

    runtimes = Table(title="Run time")
    runtimes.add_column("statistic")
    runtimes.add_column("seconds", justify="right")
    runtimes.add_column("", justify="right")
    for label, value in (
        ("mean", s.runtime_mean),
        *((f"p{p}", v) for p, v in s.runtime_percentiles),
        ("max", s.runtime_max),
    ):
        runtimes.add_row(label, f"{value:,.0f}", _human(value))

    account = Table(title="Rows dropped and jobs adjusted")
    account.add_column("what")
    account.add_column("reason")
    account.add_column("count", justify="right")
    for what, counts in (("dropped", s.dropped), ("adjusted", s.adjusted)):
        for reason, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            account.add_row(what, reason, f"{count:,}")
    if not s.dropped and not s.adjusted:
        account.add_row("-", "none", "0")
    return [head, sizes, runtimes, account]


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
