"""`gpufleet plan SWEEP.yaml`: what-if sweeps over fleet variants, policies, loads and seeds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from gpufleet.cli.base import main, out_console

if TYPE_CHECKING:
    from gpufleet.plan.driver import Outcome
    from gpufleet.plan.spec import Sweep


@main.command()
@click.argument("sweep_file", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="output directory [default: ./SWEEP-results, SWEEP the file's stem]",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="parallel points [default: the machine's cores]; with --ray local, Ray's CPUs",
)
@click.option(
    "--ray",
    "ray_address",
    default=None,
    metavar="ADDRESS",
    help="run points as Ray tasks on the cluster at ADDRESS ('local' starts one here)",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
def plan(
    sweep_file: Path,
    out_dir: Path | None,
    workers: int | None,
    ray_address: str | None,
    quiet: bool,
) -> None:
    """Run the sweep in SWEEP_FILE and write sweep.parquet, sweep.md and pareto.png."""
    from gpufleet.plan.backends import open_backend
    from gpufleet.plan.driver import run_sweep, write_outputs
    from gpufleet.plan.grid import expand
    from gpufleet.plan.spec import load_sweep

    sweep = load_sweep(sweep_file)
    out_dir = out_dir or Path(f"{sweep_file.stem}-results")
    n = len(expand(sweep))
    backend = open_backend(workers or os.cpu_count() or 1, ray_address)
    console = Console(stderr=True)
    try:
        if not quiet:
            console.print(f"{n} points on {backend.name}")
        if quiet:
            outcome = run_sweep(sweep, backend)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            ) as bar:
                grid = bar.add_task("sweep", total=n)
                probes = bar.add_task("search", total=None, visible=sweep.search is not None)
                outcome = run_sweep(
                    sweep,
                    backend,
                    lambda d, t: bar.update(grid, completed=d, total=t),
                    lambda d, t: bar.update(probes, completed=d),
                )
    finally:
        backend.close()
    _print(sweep, outcome)
    for p in write_outputs(sweep, outcome, out_dir):
        click.echo(f"wrote {p}")


def _print(sweep: Sweep, outcome: Outcome) -> None:
    t = Table(title=f"{sweep.path.name}: seed means")
    for col in ("load", "variant", "policy"):
        t.add_column(col)
    cost = ["cost"] if sweep.prices else []
    for col in ("GPUs", *cost, "util", "wait p95 h", "rejected", "Pareto"):
        t.add_column(col, justify="right")
    for c in sorted(outcome.configs, key=lambda c: (c.load, c.size, c.wait_p95_h)):
        t.add_row(
            f"{c.load:g}",
            c.variant,
            c.policy,
            f"{c.gpus:,}",
            *([f"{c.cost:,.0f}" if c.cost is not None else "-"] if sweep.prices else []),
            f"{c.utilization:.1%}",
            f"{c.wait_p95_h:.2f}",
            f"{c.rejected:g}",
            "*" if c.pareto else "",
        )
    out = out_console()
    out.print(t)
    for r in outcome.searches:
        where = f"{r.policy}, load {r.load:g}"
        if r.scale is None or r.gpus is None:
            out.print(f"smallest fleet for {where}: target not met even at the top of the range")
        else:
            out.print(
                f"smallest fleet for {where}: scale {r.scale:.4g} = {r.gpus:,} GPUs "
                f"({len(r.probes)} probes)"
            )
