"""The FGD allocation experiment: pods arrive one by one and never leave, until the GPU milli
they asked for reaches a multiple of the cluster's; how much of the cluster is then allocated?

As in the artifact (hkust-adsl/kubernetes-scheduler-simulator, pkg/simulator, with
`--shuffle-pod=true -tune 1.3 -tuneseed SEED`): the pod list is shuffled; then pods drawn at
random from the original list are appended while the total asked stays within 130% of
capacity (or pods drawn at random are removed until it does); every pod is scheduled once,
in that order, and a pod that fits nowhere fails and is not retried. Node names get a random
prefix (`node_rank`), which decides ties between equally scored nodes. After every pod the
arrived and the allocated GPU milli are recorded. The figure FGD plots at "130%" is the mean
allocation ratio over the pods whose arrived total, as a whole percent of capacity (rounded
half to even, as pandas' `round` does), equals 130.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpufleet.errors import ConfigError
from gpufleet.fleet.sharing import SharedNodes, SharingState
from gpufleet.policy.fragmentation import TargetShapes
from gpufleet.policy.sharing import SharePolicy
from gpufleet.workload.pods import PodList

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

TUNE = 1.3  # [S] artifact experiments/run_scripts/generate_run_scripts.py: tune_ratio 1.3


def arrival_order(pods: PodList, capacity_milli: int, rng: random.Random, tune: float) -> PodList:
    """The shuffled pods, grown or cut at random to ask for about `tune` x capacity.

    Growing stops at the first drawn pod whose per-GPU milli would pass the target: the
    artifact tests `asked + milli` rather than `asked + gpus x milli`, and so do we.
    """
    if tune <= 0 or len(pods) == 0:
        raise ConfigError(f"arrival order: expected pods and tune > 0, got tune {tune}")
    order = list(range(len(pods)))
    rng.shuffle(order)
    asked = pods.total_milli
    total = int(asked.sum())
    target = tune * capacity_milli
    if total > target:
        while total > target:
            total -= int(asked[order.pop(rng.randrange(len(order)))])
    elif total < target:
        while True:
            i = rng.randrange(len(pods))
            if total + int(pods.milli[i]) > target:
                break
            order.append(i)
            total += int(asked[i])
    return pods.take(order)


def node_rank(count: int, rng: random.Random) -> Ints:
    """A random permutation of `count` nodes, drawn after the arrival order as in the artifact."""
    order = list(range(count))
    rng.shuffle(order)
    return np.array(order, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Replay:
    """After each pod: GPU milli arrived so far, GPU milli allocated, whether it was placed."""

    capacity_milli: int
    arrived: Ints
    used: Ints
    placed: Bools

    def allocation_at(self, percent: int) -> float:
        """Mean allocation ratio (%) over the pods at which `percent` % of capacity had arrived
        (the artifact's merge_alloc_discrete: each ratio rounded to 2 decimals; if no pod
        lands on that whole percent, those within 1 of it)."""
        arrived = np.round(self.arrived / self.capacity_milli * 100)
        alloc = np.round(self.used / self.capacity_milli * 100, 2)
        at = arrived == percent
        if not at.any():
            at = (arrived >= percent - 1) & (arrived <= percent + 1)
        if not at.any():
            raise ConfigError(f"no pod arrived near {percent}% of capacity")
        return round(float(alloc[at].mean()), 2)


def replay(
    nodes: SharedNodes,
    pods: PodList,
    policy: SharePolicy,
    rng: random.Random,
    target: TargetShapes | None = None,
    rank: Ints | None = None,
    check: bool = False,
) -> Replay:
    """Schedule `pods` in order with `policy`; `rank` breaks ties between nodes (see
    SharingState); `check` runs the state's invariants after each pod."""
    state = SharingState(nodes, rank)
    view = state.view
    asked = pods.total_milli
    used = np.zeros(len(pods), dtype=np.int64)
    placed = np.zeros(len(pods), dtype=np.bool_)
    in_use = 0
    for i, pod in enumerate(pods):
        where = policy(pod, view, rng, target)
        if where is not None:
            state.place(pod, where)
            in_use += pod.total_milli
            placed[i] = True
        if check:
            state.check()
        used[i] = in_use
    return Replay(nodes.total_milli, np.cumsum(asked), used, placed)
