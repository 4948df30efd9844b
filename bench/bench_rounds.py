"""Time the Pollux reproduction: profiles, workload-6 under Tiresias, all 32 workloads.

Usage: .venv/bin/python bench/bench_rounds.py [--traces ../shared/traces/pollux-osdi21]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gpufleet.validation.pollux import LOAD_VARIANTS, tiresias_on
from gpufleet.workload.profiles import load_profiles


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=Path, default=Path("../shared/traces/pollux-osdi21"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    t = time.perf_counter()
    profiles = load_profiles(args.traces / "traces")
    print(f"load profiles: {time.perf_counter() - t:.3f} s")
    w6 = args.traces / "workloads" / "workload-6.csv"
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = tiresias_on(w6, profiles)
        times.append(time.perf_counter() - t)
    print(
        f"workload-6: avg JCT {res.avg_jct():.2f} s, {res.rounds} rounds decided, "
        f"{res.preemptions} preemptions; best {min(times):.3f} s, "
        f"median {sorted(times)[len(times) // 2]:.3f} s of {args.repeat}"
    )
    t = time.perf_counter()
    n = 0
    for folder in LOAD_VARIANTS:
        for path in sorted((args.traces / folder).glob("workload-*.csv")):
            tiresias_on(path, profiles)
            n += 1
    print(f"all {n} workloads: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
