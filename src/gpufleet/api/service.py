"""Wire a control plane together: fleet, tenant tree, store, executors, engine and app, from
CLI options. Each site with an `executor:` block in the fleet file gets its own executor; the
others share the one `--executor` names."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from gpufleet.api.app import create_app
from gpufleet.db.store import Store
from gpufleet.engine.clock import WallClock
from gpufleet.engine.executor import Executor
from gpufleet.engine.live import LiveEngine
from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import load_fleet
from gpufleet.fleet.model import Fleet, Site
from gpufleet.policy.registry import resolve
from gpufleet.tenancy.loader import resolve_tenancy

EXECUTORS = ("local", "slurm")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    scenario: str = "korea-2025"
    data_dir: Path = Path("gpufleet-data")
    database: str | None = None
    executor: str = "local"
    policy: str = "fifo+easy"
    placement: str = "topo-best-fit"
    poll_interval: float = 0.2
    tenancy: str = "auto"


def make_executor(
    name: str, fleet: Fleet, data_dir: Path, options: dict[str, object] | None = None
) -> Executor:
    """The executor called `name` (Slurm with `options` over its defaults); the Slurm one is
    imported only when asked for."""
    if name == "local":
        from gpufleet.engine.local import LocalExecutor

        return LocalExecutor(data_dir)
    if name == "slurm":
        try:
            module = importlib.import_module("gpufleet.engine.slurm")
            cls = module.SlurmExecutor
        except (ImportError, AttributeError) as e:
            raise ConfigError(
                f"--executor slurm: the Slurm executor is not available in this build ({e})"
            ) from None
        offered = {"fleet": fleet, "data_dir": data_dir, "output_dir": data_dir / "slurm"}
        params = inspect.signature(cls).parameters
        kwargs = {k: v for k, v in offered.items() if k in params} | (options or {})
        try:
            executor: Executor = cls(**kwargs)
        except TypeError as e:
            raise ConfigError(f"--executor slurm: cannot construct SlurmExecutor: {e}") from None
        return executor
    raise ConfigError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")


def build(opts: ServeOptions) -> tuple[FastAPI, Store]:
    """The app and its store (close the store after the app has stopped)."""
    fleet = load_fleet(opts.scenario)
    policy = resolve(opts.policy, opts.placement)
    tenancy = resolve_tenancy(opts.tenancy, opts.scenario, fleet)
    executor = make_executor(opts.executor, fleet, opts.data_dir)
    by_site = site_executors(fleet, opts.data_dir, executor)
    store = Store.open(opts.data_dir, opts.database)
    engine = LiveEngine(
        fleet, policy, store, executor, WallClock(), tenancy=tenancy, site_executors=by_site
    )
    return create_app(store, engine, poll_interval=opts.poll_interval), store


def site_executors(fleet: Fleet, data_dir: Path, default: Executor) -> dict[str, Executor]:
    """One executor per site that names one in the fleet file. Local sites share one local
    executor (the default one when it is local: one job directory, one set of processes);
    each Slurm site gets its own, with its output under `<data dir>/slurm/<site>`."""
    out: dict[str, Executor] = {}
    local: Executor | None = default if default.name == "local" else None
    for site in fleet.sites:
        if site.executor is None:
            continue
        if site.executor.kind == "local":
            local = local or make_executor("local", fleet, data_dir)
            out[site.id] = local
        else:
            out[site.id] = make_executor("slurm", fleet, data_dir, _slurm_options(site, data_dir))
    return out


def _slurm_options(site: Site, data_dir: Path) -> dict[str, object]:
    """SlurmExecutor arguments from a site's `executor:` block."""
    e = site.executor
    assert e is not None
    extra = ((f"--account={e.account}",) if e.account else ()) + e.extra_args
    return {
        "partition": e.partition,
        "account_map": dict(e.accounts) or None,
        "gres_name": e.gres,
        "binaries": e.binaries,
        "env": dict(e.env) or None,
        "output_dir": data_dir / "slurm" / site.id,
        "node_map": dict(e.node_map) or None,
        "extra_args": extra,
    }
