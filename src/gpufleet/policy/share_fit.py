"""What every sharing placement does alike: which nodes can host a pod, which GPUs it takes on
the chosen node, and how a tie between equally scored nodes is broken.

These follow the FGD artifact (hkust-adsl/kubernetes-scheduler-simulator), whose scheduler is
the Kubernetes framework with its Open-Gpu-Share filter and reserve plugins:
- a node fits when its GPU model is allowed, CPU and memory are left (NodeResourcesFit) and
  `gpus` of its GPUs each have `milli` left;
- on the node, a shared-GPU pod takes the GPU with the least milli left that still fits (the
  lowest index among equals), or a random fitting GPU under the random policy; a whole-GPU pod
  takes the lowest-index wholly free GPUs;
- nodes are scored with integers 0-100 and the best score wins; among nodes sharing it the
  artifact's Kubernetes fork (mental2008/kubernetes v1.20.5-minor, selectHost) takes the
  smallest node name, and node names carry a prefix drawn at random once per run: the view's
  `rank`. (Stock Kubernetes draws uniformly among them instead; on the openb trace that costs
  FGD about 5 points, since many of its integer scores tie.)
"""

from __future__ import annotations

import random

import numpy as np
import numpy.typing as npt

from gpufleet.fleet.sharing import SharePlacement, SharingView
from gpufleet.workload.pods import MILLI, Pod

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def fits(pod: Pod, view: SharingView) -> Bools:
    """Nodes that can host the pod now."""
    ok = (view.cpu_left >= pod.cpu) & (view.memory_left >= pod.memory)
    if pod.gpus:
        ok &= (view.left >= pod.milli).sum(axis=1) >= pod.gpus
        if pod.models:
            ok &= view.model_ok(pod.models)
    return ok


def tightest_gpu(row: Ints, milli: int) -> int:
    """The GPU with the least left that still gives `milli`; the lowest index among equals."""
    masked = np.where(row >= milli, row, np.iinfo(np.int64).max)
    return int(np.argmin(masked))


def free_gpus(row: Ints, count: int) -> tuple[int, ...]:
    """The `count` lowest-index wholly free GPUs."""
    return tuple(int(g) for g in np.flatnonzero(row == MILLI)[:count])


def gpus_on(pod: Pod, row: Ints, rng: random.Random | None = None) -> tuple[int, ...]:
    """GPUs the pod takes on a node whose per-GPU milli left is `row`.

    With `rng`, a shared-GPU pod takes a uniformly random fitting GPU instead of the tightest.
    """
    if not pod.gpus:
        return ()
    if pod.shared:
        if rng is not None:
            return (rng.choice(np.flatnonzero(row >= pod.milli).tolist()),)
        return (tightest_gpu(row, pod.milli),)
    return free_gpus(row, pod.gpus)


def pick_best(
    nodes: Ints, scores: npt.NDArray[np.int64] | npt.NDArray[np.float64], view: SharingView
) -> int:
    """The node with the highest score; the lowest `view.rank` among nodes that tie for it."""
    best = nodes[scores == scores.max()]
    if len(best) == 1:
        return int(best[0])
    return int(best[np.argmin(view.rank[best])])


def place_on(pod: Pod, view: SharingView, node: int) -> SharePlacement:
    """The placement on `node` with the default GPU choice (tightest shared GPU)."""
    return SharePlacement(node, gpus_on(pod, view.left[node]))


# [S] artifact pkg/type/open-gpu-share/utils/const.go: the largest node, used to normalize.
MAX_CPU = 128_000  # milli-CPUs
MAX_GPU = 8_000  # GPU milli
MAX_SCORE = 100  # Kubernetes framework.MaxNodeScore


def best_fit_score(pod: Pod, view: SharingView, nodes: Ints) -> Ints:
    """The artifact's BestFitScore: 100 x (1 - (CPU left after / 128 cores + GPU left after /
    8 GPUs) / 2), truncated; fuller nodes score higher."""
    cpu = (view.cpu_left[nodes] - pod.cpu) / MAX_CPU * 0.5
    gpu = (view.left[nodes].sum(axis=1) - pod.total_milli) / MAX_GPU * 0.5
    out: Ints = np.trunc((1.0 - (cpu + gpu)) * MAX_SCORE).astype(np.int64)
    return out
