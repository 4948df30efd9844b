"""Benchmark: one sweep of N points on 1 and 2 local workers and on Ray with 1 and 2 CPUs.

Run: .venv/bin/python bench/bench_sweep.py [--days 120] [--seeds 2] [--no-ray]
The grid is small-mixed x 2 variants x 2 policies x 2 loads x SEEDS seeds, each point DAYS of
arrivals (about 1.2 s per point at 120 days). Prints wall time per backend, with and without
starting the workers, the speedup over one local worker, and checks every backend's rows are
equal to the first. On a shared machine, the first line measures how much parallelism the
machine gives right now: the same pure-Python loop run once, then twice on two processes (2.0x
on two idle cores; less when other work holds a core), so the speedups can be read against it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gpufleet.plan.backends import Backend, LocalBackend, RayBackend
from gpufleet.plan.grid import expand
from gpufleet.plan.row import Row
from gpufleet.plan.spec import load_sweep

SWEEP = """\
scenario: small-mixed
days: {days}
variants: [{{name: base}}, {{name: gov-x2, scale: {{gov-cloud: 2}}}}]
policies: [fifo+easy, sjf+easy]
loads: [0.8, 1.0]
seeds: {seeds}
"""


def _burn(n: int) -> float:
    s = 0
    for i in range(n):
        s += i * i
    return float(s)


def machine_parallelism(n: int = 20_000_000) -> float:
    """Speedup of two busy processes over one on equal work, as the machine gives it now."""
    t0 = time.perf_counter()
    _burn(n)
    one = time.perf_counter() - t0
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_burn, [1000, 1000]))  # start both workers first
        t0 = time.perf_counter()
        list(pool.map(_burn, [n, n]))
        two = time.perf_counter() - t0
    return 2 * one / two


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=float, default=120.0)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.yaml"
        path.write_text(SWEEP.format(days=args.days, seeds=list(range(args.seeds))))
        points = expand(load_sweep(path))
    print(f"{len(points)} points, small-mixed, {args.days:g} days each; {os.cpu_count()} cores")
    print(f"machine parallelism now (2 busy loops vs 1): {machine_parallelism():.2f}x")
    setups: list[tuple[str, Callable[[], Backend]]] = [
        ("local, 1 worker", lambda: LocalBackend(1)),
        ("local, 2 workers", lambda: LocalBackend(2)),
    ]
    if not args.no_ray:
        setups += [
            ("ray local, 1 CPU", lambda: RayBackend("local", 1)),
            ("ray local, 2 CPUs", lambda: RayBackend("local", 2)),
        ]
    first: list[Row] | None = None
    base = 0.0
    for label, make in setups:
        t0 = time.perf_counter()
        backend = make()
        t1 = time.perf_counter()
        rows = backend.map(points)
        t2 = time.perf_counter()
        backend.close()
        if first is None:
            first, base = rows, t2 - t1
        same = "rows equal" if rows == first else "ROWS DIFFER"
        print(
            f"{label:<18} map {t2 - t1:6.1f} s  with start {t2 - t0:6.1f} s  "
            f"speedup {base / (t2 - t1):4.2f}x  {same}"
        )


if __name__ == "__main__":
    main()
