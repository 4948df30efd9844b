"""The `gpufleet` command: parse at the edge, call inward, print.

Errors from bad input (GpufleetError) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from gpufleet.errors import ConfigError, GpufleetError, TraceError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SCENARIO = "korea-2025"
DEFAULT_POLICY = "fifo+easy"


def _console() -> Console:
    """Stdout console; at least 120 columns wide when not a terminal (pipes, files, tests)."""
    c = Console()
    return c if c.is_terminal else Console(width=max(c.width, 120))


def _fail(err: GpufleetError) -> None:
    click.echo(f"gpufleet: error: {err}", err=True)
    sys.exit(2)


class _Group(click.Group):
    """Turns GpufleetError into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GpufleetError as e:
            _fail(e)


@click.group(cls=_Group)
@click.version_option(package_name="gpufleet")
def main() -> None:
    """gpufleet: the control plane and digital twin of a national GPU fleet."""


@main.group(cls=_Group)
def fleet() -> None:
    """Inspect fleet scenarios."""


@fleet.command("show")
@click.option("--scenario", default=DEFAULT_SCENARIO, show_default=True, help="NAME or FILE.yaml")
def fleet_show(scenario: str) -> None:
    """Print sites, clusters, GPU models, domains, blocks and power, with totals."""
    from gpufleet.fleet.loader import load_fleet
    from gpufleet.report.tables import fleet_tables

    fl = load_fleet(scenario)
    console = _console()
    for table in fleet_tables(fl):
        console.print(table)


@fleet.command("list")
def fleet_list() -> None:
    """List the built-in scenarios."""
    from gpufleet.fleet.loader import builtin_scenarios, load_fleet

    for name in builtin_scenarios():
        fl = load_fleet(name)
        click.echo(
            f"{name:<16} {fl.total_gpus:>8,} GPUs  {len(fl.sites):>3} sites  {fl.description}"
        )


@main.command()
def policies() -> None:
    """List queue orderings, backfill and placements by name."""
    from gpufleet.policy.registry import describe

    for kind, name, desc in describe():
        click.echo(f"{kind:<10} {name:<14} {desc}")


def _load_workload(
    spec: str, fl: Any, days: float, seed: int, load: float, max_jobs: int | None
) -> list[Any]:
    if spec == "synthetic":
        from gpufleet.workload.synthetic import generate

        return generate(fl, days=days, seed=seed, load=load, max_jobs=max_jobs)
    path = Path(spec)
    if not path.exists():
        raise TraceError(f"{path}: no such workload file (or use 'synthetic')")
    from gpufleet.workload import store

    if path.suffix == ".parquet":
        jobs = store.read_parquet(path)
    elif path.suffix == ".csv":
        jobs = store.read_csv(path)
    else:
        raise TraceError(f"{path}: unknown workload format; expected .parquet or .csv")
    horizon = days * 86400.0
    jobs = [j for j in jobs if j.submit < horizon]
    return jobs[:max_jobs] if max_jobs is not None else jobs


@main.command()
@click.option("--scenario", default=DEFAULT_SCENARIO, show_default=True, help="NAME or FILE.yaml")
@click.option(
    "--workload",
    default="synthetic",
    show_default=True,
    help="'synthetic' or FILE (.parquet, .csv)",
)
@click.option(
    "--policy",
    default=DEFAULT_POLICY,
    show_default=True,
    help="ORDER[+easy]; see `gpufleet policies`",
)
@click.option("--placement", default="topo-best-fit", show_default=True)
@click.option("--days", default=30.0, show_default=True, type=float, help="days of arrivals")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--load", default=0.85, show_default=True, type=float, help="offered load (synthetic)"
)
@click.option("--max-jobs", default=None, type=int, help="cap the number of jobs")
@click.option(
    "--out", "out_dir", default=None, type=click.Path(path_type=Path), help="write records here"
)
@click.option(
    "--report",
    "report_path",
    default=None,
    type=click.Path(path_type=Path),
    help="then write the run's HTML report here (needs --out)",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
def simulate(
    scenario: str,
    workload: str,
    policy: str,
    placement: str,
    days: float,
    seed: int,
    load: float,
    max_jobs: int | None,
    out_dir: Path | None,
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Simulate the fleet under a workload and print a summary."""
    from gpufleet.engine.sim import simulate as run
    from gpufleet.fleet.loader import load_fleet
    from gpufleet.metrics.summary import summarize
    from gpufleet.policy.registry import resolve
    from gpufleet.report.tables import summary_tables

    if days <= 0:
        raise ConfigError(f"--days must be > 0, got {days}")
    if not 0 < load <= 10:
        raise ConfigError(f"--load must be in (0, 10], got {load}")
    if max_jobs is not None and max_jobs <= 0:
        raise ConfigError(f"--max-jobs must be > 0, got {max_jobs}")
    if report_path is not None and out_dir is None:
        raise ConfigError("--report needs --out DIR: the report is built from the run's files")
    pol = resolve(policy, placement)
    fl = load_fleet(scenario)
    console = Console(stderr=True)
    with console.status(f"preparing workload {workload!r}...", spinner="dots"):
        jobs = _load_workload(workload, fl, days, seed, load, max_jobs)
    if not jobs:
        raise TraceError(f"workload {workload!r} has no jobs in the first {days:g} days")
    rec = _run_with_progress(run, fl, jobs, pol, days, seed, quiet, console)
    metrics = summarize(rec)
    out = _console()
    for table in summary_tables(metrics):
        out.print(table)
    if out_dir is not None:
        from gpufleet.report.files import write_run

        for p in write_run(rec, metrics, out_dir, scenario=scenario, workload=workload):
            click.echo(f"wrote {p}")
        if report_path is not None:
            from gpufleet.report.build import write_report

            for p in write_report(out_dir, report_path):
                click.echo(f"wrote {p}")


def _run_with_progress(
    run: Callable[..., Any],
    fl: Any,
    jobs: list[Any],
    pol: Any,
    days: float,
    seed: int,
    quiet: bool,
    console: Console,
) -> Any:
    if quiet:
        return run(fl, jobs, pol, window=days * 86400.0, seed=seed)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sim", total=2 * len(jobs))

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(fl, jobs, pol, window=days * 86400.0, seed=seed, progress=tick)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="HTML file to write [default: RUN_DIR/report.html]",
)
@click.option(
    "--png", "png_dir", type=click.Path(path_type=Path), default=None, help="also a PNG per chart"
)
def report(run_dir: Path, out: Path | None, png_dir: Path | None) -> None:
    """Write RUN_DIR's report: one self-contained HTML page that opens offline."""
    from gpufleet.report.build import write_report

    for p in write_report(run_dir, out or run_dir / "report.html", png_dir):
        click.echo(f"wrote {p}")


@main.command()
@click.argument("run_dirs", nargs=-1, metavar="RUN_A RUN_B [...]", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=Path("compare.html"),
    show_default=True,
    help="HTML file to write",
)
@click.option(
    "--png", "png_dir", type=click.Path(path_type=Path), default=None, help="also a PNG per chart"
)
def compare(run_dirs: tuple[Path, ...], out: Path, png_dir: Path | None) -> None:
    """Compare runs RUN_A RUN_B [...] side by side, with differences from RUN_A."""
    from gpufleet.report.build import write_comparison

    for p in write_comparison(list(run_dirs), out, png_dir):
        click.echo(f"wrote {p}")


@main.group("trace", cls=_Group)
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

_DATA_DIR_HELP = "data directory: SQLite database and job output"
_DATABASE_HELP = "postgresql://USER@HOST[:PORT]/DB instead of SQLite in the data directory"


@main.command()
@click.option("--scenario", default=DEFAULT_SCENARIO, show_default=True, help="NAME or FILE.yaml")
@click.option(
    "--data-dir",
    default="gpufleet-data",
    show_default=True,
    type=click.Path(path_type=Path),
    help=_DATA_DIR_HELP,
)
@click.option("--database", default=None, help=_DATABASE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--executor", type=click.Choice(["local", "slurm"]), default="local", show_default=True
)
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="ORDER[+easy]")
@click.option("--placement", default="topo-best-fit", show_default=True)
def serve(
    scenario: str,
    data_dir: Path,
    database: str | None,
    host: str,
    port: int,
    executor: str,
    policy: str,
    placement: str,
) -> None:
    """Run the control plane: REST API, scheduler core and executor in one process."""
    import uvicorn

    from gpufleet.api.service import ServeOptions, build

    opts = ServeOptions(scenario, data_dir, database, executor, policy, placement)
    app, store = build(opts)
    where = database.split("@")[-1] if database else str(data_dir)
    click.echo(f"gpufleet: serving {scenario} on http://{host}:{port} (state: {where})", err=True)
    _quiet_gc()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        store.close()


def _quiet_gc() -> None:
    """Keep the cyclic garbage collector from pausing the server for long.

    A server holds many long-lived objects (the fleet, the queue); full collections walk all
    of them and showed as the p99 latency of submissions (104 ms at 16 connections, 17 ms with
    this; docs/benchmarks.md). Freeze what exists at start and collect less often.
    """
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


@main.group(cls=_Group)
def tenant() -> None:
    """Manage tenants and their API tokens (works on the data directory or database)."""


@tenant.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="may see and cancel every tenant's jobs")
@click.option(
    "--data-dir",
    default="gpufleet-data",
    show_default=True,
    type=click.Path(path_type=Path),
    help=_DATA_DIR_HELP,
)
@click.option("--database", default=None, help=_DATABASE_HELP)
def tenant_add(name: str, admin: bool, data_dir: Path, database: str | None) -> None:
    """Create tenant NAME and print its API token (shown only this once)."""
    import re

    from gpufleet.db.store import Store

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ConfigError(f"tenant name {name!r}: use letters, digits, '.', '_', '-' (<= 64)")
    store = Store.open(data_dir, database)
    try:
        click.echo(store.add_tenant(name, admin))
    finally:
        store.close()


def _client_options(f: F) -> F:
    f = click.option(
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
    )(f)
    f = click.option("--token", envvar="GPUFLEET_TOKEN", default=None, help="or GPUFLEET_TOKEN")(f)
    return click.option(
        "--server",
        envvar="GPUFLEET_SERVER",
        default="http://127.0.0.1:8080",
        show_default=True,
        help="or GPUFLEET_SERVER",
    )(f)


def _client(server: str, token: str | None) -> Any:
    from gpufleet.api.client import Client

    if not token:
        raise ConfigError("no API token: pass --token or set GPUFLEET_TOKEN")
    return Client(server, token)


def _print_jobs(jobs: list[dict[str, Any]], output: str) -> None:
    import json

    if output == "json":
        click.echo(json.dumps(jobs, indent=2))
        return
    from rich.table import Table

    table = Table(box=None)
    for col in ("JOB", "TENANT", "STATE", "GPUS", "MODELS", "WHERE", "SUBMIT", "REASON"):
        table.add_column(col)
    for j in jobs:
        nodes = j.get("nodes") or []
        where = ",".join(n["node"] for n in nodes[:2]) + ("..." if len(nodes) > 2 else "")
        table.add_row(
            str(j["id"]),
            j["tenant"],
            j["state"],
            str(j["gpus"]),
            ",".join(j["models"]) or "any",
            where or "-",
            _when(j["submit"]),
            j["reason"][:40],
        )
    _console().print(table)


def _when(t: float | None) -> str:
    import datetime as dt

    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--idempotency-key", default=None, help="resubmitting with it returns the same job")
@_client_options
def submit(
    file: Path, idempotency_key: str | None, server: str, token: str | None, output: str
) -> None:
    """Submit the job described by FILE (YAML or JSON; see docs/control-plane.md)."""
    from gpufleet.api.schemas import JobIn
    from gpufleet.yamlfile import load_yaml, validate

    data, node = load_yaml(file)
    validate(JobIn, data, file, node)  # field errors with line numbers before the request
    client = _client(server, token)
    try:
        job = client.submit(data, idempotency_key)
    finally:
        client.close()
    if output == "json":
        import json

        click.echo(json.dumps(job, indent=2))
    else:
        click.echo(f"submitted job {job['id']} ({job['state']})")


@main.command()
@click.option("--state", default=None, help="only jobs in this state (pending, running, ...)")
@_client_options
def queue(state: str | None, server: str, token: str | None, output: str) -> None:
    """List your jobs, newest first (an admin sees every tenant's)."""
    client = _client(server, token)
    try:
        _print_jobs(client.jobs(state), output)
    finally:
        client.close()


@main.command()
@click.argument("job", type=int)
@_client_options
def show(job: int, server: str, token: str | None, output: str) -> None:
    """Show one job: its request, state, nodes and GPUs, exit code."""
    client = _client(server, token)
    try:
        j = client.job(job)
    finally:
        client.close()
    _print_one(j, output)


@main.command()
@click.argument("job", type=int)
@_client_options
def cancel(job: int, server: str, token: str | None, output: str) -> None:
    """Cancel a pending or running job."""
    client = _client(server, token)
    try:
        j = client.cancel(job)
    finally:
        client.close()
    if output == "json":
        _print_one(j, output)
    else:
        click.echo(f"job {j['id']}: {j['state']}")


def _print_one(j: dict[str, Any], output: str) -> None:
    import json

    if output == "json":
        click.echo(json.dumps(j, indent=2))
        return
    for key, value in j.items():
        if key == "nodes":
            value = " ".join(f"{n['node']}:{','.join(map(str, n['gpus']))}" for n in value)
        elif key in ("submit", "start", "end"):
            value = _when(value)
        click.echo(f"{key:<16} {value if value not in (None, '') else '-'}")


@main.command()
@_client_options
def acct(server: str, token: str | None, output: str) -> None:
    """GPU-hours used per tenant (yours; an admin sees every tenant)."""
    client = _client(server, token)
    try:
        rows = client.acct()
    finally:
        client.close()
    if output == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(box=None)
    for col in ("TENANT", "JOBS", "GPU-HOURS"):
        table.add_column(col, justify="left" if col == "TENANT" else "right")
    for r in rows:
        table.add_row(r["tenant"], f"{r['jobs']:,}", f"{r['gpu_hours']:,.2f}")
    _console().print(table)


if __name__ == "__main__":  # pragma: no cover
    main()
