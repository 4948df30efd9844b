"""Commands of the live control plane: serve, tenant add, and the API client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gpufleet.cli.base import (
    DEFAULT_POLICY,
    DEFAULT_SCENARIO,
    F,
    Group,
    main,
    out_console,
)
from gpufleet.errors import ConfigError

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
@click.option(
    "--tenancy",
    default="auto",
    show_default=True,
    help="auto (the scenario's tenant tree, if it has one), none, or FILE.yaml",
)
def serve(
    scenario: str,
    data_dir: Path,
    database: str | None,
    host: str,
    port: int,
    executor: str,
    policy: str,
    placement: str,
    tenancy: str,
) -> None:
    """Run the control plane: REST API, scheduler core and executor in one process.

    --executor runs the jobs of sites whose fleet entry names no `executor:` of its own."""
    import uvicorn

    from gpufleet.api.service import ServeOptions, build

    opts = ServeOptions(scenario, data_dir, database, executor, policy, placement, tenancy=tenancy)
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


@main.group(cls=Group)
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
    return _server_options(f)


def _server_options(f: F) -> F:
    f = click.option("--token", envvar="GPUFLEET_TOKEN", default=None, help="or GPUFLEET_TOKEN")(f)
    return click.option(
        "--server",
        envvar="GPUFLEET_SERVER",
        default="http://127.0.0.1:8080",
        show_default=True,
        help="or GPUFLEET_SERVER",
    )(f)


@contextmanager
def _client(server: str, token: str | None) -> Iterator[Any]:
    """An API client for one command, closed when the command is done."""
    from gpufleet.api.client import Client

    if not token:
        raise ConfigError("no API token: pass --token or set GPUFLEET_TOKEN")
    client = Client(server, token)
    try:
        yield client
    finally:
        client.close()


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
    out_console().print(table)


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
    with _client(server, token) as client:
        job = client.submit(data, idempotency_key)
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
    with _client(server, token) as client:
        _print_jobs(client.jobs(state), output)


@main.command()
@click.argument("job", type=int)
@_client_options
def show(job: int, server: str, token: str | None, output: str) -> None:
    """Show one job: its request, state, nodes and GPUs, exit code."""
    with _client(server, token) as client:
        j = client.job(job)
    _print_one(j, output)


@main.command()
@click.argument("job", type=int)
@_client_options
def cancel(job: int, server: str, token: str | None, output: str) -> None:
    """Cancel a pending or running job."""
    with _client(server, token) as client:
        j = client.cancel(job)
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
        elif key in ("submit", "start", "end", "preempt_at"):
            value = _when(value)
        click.echo(f"{key:<16} {value if value not in (None, '') else '-'}")


@main.command()
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="account a run directory (simulate --out) instead of asking the server",
)
@click.option("--by", default=None, help="with --run: any of tenant,group,site,model,day [group]")
@click.option(
    "--prices",
    type=click.Path(path_type=Path),
    default=None,
    help="with --run: price table YAML over the built-in one (docs/accounting.md)",
)
@click.option(
    "--parquet",
    type=click.Path(path_type=Path),
    default=None,
    help="with --run: also write the rows to this Parquet file",
)
@click.option(
    "--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@_server_options
def acct(
    run_dir: Path | None,
    by: str | None,
    prices: Path | None,
    parquet: Path | None,
    output: str,
    server: str,
    token: str | None,
) -> None:
    """GPU-hours used per tenant, from the server (yours; an admin sees every tenant).

    With --run RUN_DIR: the run's ledger (GPU-hours, cost at market and charged, energy,
    CO2) summed by --by, like Slurm's sreport. See docs/accounting.md.
    """
    if run_dir is not None:
        from gpufleet.cli.ledger import show_run_ledger

        show_run_ledger(run_dir, "group" if by is None else by, output, prices, parquet)
        return
    options = (("--by", by), ("--prices", prices), ("--parquet", parquet))
    given = [o for o, v in options if v is not None]
    if given:
        raise ConfigError(f"{given[0]} needs --run RUN_DIR (the server has no ledger yet)")
    with _client(server, token) as client:
        rows = client.acct()
    _print_acct(rows, output)


def _print_acct(rows: list[dict[str, Any]], output: str) -> None:
    """The server's GPU-hours per tenant as a table, JSON or CSV."""
    if output == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
        return
    if output == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["tenant", "jobs", "gpu_hours"])
        writer.writerows([r["tenant"], r["jobs"], r["gpu_hours"]] for r in rows)
        click.echo(buf.getvalue(), nl=False)
        return
    from rich.table import Table

    table = Table(box=None)
    for col in ("TENANT", "JOBS", "GPU-HOURS"):
        table.add_column(col, justify="left" if col == "TENANT" else "right")
    for r in rows:
        table.add_row(r["tenant"], f"{r['jobs']:,}", f"{r['gpu_hours']:,.2f}")
    out_console().print(table)
