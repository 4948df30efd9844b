"""Commands for public cluster traces: trace import, trace stats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from gpufleet.cli.base import (
    F,
    Group,
    main,
)
from gpufleet.errors import ConfigError, TraceError


@main.group("trace", cls=Group)
def trace() -> None:
    """Import public GPU-cluster traces and summarise them (docs/traces.md)."""


def _trace_options(f: F) -> F:
    f = click.option("--ref-model", default=None, help="GPU model the run times were measured on")(
        f
    )
    f = click.option(
        "--durations",
        default=None,
        help="run time where the trace has none: a duration, or a CSV of name,duration",
    )(f)
    return click.option(
        "--fractional",
        type=click.Choice(["round-up", "skip"]),
        default=None,
        help="openb, pai: GPU shares",
    )(f)


def _load_trace(
    file: Path,
    fmt: str | None,
    fractional: str | None,
    durations: str | None,
    ref_model: str | None,
) -> Any:
    from gpufleet.workload.traces import durations_option, load_any

    parsed = durations_option(durations) if durations is not None else None
    return load_any(file, fmt, fractional=fractional, durations=parsed, ref_model=ref_model)


@trace.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    default=None,
    help="openb, pollux, tiresias, helios, acme, philly, pai, sacct",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="jobs file to write (.parquet)",
)
@_trace_options
def trace_import(
    file: Path,
    fmt: str | None,
    out: Path,
    fractional: str | None,
    durations: str | None,
    ref_model: str | None,
) -> None:
    """Read trace FILE in format --format and write its jobs to a Parquet jobs file."""
    import pyarrow as pa

    from gpufleet.workload.store import write_parquet
    from gpufleet.workload.traces import FORMATS

    if fmt is None:
        raise ConfigError(f"--format is required; one of {', '.join(FORMATS)}")
    read = _load_trace(file, fmt, fractional, durations, ref_model)
    try:
        write_parquet(read.jobs, out)
    except (OSError, pa.ArrowException) as e:
        raise TraceError(f"{out}: cannot write: {e}") from None
    dropped, adjusted = sum(read.dropped.values()), sum(read.adjusted.values())
    click.echo(
        f"wrote {out}: {len(read.jobs):,} jobs from {read.rows:,} records "
        f"({dropped:,} dropped, {adjusted:,} adjustments; see `gpufleet trace stats`)"
    )


@trace.command("stats")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    default=None,
    help="trace format (default: guessed; .parquet = gpufleet jobs)",
)
@_trace_options
def trace_stats(
    file: Path,
    fmt: str | None,
    fractional: str | None,
    durations: str | None,
    ref_model: str | None,
) -> None:
    """Jobs, GPU-hours, sizes, run-time percentiles, arrival rate and dropped rows of FILE."""
    from gpufleet.workload.traces import stats

    read = _load_trace(file, fmt, fractional, durations, ref_model)
    console = Console()
    for table in stats.stats_tables(stats.trace_stats(read)):
        console.print(table)


# -- the live control plane: `serve`, `tenant`, and the client commands ---------------------
