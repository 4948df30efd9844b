"""Charts as plain values, and their plotly.js figure JSON.

A `Chart` is what the report wants to show; `figure` turns it into the JSON that plotly.js
draws in the page, and `report.png` draws the same Chart with matplotlib. Keeping charts as
values (not plotly objects) lets both renderers, and the tests, read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["line", "step", "bar"]
Values = Sequence[float] | np.ndarray

# Wait and JCT axes in seconds: ticks in the units people read.
DURATION_TICKS: tuple[tuple[float, str], ...] = (
    (1, "1 s"),
    (10, "10 s"),
    (60, "1 min"),
    (600, "10 min"),
    (3600, "1 h"),
    (6 * 3600, "6 h"),
    (86400, "1 d"),
    (7 * 86400, "7 d"),
    (30 * 86400, "30 d"),
)
MARK_LABEL = "arrivals end"
# A qualitative palette (Okabe-Ito, then Tableau-like) that stays readable for colour-blind readers.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#A08800",
    "#000000",
    "#8C564B",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
    "#9467BD",
    "#FF9DA7",
)


@dataclass(frozen=True, slots=True)
class Series:
    """One line, step line or set of bars. `color` indexes PALETTE; budgets are dashed."""

    name: str
    x: Values | Sequence[str]
    y: Values
    kind: Kind = "line"
    color: int = 0
    dash: bool = False
    group: str = ""  # legend group: toggling one entry toggles the group
    stack: bool = False  # a filled area stacked on the chart's earlier stacked series


@dataclass(frozen=True, slots=True)
class Chart:
    """A titled chart: axes, series, and a note that says how to read it."""

    id: str
    section: str  # the page section it belongs to
    title: str
    x_title: str
    y_title: str
    series: tuple[Series, ...]
    note: str = ""
    x_duration: bool = False  # x in seconds on a log axis with DURATION_TICKS
    y_percent: bool = False
    x_mark: float | None = None  # a vertical dotted line: where arrivals end
    x_range: tuple[float, float] | None = None  # first view; the data may reach beyond it
    y_from: float | None = None  # y axis starts here instead of 0 (CDFs whose action is high)


def numbers(values: Values, digits: int = 6) -> list[float | None]:
    """Floats rounded to `digits` significant digits for compact JSON; NaN becomes null."""
    out: list[float | None] = []
    for v in np.asarray(values, dtype=np.float64).tolist():
        out.append(None if math.isnan(v) else float(f"{v:.{digits}g}"))
    return out


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _trace(s: Series) -> dict[str, Any]:
    x: list[Any] = list(s.x) if s.kind == "bar" else numbers(s.x)  # type: ignore[arg-type]
    t: dict[str, Any] = {"name": s.name, "x": x, "y": numbers(s.y)}
    if s.kind == "bar":
        t.update(type="bar", marker={"color": color(s.color)})
    else:
        line: dict[str, Any] = {"color": color(s.color), "width": 1.5}
        if s.kind == "step":
            line["shape"] = "hv"
        if s.dash:
            line["dash"] = "dash"
        t.update(type="scatter", mode="lines", line=line)
        if s.stack:
            t["stackgroup"] = "stack"
    if s.group:
        t["legendgroup"] = s.group
    return t


def figure(chart: Chart) -> dict[str, Any]:
    """The plotly.js figure (data, layout) of a chart."""
    xaxis: dict[str, Any] = {
        "title": {"text": chart.x_title},
        "zeroline": False,
        "automargin": True,
    }
    if chart.x_duration:
        xaxis.update(
            type="log",
            tickvals=[v for v, _ in DURATION_TICKS],
            ticktext=[t for _, t in DURATION_TICKS],
        )
    yaxis: dict[str, Any] = {
        "title": {"text": chart.y_title},
        "rangemode": "tozero",
        "automargin": True,
    }
    if chart.y_percent:
        yaxis["tickformat"] = ".0%"
    if chart.x_range is not None:
        xaxis["range"] = list(chart.x_range)
    if chart.y_from is not None:
        del yaxis["rangemode"]
        yaxis["range"] = [chart.y_from, 1.005]
    layout: dict[str, Any] = {
        "title": {"text": chart.title, "x": 0, "xanchor": "left"},
        "xaxis": xaxis,
        "yaxis": yaxis,
        "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "v"},
        "hovermode": "closest",
        "barmode": "group",
        "height": 420,
    }
    if chart.x_mark is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": chart.x_mark,
                "x1": chart.x_mark,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#5b6478", "width": 1, "dash": "dot"},
            }
        ]
        layout["annotations"] = [
            {
                "x": chart.x_mark,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": MARK_LABEL,
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 10, "color": "#5b6478"},
            }
        ]
    return {"data": [_trace(s) for s in chart.series], "layout": layout}
