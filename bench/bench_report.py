"""Benchmark: the HTML report of a 1,000,000-job korea-2025 run; build time and file size.

Run: .venv/bin/python bench/bench_report.py [--jobs 1000000] [--run-dir DIR] [--png DIR]
Makes the run (synthetic workload, fifo+easy, the scenario's tenant tree as `gpufleet simulate`
uses by default; `--no-tenancy` for none) and writes it with `write_run` into --run-dir, unless
that directory already holds one; then times `write_report` and prints the size. The aim
(issue 6): under 30 s and under 20 MB.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.metrics.tenancy import tenancy_summary
from gpufleet.policy.registry import resolve
from gpufleet.report.build import write_report
from gpufleet.report.files import write_run
from gpufleet.tenancy.loader import resolve_tenancy
from gpufleet.workload.synthetic import generate

BUDGET_S = 30.0
BUDGET_MB = 20.0


def make_run(run_dir: Path, n_jobs: int, seed: int, tenancy: bool) -> None:
    fleet = load_fleet("korea-2025")
    tree = resolve_tenancy("auto" if tenancy else "none", "korea-2025", fleet)
    t0 = time.perf_counter()
    jobs = generate(fleet, days=365, seed=seed, max_jobs=n_jobs)
    window = jobs[-1].submit
    rec = simulate(fleet, jobs, resolve("fifo+easy"), window=window, seed=seed, tenancy=tree)
    t1 = time.perf_counter()
    metrics = summarize(rec)
    if tree is not None:
        metrics["tenancy"] = tenancy_summary(rec, tree)
    write_run(rec, metrics, run_dir, scenario="korea-2025", workload="synthetic")
    t2 = time.perf_counter()
    print(f"run: {len(jobs):,} jobs, generate+simulate {t1 - t0:.1f} s, write_run {t2 - t1:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", type=Path, default=Path("/tmp/gpufleet-bench-report-run"))
    ap.add_argument("--png", type=Path, default=None, help="also time the PNG export")
    ap.add_argument("--no-tenancy", action="store_true", help="simulate without a tenant tree")
    args = ap.parse_args()
    if not (args.run_dir / "run.json").exists():
        make_run(args.run_dir, args.jobs, args.seed, not args.no_tenancy)
    else:
        print(f"run: reusing {args.run_dir}")
    out = args.run_dir / "report.html"
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    write_report(args.run_dir, out)
    build = time.perf_counter() - t0
    size_mb = out.stat().st_size / 1e6
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jobs_mb = (args.run_dir / "jobs.parquet").stat().st_size / 1e6
    print(f"jobs.parquet {jobs_mb:.1f} MB")
    print(f"report build {build:.1f} s (aim < {BUDGET_S:.0f} s)")
    print(f"report size {size_mb:.2f} MB (aim < {BUDGET_MB:.0f} MB)")
    print(f"peak RSS {rss:,.0f} MiB (before the report: {rss0:,.0f} MiB)")
    if args.png is not None:
        t0 = time.perf_counter()
        n = len(write_report(args.run_dir, out, args.png)) - 1
        print(f"report + {n} PNGs {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
