"""Commands of the twin: fleet show/list, policies, simulate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from gpufleet.cli.base import (
    DEFAULT_POLICY,
    DEFAULT_SCENARIO,
    Group,
    main,
    out_console,
)
from gpufleet.errors import ConfigError, TraceError


def _switch(flag: str, help_: str) -> Callable[[Any], Any]:
    """An on/off realism switch, off by default."""
    return click.option(
        flag, type=click.Choice(["on", "off"]), default="off", show_default=True, help=help_
    )


@main.group(cls=Group)
def fleet() -> None:
    """Inspect fleet scenarios."""


@fleet.command("show")
@click.option("--scenario", default=DEFAULT_SCENARIO, show_default=True, help="NAME or FILE.yaml")
def fleet_show(scenario: str) -> None:
    """Print sites, clusters, GPU models, domains, blocks and power, with totals."""
    from gpufleet.fleet.loader import load_fleet
    from gpufleet.report.tables import fleet_tables

    fl = load_fleet(scenario)
    console = out_console()
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
) -> Sequence[Any]:
    """The run's jobs in (submit, id) order: synthetic ones drawn into compact columns, a
    trace file's read and sorted."""
    if spec == "synthetic":
        from gpufleet.workload.synthetic import draw

        return draw(fl, days=days, seed=seed, load=load, max_jobs=max_jobs)
    path = Path(spec)
    if not path.exists():
        raise TraceError(f"{path}: no such workload file (or use 'synthetic')")
    from gpufleet.workload import store
    from gpufleet.workload.stream import submit_order

    if path.suffix == ".parquet":
        jobs = store.read_parquet(path)
    elif path.suffix == ".csv":
        jobs = store.read_csv(path)
    else:
        raise TraceError(f"{path}: unknown workload format; expected .parquet or .csv")
    horizon = days * 86400.0
    jobs = [j for j in jobs if j.submit < horizon]
    jobs = jobs[:max_jobs] if max_jobs is not None else jobs
    return sorted(jobs, key=submit_order)


def _with_replicas(jobs: Sequence[Any], services: Any, days: float) -> tuple[Any, Any]:
    """(the run's job stream, its replica plan): the services' replicas merged into `jobs`
    by submit time, ids after every workload id; (jobs, None) without services."""
    if services is None:
        return jobs, None
    from gpufleet.engine.inference import plan_replicas
    from gpufleet.workload.stream import Merged, submit_order
    from gpufleet.workload.synthetic import SyntheticJobs

    # a drawn workload's ids are 0..n-1: no need to build every Job to find the largest
    if isinstance(jobs, SyntheticJobs):
        first = len(jobs)
    else:
        if len({j.id for j in jobs}) != len(jobs):
            raise TraceError("duplicate job ids in workload")
        first = max(j.id for j in jobs) + 1
    plan = plan_replicas(services, days * 86400.0, first)
    return Merged(jobs, sorted(plan.jobs, key=submit_order)), plan


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
@click.option(
    "--tenancy",
    default="auto",
    show_default=True,
    help="tenant tree FILE.yaml; 'auto' = the scenario's own, 'none' = no quotas",
)
@_switch("--failures", "node failures and checkpoint restarts (docs/realism.md)")
@_switch("--maintenance", "planned rolling drains from the sites' maintenance (docs/realism.md)")
@click.option(
    "--start",
    default=None,
    help="calendar day of t = 0 (YYYY-MM-DD): sites come online on their online month",
)
@_switch("--power", "cap sites' IT power by their power_phases")
@click.option(
    "--inference",
    default="off",
    show_default=True,
    help="inference services FILE.yaml; 'auto' = the scenario's own, 'off' = none",
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
    tenancy: str,
    failures: str,
    maintenance: str,
    start: str | None,
    power: str,
    inference: str,
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
    realism = _realism(failures, start, power, maintenance)
    fl = load_fleet(scenario)
    from gpufleet.tenancy.loader import resolve_tenancy

    tree = resolve_tenancy(tenancy, scenario, fl)
    services, tree = _services(inference, scenario, fl, tree)  # checked before the workload
    console = Console(stderr=True)
    with console.status(f"preparing workload {workload!r}...", spinner="dots"):
        jobs = _load_workload(workload, fl, days, seed, load, max_jobs)
    if not jobs:
        raise TraceError(f"workload {workload!r} has no jobs in the first {days:g} days")
    jobs, plan = _with_replicas(jobs, services, days)
    cancels = plan.cancels if plan is not None else ()
    rec = _run_with_progress(run, fl, jobs, pol, days, seed, quiet, console, tree, realism, cancels)
    del jobs  # the drawn columns: the record has what the metrics and files read
    metrics = summarize(rec)
    out = out_console()
    for table in summary_tables(metrics):
        out.print(table)
    if tree is not None:
        from gpufleet.metrics.tenancy import tenancy_summary
        from gpufleet.report.tables import grants_table, tenancy_table

        metrics["tenancy"] = tenancy_summary(rec, tree)
        out.print(tenancy_table(metrics["tenancy"]))
        if metrics["tenancy"]["grants"]:
            out.print(grants_table(metrics["tenancy"]))
    if plan is not None:
        from gpufleet.metrics.inference import inference_summary
        from gpufleet.report.tables import inference_table

        metrics["inference"] = inference_summary(rec, services, plan)
        out.print(inference_table(metrics["inference"]))
    if out_dir is not None:
        from gpufleet.report.files import write_run

        for p in write_run(rec, metrics, out_dir, scenario=scenario, workload=workload):
            click.echo(f"wrote {p}")
        if report_path is not None:
            from gpufleet.report.build import write_report

            for p in write_report(out_dir, report_path):
                click.echo(f"wrote {p}")


def _services(spec: str, scenario: str, fl: Any, tree: Any) -> tuple[Any, Any]:
    """The run's inference services and the tree with their node; (None, tree) when off."""
    from gpufleet.workload.service_file import resolve_services

    services = resolve_services(spec, scenario, fl)
    if services is None:
        return None, tree
    if tree is None:
        raise ConfigError(
            "--inference needs a tenant tree (--tenancy auto or FILE): replicas are "
            "guaranteed work that reclaims what others borrow"
        )
    from gpufleet.tenancy.services import with_services

    return services, with_services(tree, services, fl)


def _realism(failures: str, start: str | None, power: str, maintenance: str = "off") -> Any:
    """The run's realism switches, checked at the edge; None when all are off."""
    from datetime import date

    from gpufleet.engine.failures import FailureModel
    from gpufleet.engine.faults import Realism

    day = None
    if start is not None:
        try:
            day = date.fromisoformat(start)
        except ValueError:
            raise ConfigError(f"--start must be a day as YYYY-MM-DD, got {start!r}") from None
    r = Realism(
        FailureModel() if failures == "on" else None,
        day,
        power == "on",
        maintenance=maintenance == "on",
    )
    return r if r.active else None


def _run_with_progress(
    run: Callable[..., Any],
    fl: Any,
    jobs: Sequence[Any],
    pol: Any,
    days: float,
    seed: int,
    quiet: bool,
    console: Console,
    tree: Any = None,
    realism: Any = None,
    cancels: Any = (),
) -> Any:
    def go(**progress: Any) -> Any:
        return run(
            fl,
            jobs,
            pol,
            window=days * 86400.0,
            seed=seed,
            tenancy=tree,
            realism=realism,
            cancels=cancels,
            **progress,
        )

    if quiet:
        return go()
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

        return go(progress=tick)
