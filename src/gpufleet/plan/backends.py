"""Where sweep points run: in this process, on local worker processes, or as Ray tasks.

A backend only maps `run_point` over points and hands the rows back in point order; it never
changes what a point computes, so every backend gives the same rows.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from gpufleet.errors import ConfigError
from gpufleet.plan.grid import Point
from gpufleet.plan.row import Row
from gpufleet.plan.run import run_point

Progress = Callable[[int, int], None]  # (points done, points asked)


class Backend(Protocol):
    """Runs points; `close` releases workers (a pool, a Ray instance it started)."""

    name: str

    def map(self, points: Sequence[Point], progress: Progress | None = None) -> list[Row]: ...

    def close(self) -> None: ...


class LocalBackend:
    """`workers` processes on this machine; with one worker, points run in this process.

    Workers are spawned, not forked: a fork would copy whatever threads the parent holds
    (a Ray client, a test server) into a child that cannot run them.
    """

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {workers}")
        self.workers = workers
        self.name = f"local, {workers} worker{'s' if workers > 1 else ''}"
        self._pool: ProcessPoolExecutor | None = None

    def map(self, points: Sequence[Point], progress: Progress | None = None) -> list[Row]:
        if self.workers == 1:
            rows = []
            for i, p in enumerate(points):
                rows.append(run_point(p))
                if progress is not None:
                    progress(i + 1, len(points))
            return rows
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        futures: list[Future[Row]] = [self._pool.submit(run_point, p) for p in points]
        for i, _ in enumerate(as_completed(futures)):
            if progress is not None:
                progress(i + 1, len(points))
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class RayBackend:
    """One Ray task per point on the cluster at `address` (`local` starts a local instance).

    If Ray is already initialized in this process (a test, a notebook), that instance is used
    and left running. Workers of a remote cluster need the same gpufleet version installed;
    points carry their fleets by value, so they need no scenario files.
    """

    def __init__(self, address: str, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--ray needs Ray: pip install 'gpufleet[ray]' (or 'ray>=2.9')"
            ) from None
        self._ray: Any = ray
        self._owned = False
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(
                        num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING
                    )
                else:
                    ray.init(address=address, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise ConfigError(f"--ray {address}: cannot start or reach Ray: {e}") from None
            self._owned = True
        self.name = f"ray {address}"
        self._task: Any = ray.remote(run_point)

    def map(self, points: Sequence[Point], progress: Progress | None = None) -> list[Row]:
        ray = self._ray
        refs = [self._task.remote(p) for p in points]
        waiting = list(refs)
        while waiting:
            _, waiting = ray.wait(waiting, num_returns=1)
            if progress is not None:
                progress(len(refs) - len(waiting), len(refs))
        rows: list[Row] = ray.get(refs)
        return rows

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()
            self._owned = False


def open_backend(workers: int, ray_address: str | None) -> Backend:
    """The backend the command line asks for: Ray if an address is given, else local."""
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if ray_address is not None:
        return RayBackend(ray_address, workers if ray_address == "local" else None)
    return LocalBackend(workers)
