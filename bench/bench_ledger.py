"""Benchmark: the accounting ledger of a 1,000,000-job run on korea-2025.

Run: .venv/bin/python bench/bench_ledger.py [--jobs 1000000] [--preempted 0.01]
The record is filled without simulating (the ledger reads only start, end, cluster and the
jobs' tenants, groups and GPU counts): each job starts after a random wait on a random
cluster of its own model's capacity and runs its reference run time; a share of the jobs also
gets an earlier, preempted run. Prints the ledger's build time, rows and totals.
"""

from __future__ import annotations

import argparse
import time
from array import array

import numpy as np

from gpufleet.accounting.ledger import ledger_of, rollup
from gpufleet.engine.record import COMPLETED, RunRecord
from gpufleet.fleet.loader import load_fleet
from gpufleet.workload.synthetic import generate


def _record(n_jobs: int, preempted: float, seed: int) -> RunRecord:
    fleet = load_fleet("korea-2025")
    jobs = generate(fleet, days=365, seed=seed, max_jobs=n_jobs)
    rng = np.random.default_rng(seed)
    n = len(jobs)
    submit = np.array([j.submit for j in jobs])
    runtime = np.array([j.runtime for j in jobs])
    start = submit + rng.exponential(300.0, n)  # [A] a mean wait of 5 minutes
    gpus = np.array([c.gpus for c in fleet.clusters], np.float64)
    cluster = rng.choice(len(gpus), size=n, p=gpus / gpus.sum())
    rec = RunRecord.empty(fleet, jobs, "bench", "bench", seed, submit[-1], 3600.0)
    rec.start[:] = array("d", start.tolist())
    rec.end[:] = array("d", (start + runtime).tolist())
    rec.cluster[:] = array("i", cluster.tolist())
    rec.state[:] = array("b", [COMPLETED] * n)
    cut = rng.choice(n, size=int(n * preempted), replace=False)
    rec.preempted.extend(
        (int(i), float(start[i] - 3600.0), float(start[i] - 600.0), int(cluster[i])) for i in cut
    )
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--preempted", type=float, default=0.01, help="share of jobs preempted once")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rec = _record(args.jobs, args.preempted, args.seed)
    print(
        f"record of {len(rec.jobs):,} jobs ({len(rec.preempted):,} preempted runs) built in "
        f"{time.perf_counter() - t0:.1f} s; {rec.window / 86400:.2f} days of arrivals"
    )
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ledger = ledger_of(rec)
        times.append(time.perf_counter() - t0)
    total = rollup(ledger, []).to_pylist()[0]
    print(
        f"ledger: {ledger.num_rows:,} rows; build best {min(times):.2f} s, "
        f"worst {max(times):.2f} s of {args.repeat}"
    )
    print(
        f"GPU-hours {total['gpu_seconds'] / 3600:,.0f}; market {total['cost_market_krw']:,.0f} "
        f"KRW; charged {total['cost_charged_krw']:,.0f} KRW; {total['energy_kwh']:,.0f} kWh; "
        f"{total['co2_kg'] / 1000:,.1f} t CO2"
    )


if __name__ == "__main__":
    main()
