"""GPU fragmentation of a node, measured against the shapes of pods the workload asks for.

FGD (Weng et al., USENIX ATC'23, Sec. 4) calls the GPU milli left on a node a fragment *for a
pod shape* when a pod of that shape could not use it: the node cannot host the pod at all
(too few GPUs with enough left, too little CPU, a GPU model the pod may not use), in which case
all the milli left is a fragment; or it can, in which case the GPUs each holding less than the
pod's per-GPU share are. CPU pods use no GPU, so for them all GPU milli left counts. A node's
fragmentation is the expectation over the target workload: sum over shapes of the shape's
share of pods times its fragment. The artifact (hkust-adsl/kubernetes-scheduler-simulator)
takes as shapes the most popular (cpu, GPU milli, GPU count, GPU models) tuples of the
original pod list, CPU pods included, until they cover 95% of pods, renormalized.

Everything here works on many candidate node states at once (rows of numpy arrays): FGD
scores every feasible node, and for a shared-GPU pod every GPU of it, per pod.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpufleet.errors import ConfigError
from gpufleet.workload.pods import PodList

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# [S] hkust-adsl/kubernetes-scheduler-simulator scripts/generate_config_and_run.py: typical
# pods cover 95% of pods (--pod-popularity-threshold 95), CPU pods included, unweighted.
POPULARITY = 0.95


@dataclass(frozen=True, slots=True)
class TargetShapes:
    """The target workload: pod shapes and how many pods of each it has."""

    cpu: Ints
    milli: Ints  # per GPU; 0 for CPU pods
    gpus: Ints
    models: tuple[tuple[str, ...], ...]
    count: Ints  # pods of each shape in the workload

    @property
    def share(self) -> Floats:
        """Each shape's share of the pods covered (sums to 1)."""
        out: Floats = self.count / self.count.sum()
        return out

    def __len__(self) -> int:
        return len(self.cpu)


def target_shapes(pods: PodList, popularity: float = POPULARITY) -> TargetShapes:
    """The most popular pod shapes covering `popularity` of `pods`, shares renormalized.

    Order: most pods first; equal counts put the larger (cpu, milli, gpus, models) first, the
    artifact's order, which decides which shapes make the cut at the boundary.
    """
    if not 0 < popularity <= 1:
        raise ConfigError(f"popularity: expected a share in (0, 1], got {popularity}")
    if len(pods) == 0:
        raise ConfigError("target workload: no pods to take shapes from")
    keys = zip(
        pods.cpu.tolist(), pods.milli.tolist(), pods.gpus.tolist(),
        ("|".join(m) for m in pods.models), strict=True,
    )  # fmt: skip
    counts = Counter(keys)
    ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    total = len(pods)
    chosen: list[tuple[tuple[int, int, int, str], int]] = []
    covered = 0
    for key, n in ranked:
        if covered >= popularity * total:
            break
        chosen.append((key, n))
        covered += n
    return TargetShapes(
        cpu=np.array([k[0] for k, _ in chosen], dtype=np.int64),
        milli=np.array([k[1] for k, _ in chosen], dtype=np.int64),
        gpus=np.array([k[2] for k, _ in chosen], dtype=np.int64),
        models=tuple(tuple(k[3].split("|")) if k[3] else () for k, _ in chosen),
        count=np.array([n for _, n in chosen], dtype=np.int64),
    )


def fragmentation(
    left: Ints, cpu_left: Ints, node_models: npt.NDArray[np.object_], target: TargetShapes
) -> Floats:
    """Expected GPU milli fragment of each row (a node state) for the target workload.

    `left[r, g]` is the milli left on GPU g in row r (0 for GPUs the node lacks), `cpu_left[r]`
    its CPU left, `node_models[r]` its GPU model. Summed in integers (pod counts x milli), then
    divided once, so equal states give bit-equal values whatever the summation order.
    """
    total = left.sum(axis=1)
    thresholds, of_shape = np.unique(target.milli, return_inverse=True)
    below = left[:, :, None] < thresholds[None, None, :]  # [row, gpu, threshold]
    enough = (~below).sum(axis=1)  # GPUs with at least the threshold left
    small = np.where(below, left[:, :, None], 0).sum(axis=1)  # milli on the other GPUs
    shape_gpu = target.milli > 0
    fits = (enough[:, of_shape] >= target.gpus) & (cpu_left[:, None] >= target.cpu) & shape_gpu
    for k in np.flatnonzero(shape_gpu & np.array([bool(m) for m in target.models])):
        fits[:, k] &= np.isin(node_models, list(target.models[k]))
    amount = np.where(fits, small[:, of_shape], total[:, None])
    out: Floats = (amount * target.count).sum(axis=1) / target.count.sum()
    return out
