"""Compare queue policies on a small fleet: the same workload under FIFO, FIFO+EASY and SJF+EASY.

Run: .venv/bin/python examples/compare_policies.py
"""

from __future__ import annotations

from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.policy.registry import resolve
from gpufleet.workload.synthetic import generate


def main() -> dict[str, float]:
    fleet = load_fleet("small-mixed")
    jobs = generate(fleet, days=7, seed=1, load=0.9)
    waits: dict[str, float] = {}
    for policy in ("fifo", "fifo+easy", "sjf+easy"):
        m = summarize(simulate(fleet, jobs, resolve(policy), window=7 * 86400.0, seed=1))
        waits[policy] = m["wait_s"]["mean"]
        print(
            f"{policy:<10} jobs {m['jobs']:>5}  mean wait {m['wait_s']['mean'] / 3600:7.2f} h  "
            f"p95 {m['wait_s']['p95'] / 3600:7.2f} h  utilization {m['utilization']:.1%}"
        )
    return waits


if __name__ == "__main__":
    main()
