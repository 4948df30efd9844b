"""Benchmark: N synthetic jobs through korea-2025 with EASY backfill and topology-aware placement.

Run: .venv/bin/python bench/bench_sim.py [--jobs 1000000] [--policy fifo+easy] [--tenancy auto]
     [--setup-only]
Prints generation time, simulation wall time, peak memory (RSS) and headline metrics. The
workload is drawn into columns and each Job is built as the twin reads it, so building Jobs
counts in the simulation time (before 2026-11-29 it counted in the generation time).
"""

from __future__ import annotations

import argparse
import resource
import time

from gpufleet._native import mode
from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.policy.registry import resolve
from gpufleet.tenancy.loader import resolve_tenancy
from gpufleet.workload.synthetic import draw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--policy", default="fifo+easy")
    ap.add_argument("--placement", default="topo-best-fit")
    ap.add_argument("--scenario", default="korea-2025")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tenancy", default="none", help="'none', 'auto' (the scenario's) or FILE")
    ap.add_argument(
        "--setup-only", action="store_true", help="stop before simulating (count the setup alone)"
    )
    args = ap.parse_args()
    fleet = load_fleet(args.scenario)
    tree = resolve_tenancy(args.tenancy, args.scenario, fleet)
    t0 = time.perf_counter()
    jobs = draw(fleet, days=365, seed=args.seed, max_jobs=args.jobs)  # Jobs built as read
    gen = time.perf_counter() - t0
    window = jobs[-1].submit
    t0 = time.perf_counter()
    pol = resolve(args.policy, args.placement)
    if args.setup_only:
        print(f"setup: {len(jobs):,} jobs drawn over {window / 86400:.2f} days")
        return
    rec = simulate(fleet, jobs, pol, window=window, seed=args.seed, tenancy=tree)
    sim = time.perf_counter() - t0
    m = summarize(rec)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario {fleet.name}: {fleet.total_gpus:,} GPUs, {fleet.n_nodes:,} nodes")
    print(
        f"jobs {len(jobs):,} over {window / 86400:.2f} days; policy {args.policy}; "
        f"tenancy {args.tenancy}; preempted runs {len(rec.preempted):,}"
    )
    print(f"generate {gen:.1f} s; simulate {sim:.1f} s ({sim / len(jobs) * 1e6:.1f} us/job)")
    print(f"peak RSS {rss:,.0f} MiB; hot path {mode()}")
    print(
        f"utilization {m['utilization']:.3f}; wait mean {m['wait_s']['mean']:.0f} s "
        f"p95 {m['wait_s']['p95']:.0f} s; rejected {m['rejected']}"
    )


if __name__ == "__main__":
    main()
