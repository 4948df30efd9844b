"""Where a sharing placement loses allocation: what is left on the openb cluster at 130% arrived.

Run: .venv/bin/python bench/fgd_leftover.py [--traces ../shared/traces] [--placements fgd fgd-cpu]
     [--seed 42]

Per placement, one replay as in the fgd check, stopped at the first pod whose arrived total
rounds to 130% of capacity: the allocation then, the arrived share at the first pod that fit
nowhere, the GPU milli left on nodes with under 4 cores left (stranded by CPU) and how many
whole GPUs sit there, and the GPUs by milli left in 50-milli bins (slivers). The figures in
docs/fgd.md ("Where FGD loses") come from here.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

from gpufleet.fleet.sharing import SharingState
from gpufleet.policy.fragmentation import target_shapes
from gpufleet.policy.sharing import SHARE_PLACEMENTS
from gpufleet.validation.replay import TUNE, arrival_order, node_rank
from gpufleet.workload.traces.openb_sharing import read_nodes, read_pods

LOW_CPU = 4000  # CPU milli: below this, a node can take hardly any more GPU pods
PERCENT = 130


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=Path("../shared/traces"))
    parser.add_argument("--placements", nargs="*", default=["fgd", "fgd-cpu"])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    csv = args.traces / "alibaba-openb-gpu2023" / "csv"
    nodes = read_nodes(csv / "openb_node_list_gpu_node.csv")
    pods = read_pods(csv / "openb_pod_list_default.csv")
    target = target_shapes(pods)
    capacity = nodes.total_milli
    for name in args.placements:
        rng = random.Random(args.seed)
        order = arrival_order(pods, capacity, rng, TUNE)
        state = SharingState(nodes, node_rank(len(nodes), rng))
        policy = SHARE_PLACEMENTS[name][0]
        arrived, first_fail = 0, None
        for pod in order:
            arrived += pod.total_milli
            where = policy(pod, state.view, rng, target)
            if where is None:
                first_fail = first_fail or round(arrived / capacity * 100)
            else:
                state.place(pod, where)
            if round(arrived / capacity * 100) == PERCENT:
                break
        low = state.cpu_left < LOW_CPU
        left = state.left[low]
        bins = Counter((state.left[state.left > 0] // 50 * 50).tolist())
        print(
            f"{name}: allocated {state.used_milli / capacity * 100:.2f}% at {PERCENT}% arrived; "
            f"first failure at {first_fail}% arrived; on nodes with < {LOW_CPU // 1000} cores "
            f"left: {left.sum() / 1000:.1f} GPUs of milli, {int((left == 1000).sum())} whole"
        )
        print("  GPUs by milli left (50-milli bins):", dict(sorted(bins.items())))
        by_model: Counter[str] = Counter()
        for model, n_left in zip(nodes.models, state.left.sum(axis=1).tolist(), strict=True):
            by_model[model] += n_left
        print("  GPUs of milli left by model:", {m: v / 1000 for m, v in sorted(by_model.items())})


if __name__ == "__main__":
    main()
