"""Placements for pods that share GPUs, by name: `(pod, view, rng, target) -> SharePlacement`.

Each is a pure function of the read-only view; randomness comes only from `rng`, and `target`
(the target workload's pod shapes) is used by the fragmentation-aware ones. The scores of
`best-fit`, `packing`, `gpu-clustering`, `dot-product`, `random`, `worst-fit` and `fgd` are
the FGD artifact's (hkust-adsl/kubernetes-scheduler-simulator,
pkg/simulator/plugin/*_score.go): integers 0-100, the best node wins, ties go to the lowest
`view.rank` (share_fit.py). `first-fit` is ours (the artifact's FirstFitScore gives every
node the same score), as are `fgd-exact`, `fgd-best-fit` and `fgd-cpu` (fgd.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from gpufleet.errors import ConfigError
from gpufleet.fleet.sharing import SharePlacement, SharingView, kind_of
from gpufleet.policy.fgd import fgd, fgd_best_fit, fgd_cpu, fgd_exact
from gpufleet.policy.fragmentation import TargetShapes
from gpufleet.policy.share_fit import (
    MAX_CPU,
    MAX_GPU,
    MAX_SCORE,
    best_fit_score,
    fits,
    gpus_on,
    pick_best,
    place_on,
)
from gpufleet.workload.pods import MILLI, Pod

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
SharePolicy = Callable[
    [Pod, SharingView, random.Random, TargetShapes | None], SharePlacement | None
]


def _scored(
    pod: Pod, view: SharingView, rng: random.Random, score: Callable[[Ints], Ints]
) -> SharePlacement | None:
    nodes = np.flatnonzero(fits(pod, view))
    if not len(nodes):
        return None
    return place_on(pod, view, pick_best(nodes, score(nodes), view))


def _trunc(x: Floats) -> Ints:
    out: Ints = np.trunc(x).astype(np.int64)
    return out


def best_fit(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """The node left with the least CPU and GPU, each normalized by the largest node, equally
    weighted: score = 100 * (1 - (cpu left after / 128 / 2 + GPU left after / 8 / 2))."""

    return _scored(pod, view, rng, lambda nodes: best_fit_score(pod, view, nodes))


def packing(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """GPU packing: first a GPU already shared (the fuller the better, 50-100), then free GPUs
    on a node already in use (fewer used better, 33-50), last an untouched node (fewer GPUs
    better, 0-33). CPU pods score 0 everywhere, so they land at random."""

    def score(nodes: Ints) -> Ints:
        rows = view.left[nodes]
        free = (rows == MILLI).sum(axis=1)
        untouched = np.maximum(MAX_SCORE // 3 - free, free)
        if pod.shared:
            tight = np.where(rows >= pod.milli, rows, MILLI + 1).min(axis=1)
            used = np.maximum(MAX_SCORE - (tight * 100 // MILLI) // 10, MAX_SCORE // 2)
            touched = np.where(tight == MILLI, max(MAX_SCORE // 2 - 1, MAX_SCORE // 3), used)
        else:
            touched = np.full(len(nodes), max(MAX_SCORE // 2 - pod.gpus, MAX_SCORE // 3))
        out: Ints = np.where(free == view.nodes.gpus[nodes], untouched, touched)
        return out if pod.gpus else np.zeros(len(nodes), dtype=np.int64)

    return _scored(pod, view, rng, score)


def dot_product(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """Tetris-style alignment, as the artifact configures it (dimensions merged, normalized by
    the largest node): the smaller the dot product of (CPU, GPU) left and (CPU, GPU) asked,
    the higher the score: 100 * (1 - dot / 2)."""

    def score(nodes: Ints) -> Ints:
        cpu = (view.cpu_left[nodes] / MAX_CPU) * (pod.cpu / MAX_CPU)
        gpu = (view.left[nodes].sum(axis=1) / MAX_GPU) * (pod.total_milli / MAX_GPU)
        return _trunc(MAX_SCORE * (1.0 - (cpu + gpu) / 2))

    return _scored(pod, view, rng, score)


def gpu_clustering(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """Pods of one kind (a GPU share, or k whole GPUs) together on the same nodes, so that
    unlike requests do not cut each other's GPUs; fuller nodes first within a band. A node
    holding only this kind scores 75-100, this kind among others 50-75, no GPU pod 25-50, only
    other kinds 0-25: the band plus 25 x (8000 - GPU milli left) // 8000. CPU pods: 0."""

    def score(nodes: Ints) -> Ints:
        if not pod.gpus:
            return np.zeros(len(nodes), dtype=np.int64)
        counts = view.affinity[nodes]
        kinds = (counts > 0).sum(axis=1)
        same = counts[:, kind_of(pod)] > 0
        band = np.where(same, np.where(kinds == 1, 75, 50), np.where(kinds == 0, 25, 0))
        fill: Ints = MAX_SCORE // 4 * (MAX_GPU - view.left[nodes].sum(axis=1)) // MAX_GPU
        out: Ints = band + fill
        return out

    return _scored(pod, view, rng, score)


def worst_fit(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """The node left with the most: CPU milli + 100 x GPU milli left after, rescaled to 0-100
    over the candidates (the artifact's NormalizeScore, whose integer steps make ties)."""

    def score(nodes: Ints) -> Ints:
        raw = _trunc(
            (view.cpu_left[nodes] - pod.cpu) * 1.0
            + (view.left[nodes].sum(axis=1) - pod.total_milli) * 100.0
        )
        span = int(raw.max() - raw.min())
        out: Ints = (raw - raw.min()) * MAX_SCORE // span if span else np.zeros_like(raw)
        return out

    return _scored(pod, view, rng, score)


def random_fit(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """A uniformly random node that fits, and a random fitting GPU for a shared-GPU pod."""
    nodes = np.flatnonzero(fits(pod, view))
    if not len(nodes):
        return None
    node = int(nodes[rng.randrange(len(nodes))])
    return SharePlacement(node, gpus_on(pod, view.left[node], rng))


def first_fit(
    pod: Pod, view: SharingView, rng: random.Random, target: TargetShapes | None = None
) -> SharePlacement | None:
    """The lowest-numbered node that fits (ours: a deterministic baseline)."""
    nodes = np.flatnonzero(fits(pod, view))
    return place_on(pod, view, int(nodes[0])) if len(nodes) else None


SHARE_PLACEMENTS: dict[str, tuple[SharePolicy, str]] = {
    "best-fit": (best_fit, "least CPU and GPU left on the node after placing (artifact)"),
    "packing": (packing, "shared GPUs first, then used nodes, then untouched nodes (artifact)"),
    "gpu-clustering": (gpu_clustering, "pods of one GPU kind grouped on the same nodes (artifact)"),
    "dot-product": (dot_product, "smallest dot product of resources left and asked (artifact)"),
    "random": (random_fit, "a uniformly random node that fits (artifact)"),
    "fgd": (fgd, "least growth of expected GPU fragmentation, FGD ATC'23 (artifact)"),
    "fgd-exact": (fgd_exact, "fgd on the exact gradient, no integer score (ours)"),
    "fgd-best-fit": (fgd_best_fit, "fgd, ties to the fuller node by best-fit score (ours)"),
    "fgd-cpu": (fgd_cpu, "fgd plus GPU milli the node's CPU left cannot feed (ours)"),
    "worst-fit": (worst_fit, "most CPU and GPU left on the node after placing (artifact)"),
    "first-fit": (first_fit, "lowest-numbered node that fits (ours)"),
}


def share_placement(name: str) -> SharePolicy:
    """The sharing placement called `name`; an unknown name lists the valid ones."""
    if name not in SHARE_PLACEMENTS:
        raise ConfigError(
            f"unknown sharing placement {name!r}; valid: {', '.join(sorted(SHARE_PLACEMENTS))}"
        )
    return SHARE_PLACEMENTS[name][0]
