"""Key figures: the numbers a page shows, where they come from and how they read.

A figure's key is its path in metrics.json (`wait_s.p95`) or `energy.*` for the report's own
energy totals; pages put the key and the exact value in data attributes next to the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufleet.report.energy import Energy
from gpufleet.report.tables import duration_text

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class KeyFigure:
    """A number on the page. `key` is its path in metrics.json, or `energy.*` for the report's."""

    key: str
    label: str
    value: float
    text: str


# Key figures in page order: (path in metrics.json or energy.*, label).
FIGURES: tuple[tuple[str, str], ...] = (
    ("jobs", "jobs"),
    ("utilization", "utilization (window)"),
    ("utilization_makespan", "utilization (makespan)"),
    ("gpu_hours", "GPU-hours"),
    ("jain_fairness", "Jain fairness (groups)"),
    *((f"wait_s.{s}", f"wait {s}") for s in ("mean", "p50", "p95", "p99", "max")),
    *((f"jct_s.{s}", f"JCT {s}") for s in ("mean", "p50", "p95", "p99", "max")),
    ("bounded_slowdown.mean", "bounded slowdown mean"),
    ("bounded_slowdown.p95", "bounded slowdown p95"),
    ("states.completed", "jobs completed"),
    ("states.timeout", "jobs timed out"),
    ("states.rejected", "jobs rejected"),
    ("window_days", "window"),
    ("makespan_days", "makespan"),
    ("energy.mwh", "energy (window)"),
    ("energy.mean_mw", "mean facility power"),
    ("energy.krw", "electricity cost"),
    ("energy.tco2e", "emissions"),
)


def figure_text(key: str, v: float) -> str:
    """A key figure as a person reads it (durations in their unit, shares in %)."""
    if key.startswith(("wait_s", "jct_s")):
        return duration_text(v)
    if key in ("window_days", "makespan_days"):
        return duration_text(v * DAY)
    if key.startswith("utilization"):
        return f"{v:.1%}"
    if key.startswith("bounded_slowdown"):
        return f"{v:.2f}"
    if key.startswith("queue.waiting_job_hours"):
        return f"{v:,.0f} job-h"
    if key.startswith("queue."):
        return f"{v:,.1f} GPUs"
    if key == "jain_fairness":
        return f"{v:.3f}"
    if key == "energy.krw":
        return f"{v / 1e9:,.2f} B KRW" if v >= 1e9 else f"{v / 1e6:,.1f} M KRW"
    units = {"energy.mwh": "MWh", "energy.mean_mw": "MW", "energy.tco2e": "tCO2e"}
    if key in units:
        return f"{v:,.{0 if v >= 1000 else 1 if v >= 10 else 3}f} {units[key]}"
    return f"{v:,.0f}"


def figure_value(m: dict[str, Any], e: Energy, key: str) -> float:
    """The value at a metrics.json path like `wait_s.p95`, or an energy total (`energy.mwh`)."""
    head, _, rest = key.partition(".")
    if head == "energy":
        return float(getattr(e, rest))
    v: Any = m[head]
    for part in rest.split(".") if rest else ():
        v = v[part]
    return float(v) if isinstance(v, float) else int(v)


def key_figures(m: dict[str, Any], e: Energy) -> tuple[KeyFigure, ...]:
    """Headline numbers: from metrics.json (keyed by their path there) and the energy totals."""
    out = []
    for key, label in FIGURES:
        v = figure_value(m, e, key)
        out.append(KeyFigure(key, label, v, figure_text(key, v)))
    return tuple(out)
