"""Benchmark: one scheduling pass with 100,000 jobs pending on the full korea-2025 fleet.

Run: .venv/bin/python bench/bench_pass.py [--pending 100000] [--policy fifo+easy]

Two figures:
1. cold pass: all jobs submitted at t=0 to an empty fleet; one pass starts what fits;
2. busy pass: the fleet is then full with the rest still pending; one job finishes and a full
   pass (every shape head merged, reserved head, backfill) runs.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from gpufleet.fleet.loader import load_fleet
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Finish, Submit
from gpufleet.workload.synthetic import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pending", type=int, default=100_000)
    ap.add_argument("--policy", default="fifo+easy")
    args = ap.parse_args()
    fleet = load_fleet("korea-2025")
    jobs = [
        replace(j, submit=0.0) for j in generate(fleet, days=365, seed=1, max_jobs=args.pending)
    ]
    sched = Scheduler(fleet, resolve(args.policy))
    for j in jobs:
        sched.apply(Submit(j), 0.0)
    t0 = time.perf_counter()
    started = sched.decide(0.0)
    cold = time.perf_counter() - t0
    print(f"cold pass: {len(jobs):,} pending, {len(started):,} started, {cold:.3f} s")
    print(
        f"  busy GPUs {sched.state.busy_gpus:,} of {fleet.total_gpus:,}; "
        f"pending {len(sched.pending):,}"
    )
    victim = min(sched.running)
    sched.apply(Finish(victim), 1.0)
    sched._full_pass = True  # measure the full pass, not the incremental one
    t0 = time.perf_counter()
    again = sched.decide(1.0)
    busy = time.perf_counter() - t0
    print(
        f"busy full pass: {len(sched.pending):,} pending, {len(again)} started, {busy * 1e3:.1f} ms"
    )
    sched.apply(Finish(max(sched.running)), 2.0)
    t0 = time.perf_counter()
    inc = sched.decide(2.0)
    print(f"busy incremental pass: {len(inc)} started, {(time.perf_counter() - t0) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
