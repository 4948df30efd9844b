"""Fragmentation gradient descent (FGD, Weng et al., USENIX ATC'23): place a pod where it grows
the cluster's expected GPU fragmentation the least.

For every node that fits, and for a shared-GPU pod every GPU on it that fits, the placement's
gradient is the node's fragmentation after it minus before it (fragmentation.py; the other
nodes do not change). The artifact turns the decrease into a Kubernetes score as
`int(100 * sigmoid((before - after) / 1000))`, so gradients within a few tens of milli tie,
and ties go by node rank (share_fit.py); `fgd` reproduces that. On a node, a shared-GPU pod
takes the fitting GPU with the best score (lowest index among equals), a whole-GPU pod the
lowest-index free GPUs.

`fgd-cpu` (ours) descends the same way on fragmentation plus the GPU milli that a node's CPU
left cannot feed (stranding.py): FGD with a lookahead on the CPU dimension.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from gpufleet.errors import ConfigError
from gpufleet.fleet.sharing import SharePlacement, SharingView
from gpufleet.policy.fragmentation import TargetShapes, fragmentation
from gpufleet.policy.share_fit import best_fit_score, fits, free_gpus, pick_best
from gpufleet.policy.stranding import fragmentation_and_stranding
from gpufleet.workload.pods import MILLI, Pod

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
# expected waste of node states: (GPU milli left, CPU left, models, target) -> per row
Measure = Callable[[Ints, Ints, npt.NDArray[np.object_], TargetShapes], Floats]

MAX_SCORE = 100  # Kubernetes framework.MaxNodeScore


def fgd(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None
) -> SharePlacement | None:
    """FGD as published: integer scores from the sigmoid of the gradient."""
    return _descend(pod, view, target, _sigmoid_score)


def fgd_exact(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None
) -> SharePlacement | None:
    """Ours: the least fragmentation growth itself, without the artifact's integer score."""
    return _descend(pod, view, target, np.negative)


def fgd_best_fit(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None
) -> SharePlacement | None:
    """Ours: FGD's integer score first; among nodes tying on it, the artifact's best-fit score
    (fuller node first), then the node rank. FGD's ties are many (gradients within ~40 milli
    share a score), and filling the fuller node keeps whole nodes free for multi-GPU pods."""
    return _descend(
        pod, view, target, _sigmoid_score, lambda nodes: best_fit_score(pod, view, nodes)
    )


def fgd_cpu(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None
) -> SharePlacement | None:
    """Ours: FGD's integer score on the growth of fragmentation plus CPU-stranded GPU milli,
    so pods also keep each node's CPU and GPU left in the proportion the workload asks."""
    return _descend(pod, view, target, _sigmoid_score, measure=fragmentation_and_stranding)


def _sigmoid_score(gradient: Floats) -> Floats:
    # the artifact's int64(sigmoid((before - after) / 1000) * 100), operation for operation
    score: Floats = np.trunc((1.0 / (1.0 + np.exp(gradient / 1000.0))) * MAX_SCORE)
    return score


def _descend(
    pod: Pod,
    view: SharingView,
    target: TargetShapes | None,
    score_of: Callable[[Floats], Floats],
    then: Callable[[Ints], Ints] | None = None,
    measure: Measure = fragmentation,
) -> SharePlacement | None:
    """Score candidates by `score_of(after - before)` of `measure` (higher is better); best
    node wins, ties going to the higher `then(nodes)` (0-100) when given.

    Fragmentation depends on a node's model, CPU left and the multiset of its GPUs' milli
    left, so nodes in the same state are scored once: early in a run most nodes are alike.
    """
    if target is None:
        raise ConfigError("the fgd placement needs the target workload's pod shapes")
    nodes = np.flatnonzero(fits(pod, view))
    if not len(nodes):
        return None
    states, of_node = _states(view, nodes)
    width = view.left.shape[1]
    left, cpu = states[:, :width], states[:, width]
    models = np.unique(np.array(view.nodes.models, dtype=object))[states[:, width + 1]]
    before = measure(left, cpu, models, target)
    if pod.shared:
        at, col = np.nonzero((left >= pod.milli) & _first_of_value(left))
        after_left = left[at].copy()
        after_left[np.arange(len(at)), col] -= pod.milli
        after = measure(after_left, cpu[at] - pod.cpu, models[at], target)
        scores = score_of(after - before[at])
        state_score = np.full(len(states), -np.inf)
        np.maximum.at(state_score, at, scores)
        chosen = pick_best(nodes, _then(state_score[of_node], nodes, then), view)
        state = of_node[np.searchsorted(nodes, chosen)]
        best = left[state, col[(at == state) & (scores == state_score[state])]]
        row = view.left[chosen]
        return SharePlacement(chosen, (int(np.flatnonzero(np.isin(row, best))[0]),))
    after_left = _take_whole(left, pod.gpus) if pod.gpus else left
    after = measure(after_left, cpu - pod.cpu, models, target)
    chosen = pick_best(nodes, _then(score_of(after - before)[of_node], nodes, then), view)
    return SharePlacement(chosen, free_gpus(view.left[chosen], pod.gpus) if pod.gpus else ())


def _then(scores: Floats, nodes: Ints, then: Callable[[Ints], Ints] | None) -> Floats:
    """Scores with a tie-breaking score (0-100) folded in below them."""
    return scores if then is None else scores * (MAX_SCORE + 1) + then(nodes)


def _states(view: SharingView, nodes: Ints) -> tuple[Ints, Ints]:
    """The distinct (GPU milli left, largest first; CPU left; model index) states of `nodes`,
    and the state of each node (the view keeps an id per state)."""
    _, first, of_node = np.unique(view.state_id[nodes], return_index=True, return_inverse=True)
    at = nodes[first]
    states = np.column_stack((view.sorted_left[at], view.cpu_left[at], view.model_index[at]))
    return states, of_node.reshape(-1)


def _first_of_value(rows: Ints) -> npt.NDArray[np.bool_]:
    """In rows sorted largest first, the first GPU of each distinct milli value: taking from
    any GPU of equal value leaves the same state."""
    first = np.ones(rows.shape, dtype=np.bool_)
    first[:, 1:] = rows[:, 1:] != rows[:, :-1]
    return first


def _take_whole(rows: Ints, gpus: int) -> Ints:
    """Each row after taking its `gpus` lowest-index wholly free GPUs."""
    free = rows == MILLI
    taken = free & (np.cumsum(free, axis=1) <= gpus)
    return np.where(taken, 0, rows)
