"""`gpufleet validate-pollux`: the Pollux artifact reproduction checks as one table.

A thin face over gpufleet.validate.pollux; it will join the `validate` group when that exists.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from gpufleet.cli.base import main, out_console

DEFAULT_TRACES = Path("../shared/traces/pollux-osdi21")


@main.command("validate-pollux")
@click.option(
    "--traces",
    type=click.Path(path_type=Path),
    default=DEFAULT_TRACES,
    show_default=True,
    help="the Pollux artifact's data: traces/ and workloads*/",
)
@click.option(
    "--all/--w6-only",
    "everything",
    default=True,
    show_default=True,
    help="every workload and load variant, or workload-6 only",
)
@click.option(
    "--philly-servers",
    type=int,
    multiple=True,
    help="check 3 on the Philly table with this many 8-GPU servers (repeatable; none: skip)",
)
def validate_pollux(traces: Path, everything: bool, philly_servers: tuple[int, ...]) -> None:
    """Replay the Pollux artifact's Tiresias baseline and compare with its published JCT."""
    from gpufleet.validate.pollux import check_philly, check_pollux

    if everything:
        rows = check_pollux(traces)
    else:
        rows = check_pollux(traces, ("workloads",), "workload-6.csv")
    for servers in philly_servers:
        rows += check_philly(traces, servers)
    table = Table("check", "published", "ours", "difference", "wall (s)")
    for r in rows:
        table.add_row(
            r.name,
            "-" if r.published is None else f"{r.published:,.2f}",
            f"{r.ours:,.2f}",
            "-" if r.difference is None else f"{r.difference:+.4%}",
            f"{r.wall_seconds:.3f}",
        )
    out_console().print(table)
