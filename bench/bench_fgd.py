"""Benchmark: one openb replay (FGD check 2) per sharing placement, seed 42.

Run: .venv/bin/python bench/bench_fgd.py [--traces ../shared/traces] [--placements fgd best-fit]
     [--seed 42] [--workload openb_pod_list_default]

Each replay places the default pod list shuffled and grown to 130% of the GPU capacity of the
1,213-node openb cluster (about 10,800 pods), one pod at a time. Reported per placement: wall
time, pods per second, and the allocation at 130% arrived. The whole check is
`gpufleet validate fgd` (11 placements x 10 seeds, default pod list).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from gpufleet.policy.fragmentation import target_shapes
from gpufleet.policy.sharing import SHARE_PLACEMENTS
from gpufleet.validation.replay import TUNE, arrival_order, node_rank, replay
from gpufleet.workload.traces.openb_sharing import read_nodes, read_pods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=Path("../shared/traces"))
    parser.add_argument("--placements", nargs="*", default=list(SHARE_PLACEMENTS))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workload", default="openb_pod_list_default", help="pod list name")
    args = parser.parse_args()
    csv = args.traces / "alibaba-openb-gpu2023" / "csv"
    nodes = read_nodes(csv / "openb_node_list_gpu_node.csv")
    pods = read_pods(csv / f"{args.workload}.csv")
    target = target_shapes(pods)
    for name in args.placements:
        rng = random.Random(args.seed)
        order = arrival_order(pods, nodes.total_milli, rng, TUNE)
        rank = node_rank(len(nodes), rng)
        start = time.perf_counter()
        result = replay(nodes, order, SHARE_PLACEMENTS[name][0], rng, target, rank)
        wall = time.perf_counter() - start
        print(
            f"{name:14s} {len(order):6d} pods {wall:6.2f} s {len(order) / wall:8.0f} pods/s "
            f"alloc@130% {result.allocation_at(130):.2f}"
        )


if __name__ == "__main__":
    main()
