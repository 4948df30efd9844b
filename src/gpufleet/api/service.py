"""Wire a control plane together: fleet, store, executor, engine and app, from CLI options."""

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
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import resolve

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


def make_executor(name: str, fleet: Fleet, data_dir: Path) -> Executor:
    """The executor called `name`; the Slurm one is imported only when asked for."""
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
        kwargs = {k: v for k, v in offered.items() if k in params}
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
    executor = make_executor(opts.executor, fleet, opts.data_dir)
    store = Store.open(opts.data_dir, opts.database)
    engine = LiveEngine(fleet, policy, store, executor, WallClock())
    return create_app(store, engine, poll_interval=opts.poll_interval), store
