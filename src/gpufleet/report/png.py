"""Static PNGs of report charts for slides, drawn with matplotlib (offline, no browser).

The same `Chart` values the HTML page draws with plotly.js are drawn here with matplotlib's Agg
backend, so `--png` works on a machine with no browser and no display. The pictures follow the
page (titles, axes, colours, dashes, step lines, log duration axes) without its interactivity.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gpufleet.errors import ConfigError
from gpufleet.report.charts import DURATION_TICKS, MARK_LABEL, Chart, color

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def write_pngs(charts: Iterable[Chart], out: Path, dpi: int = 120) -> list[Path]:
    """Write one `<chart id>.png` per chart into `out`; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{out}: cannot create PNG directory: {e}") from None
    paths = []
    for chart in charts:
        fig, ax = plt.subplots(figsize=(10, 4.8))
        _draw(ax, chart)
        if chart.note:
            fig.text(0.01, 0.01, chart.note, fontsize=7, color="#5b6478", wrap=True)
        fig.tight_layout(rect=(0, 0.05 if chart.note else 0, 1, 1))
        path = out / f"{chart.id}.png"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        paths.append(path)
    return paths


def _draw(ax: Axes, chart: Chart) -> None:
    """Draw a chart's series, axes and marks on `ax`."""
    from matplotlib.ticker import FixedLocator, NullLocator, PercentFormatter

    bars = [s for s in chart.series if s.kind == "bar"]
    for bi, s in enumerate(bars):
        pos = np.arange(len(s.x)) + (bi - (len(bars) - 1) / 2) * 0.8 / len(bars)
        ax.bar(pos, s.y, width=0.8 / len(bars), color=color(s.color), label=s.name)
    if bars:
        ax.set_xticks(np.arange(len(bars[0].x)), [str(x) for x in bars[0].x])
        ax.tick_params(axis="x", labelrotation=20)
    base: np.ndarray | None = None  # top of the stacked areas drawn so far
    for s in chart.series:
        if s.stack:
            y = np.asarray(s.y, dtype=np.float64)
            low = np.zeros_like(y) if base is None else base
            base = low + y
            x = np.asarray(s.x, dtype=np.float64)
            ax.fill_between(x, low, base, color=color(s.color), alpha=0.6, lw=0, label=s.name)
        elif s.kind != "bar":
            ax.plot(
                np.asarray(s.x, dtype=np.float64),
                np.asarray(s.y, dtype=np.float64),
                color=color(s.color),
                linestyle="--" if s.dash else "-",
                drawstyle="steps-post" if s.kind == "step" else "default",
                linewidth=1.3,
                label=s.name,
            )
    if chart.x_mark is not None:
        ax.axvline(chart.x_mark, color="#5b6478", linestyle=":", linewidth=1)
        ax.text(
            chart.x_mark,
            1.0,
            f" {MARK_LABEL}",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            color="#5b6478",
            va="bottom",
        )
    if chart.x_duration:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([v for v, _ in DURATION_TICKS]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([t for _, t in DURATION_TICKS])
    if chart.y_percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    if chart.x_range is not None:
        ax.set_xlim(*chart.x_range)
    ax.set_ylim(bottom=chart.y_from or 0)
    ax.set_title(chart.title, loc="left")
    ax.set_xlabel(chart.x_title)
    ax.set_ylabel(chart.y_title)
    ax.grid(alpha=0.3)
    if len(chart.series) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
