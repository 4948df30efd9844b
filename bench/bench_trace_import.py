"""Benchmark: import a 3,000,000-row Helios-shaped cluster_log.csv with `read_trace`.

Run: .venv/bin/python bench/bench_trace_import.py [--rows 3000000] [--gpu-share 0.47] [--repeat 3]

The file is generated in a temporary directory with Helios's columns (job_id, user, vc, jobname,
gpu_num, cpu_num, node_num, state, submit_time, start_time, end_time, duration, queue) and
date-time text like the real log. By default 47% of the rows are GPU jobs, as in Helios
(1,580,464 of 3,362,981 jobs, ../shared/traces/acme-nsdi24/cluster_summary.csv); the rest are
CPU-only and dropped. Reported: file size, generation time, and `read_trace("helios", file)`
wall time (best and median of --repeat runs), then writing the jobs to Parquet (the rest of
`gpufleet trace import`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from gpufleet.workload.job import Job
from gpufleet.workload.store import write_parquet
from gpufleet.workload.traces import read_trace

# Helios GPU-job sizes, rough shape [A]: mostly 1 GPU, a tail to 64.
_SIZES = np.array([1, 2, 4, 8, 16, 32, 64])
_SIZE_WEIGHTS = np.array([0.70, 0.10, 0.08, 0.07, 0.03, 0.015, 0.005])
_T0 = 1585699200  # 2020-04-01 00:00:00 UTC, the start of the Helios trace


def generate(path: Path, rows: int, gpu_share: float, seed: int) -> None:
    """Write a Helios-shaped cluster_log.csv of `rows` jobs over about 180 days."""
    rng = np.random.default_rng(seed)
    submit = np.sort(rng.integers(0, 180 * 86400, rows)) + _T0
    gpus = np.where(
        rng.random(rows) < gpu_share, rng.choice(_SIZES, rows, p=_SIZE_WEIGHTS), 0
    ).astype(np.int64)
    duration = np.maximum(rng.lognormal(6.0, 2.0, rows), 0).astype(np.int64)
    queue = rng.integers(0, 900, rows)
    start = submit + queue
    users = pa.array([f"u{i:04d}" for i in range(2000)]).take(pa.array(rng.integers(0, 2000, rows)))
    vcs = pa.array([f"vc{i:03d}" for i in range(100)]).take(pa.array(rng.integers(0, 100, rows)))
    names = pa.array([f"job{i}" for i in range(5000)]).take(pa.array(rng.integers(0, 5000, rows)))
    states = pa.array(["COMPLETED", "CANCELLED", "FAILED"]).take(
        pa.array(rng.choice(3, rows, p=[0.62, 0.22, 0.16]))
    )

    def stamp(a: np.ndarray) -> pa.Array:
        return pa.array(a, pa.timestamp("s"))

    table = pa.table(
        {
            "job_id": pa.array(np.arange(rows) + 6_000_000),
            "user": users,
            "vc": vcs,
            "jobname": names,
            "gpu_num": gpus,
            "cpu_num": gpus * 4 + 1,
            "node_num": np.maximum(1, gpus // 8),
            "state": states,
            "submit_time": stamp(submit),
            "start_time": stamp(start),
            "end_time": stamp(start + duration),
            "duration": duration,
            "queue": queue,
        }
    )
    pv.write_csv(table, path, write_options=pv.WriteOptions(quoting_style="none"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--gpu-share", type=float, default=0.47)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster_log.csv"
        t0 = time.perf_counter()
        generate(path, args.rows, args.gpu_share, args.seed)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 2**20:,.0f} MiB) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        times: list[float] = []
        jobs: list[Job] = []
        for _ in range(args.repeat):
            jobs = []  # let the previous run's jobs go before timing the next
            t0 = time.perf_counter()
            jobs = read_trace("helios", path)
            times.append(time.perf_counter() - t0)
        print(
            f"read_trace('helios'): {len(jobs):,} jobs; best {min(times):.2f} s, "
            f"median {statistics.median(times):.2f} s over {len(times)} runs"
        )
        t0 = time.perf_counter()
        write_parquet(jobs, Path(tmp) / "jobs.parquet")
        print(f"write_parquet: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
