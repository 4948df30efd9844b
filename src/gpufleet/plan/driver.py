"""Run a sweep through a backend (the grid, then the search) and write its files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpufleet.errors import ConfigError
from gpufleet.plan.backends import Backend, Progress
from gpufleet.plan.chart import write_chart
from gpufleet.plan.grid import expand
from gpufleet.plan.pareto import Config, configs
from gpufleet.plan.row import Row
from gpufleet.plan.search import SearchResult, run_search
from gpufleet.plan.spec import Sweep
from gpufleet.plan.tables import markdown, point_records, probe_records, write_parquet


@dataclass(frozen=True, slots=True)
class Outcome:
    """Rows in grid order, configurations with their fronts, and the search results."""

    rows: list[Row]
    configs: list[Config]
    searches: list[SearchResult]


def run_sweep(
    sweep: Sweep,
    backend: Backend,
    progress: Progress | None = None,
    search_progress: Progress | None = None,
) -> Outcome:
    """Every grid point, then the bisections if the sweep asks for them."""
    rows = backend.map(expand(sweep), progress)
    return Outcome(rows, configs(rows), run_search(sweep, backend, search_progress))


def write_outputs(sweep: Sweep, out: Outcome, out_dir: Path) -> list[Path]:
    """sweep.parquet, sweep.md, pareto.png, and search.parquet when there was a search."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{out_dir}: cannot create output directory: {e}") from None
    points = point_records(sweep, out.rows, out.configs)
    paths = [write_parquet(points, out_dir / "sweep.parquet")]
    if out.searches:
        paths.append(write_parquet(probe_records(out.searches), out_dir / "search.parquet"))
    md = out_dir / "sweep.md"
    md.write_text(markdown(sweep, points, out.configs, out.searches), encoding="utf-8")
    paths.append(md)
    cur = f" ({sweep.currency})" if sweep.currency else ""
    x_label = f"capacity cost over the window{cur}" if sweep.prices else "GPUs"
    title = f"{sweep.path.name}: {sweep.scenario}, {sweep.days:g} days, {len(sweep.seeds)} seeds"
    paths.append(write_chart(out.configs, out_dir / "pareto.png", title, x_label))
    return paths
