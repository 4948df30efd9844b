"""The Pareto chart: fleet size (GPUs, or cost when priced) against p95 wait, fronts marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gpufleet.plan.pareto import Config

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def write_chart(cfgs: Sequence[Config], path: Path, title: str, x_label: str) -> Path:
    """One colour per load; the front of each load is ringed, joined and labelled; fleets
    that reject more jobs than the fewest-rejecting one at their load are drawn as crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for i, load in enumerate(sorted({c.load for c in cfgs})):
        color = _COLORS[i % len(_COLORS)]
        at = [c for c in cfgs if c.load == load and c.eligible]
        ax.scatter(
            [c.size for c in at],
            [c.wait_p95_h for c in at],
            color=color,
            alpha=0.55,
            s=28,
            label=f"load {load:g}",
        )
        out = [c for c in cfgs if c.load == load and not c.eligible]
        ax.scatter([c.size for c in out], [c.wait_p95_h for c in out], color=color, marker="x")
        front = sorted((c for c in at if c.pareto), key=lambda c: (c.size, c.wait_p95_h))
        xs, ys = [c.size for c in front], [c.wait_p95_h for c in front]
        ax.plot(xs, ys, color=color, linewidth=1.2, drawstyle="steps-post")
        ax.scatter(xs, ys, facecolors="none", edgecolors="black", s=90, linewidths=1.2)
        labels: dict[tuple[float, float], list[str]] = {}
        for c in front:  # equal points share one label instead of overprinting
            labels.setdefault((c.size, c.wait_p95_h), []).append(f"{c.variant} · {c.policy}")
        for xy, names in labels.items():
            ax.annotate("\n".join(names), xy, textcoords="offset points", xytext=(5, 5), fontsize=7)
    ax.scatter([], [], facecolors="none", edgecolors="black", s=90, label="Pareto-optimal")
    if any(not c.eligible for c in cfgs):
        ax.scatter([], [], color="gray", marker="x", label="rejects more jobs (not compared)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_xlabel(x_label)
    ax.set_ylabel("p95 wait (hours, mean over seeds)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
