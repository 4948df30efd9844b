"""A cluster whose GPUs are shared by thousandths: nodes, what is left on them, and placing pods.

The openb cluster of the FGD paper (ATC'23) is 1,213 nodes of 1-8 GPUs of one model each,
with CPU and memory; a pod takes CPU, memory and thousandths ("milli") of one GPU or whole
GPUs. `SharingState` is the one mutable thing: per-GPU milli left, CPU and memory left per
node, all numpy arrays so policies score every node at once. Policies see `SharingView`,
whose arrays are read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpufleet.errors import ConfigError, InvariantError
from gpufleet.workload.pods import MILLI, Pod

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SharedNodes:
    """What exists: per node, its GPU model, GPU count, CPU (milli) and memory (MiB)."""

    names: tuple[str, ...]
    models: tuple[str, ...]  # GPU model of each node ("" for a node without GPUs)
    gpus: Ints
    cpu: Ints
    memory: Ints

    def __post_init__(self) -> None:
        n = len(self.names)
        if not (len(self.models) == len(self.gpus) == len(self.cpu) == len(self.memory) == n):
            raise ConfigError("shared nodes: every column needs one value per node")
        if n and (self.gpus.min() < 0 or self.cpu.min() < 0 or self.memory.min() < 0):
            raise ConfigError("shared nodes: expected GPUs, CPU and memory >= 0 on every node")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def width(self) -> int:
        """GPUs on the largest node: the columns of the per-GPU arrays."""
        return int(self.gpus.max()) if len(self.gpus) else 0

    @property
    def total_milli(self) -> int:
        """GPU thousandths in the whole cluster."""
        return int(self.gpus.sum()) * MILLI

    @staticmethod
    def of(rows: Sequence[tuple[str, int, int, int]]) -> SharedNodes:
        """Nodes from (model, GPUs, CPU milli, memory MiB) rows, named node-0, node-1, ..."""
        return SharedNodes(
            names=tuple(f"node-{i}" for i in range(len(rows))),
            models=tuple(r[0] for r in rows),
            gpus=np.array([r[1] for r in rows], dtype=np.int64),
            cpu=np.array([r[2] for r in rows], dtype=np.int64),
            memory=np.array([r[3] for r in rows], dtype=np.int64),
        )


@dataclass(frozen=True, slots=True)
class SharePlacement:
    """Where a pod goes: a node and the GPU indices on it (empty for a CPU pod)."""

    node: int
    gpus: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SharingView:
    """Read-only capacity left, the only thing a sharing placement policy sees.

    `left[n, g]` is the milli left on GPU g of node n; GPUs a node does not have are 0 and
    never fit anything. The arrays are views of the state's arrays, so they stay current.
    `rank[n]` orders nodes for breaking ties between equal scores (lowest wins).
    `affinity[n, k]` counts the GPU pods on node n by kind: k whole GPUs (k >= 1), or a share
    of one GPU (k = 0); GpuClustering groups pods of one kind on the same nodes.
    """

    nodes: SharedNodes
    left: Ints  # [node, gpu] milli left
    cpu_left: Ints
    memory_left: Ints
    rank: Ints
    model_index: Ints  # each node's model as an index into sorted(set(nodes.models))
    sorted_left: Ints  # each node's GPU milli left, largest first
    state_id: Ints  # equal ids <=> equal (model, CPU left, sorted GPU milli left)
    affinity: Ints  # [node, kind] GPU pods placed; kind = whole GPUs asked, 0 for a share

    def model_ok(self, models: tuple[str, ...]) -> Bools:
        """Nodes whose GPU model a pod allowing `models` may use (all when empty)."""
        if not models:
            return np.ones(len(self.nodes), dtype=np.bool_)
        return np.isin(np.array(self.nodes.models, dtype=object), list(models))


def kind_of(pod: Pod) -> int:
    """A GPU pod's kind for `SharingView.affinity`: whole GPUs asked, 0 for a share of one."""
    return 0 if pod.shared else pod.gpus


def _frozen(a: Ints) -> Ints:
    v = a.view()
    v.flags.writeable = False
    return v


class SharingState:
    """Capacity left on every node and GPU; `place` is the only way it changes.

    `rank` is a permutation of the nodes that breaks ties between equally scored nodes, lowest
    first (node order when not given). The FGD artifact's Kubernetes fork picks the smallest
    node name among the best, and names carry a random prefix drawn once per run, so there a
    tie goes to a node chosen at random once per run and kept for the whole run.
    """

    def __init__(self, nodes: SharedNodes, rank: Ints | None = None) -> None:
        self.nodes = nodes
        width = max(nodes.width, 1)
        self.left: Ints = np.zeros((len(nodes), width), dtype=np.int64)
        self.left[np.arange(width)[None, :] < nodes.gpus[:, None]] = MILLI
        self.cpu_left: Ints = nodes.cpu.copy()
        self.memory_left: Ints = nodes.memory.copy()
        self.rank: Ints = np.arange(len(nodes), dtype=np.int64) if rank is None else rank.copy()
        if sorted(self.rank.tolist()) != list(range(len(nodes))):
            raise ConfigError("rank: expected a permutation of the node indices")
        models = np.array(nodes.models, dtype=object)
        self.model_index: Ints = np.unique(models, return_inverse=True)[1].reshape(-1)
        self.sorted_left: Ints = -np.sort(-self.left, axis=1)
        # Fragmentation (FGD) depends only on this state, so nodes in equal states are scored
        # once; ids are kept here, per placed pod, rather than found by sorting every time.
        self._ids: dict[tuple[int, ...], int] = {}
        self.state_id: Ints = np.zeros(len(nodes), dtype=np.int64)
        self.affinity: Ints = np.zeros((len(nodes), width + 1), dtype=np.int64)
        for n in range(len(nodes)):
            self._restate(n)
        self.view = SharingView(
            nodes,
            _frozen(self.left),
            _frozen(self.cpu_left),
            _frozen(self.memory_left),
            _frozen(self.rank),
            _frozen(self.model_index),
            _frozen(self.sorted_left),
            _frozen(self.state_id),
            _frozen(self.affinity),
        )

    def _restate(self, n: int) -> None:
        self.sorted_left[n] = -np.sort(-self.left[n])
        key = (int(self.model_index[n]), int(self.cpu_left[n]), *self.sorted_left[n].tolist())
        self.state_id[n] = self._ids.setdefault(key, len(self._ids))

    @property
    def used_milli(self) -> int:
        """GPU thousandths allocated to pods, cluster-wide."""
        return self.nodes.total_milli - int(self.left.sum())

    def place(self, pod: Pod, where: SharePlacement) -> None:
        """Take the pod's request from the node and GPUs; a bad placement is a bug."""
        n = where.node
        if not 0 <= n < len(self.nodes):
            raise InvariantError(f"placement on unknown node {n}")
        if len(set(where.gpus)) != len(where.gpus) or len(where.gpus) != pod.gpus:
            raise InvariantError(f"pod {pod} needs {pod.gpus} distinct GPUs, got {where.gpus}")
        if pod.models and self.nodes.models[n] not in pod.models:
            raise InvariantError(f"pod {pod} may not run on {self.nodes.models[n]} node {n}")
        if self.cpu_left[n] < pod.cpu or self.memory_left[n] < pod.memory:
            raise InvariantError(f"node {n} lacks CPU or memory for pod {pod}")
        for g in where.gpus:
            if not 0 <= g < self.nodes.gpus[n] or self.left[n, g] < pod.milli:
                raise InvariantError(f"GPU {g} of node {n} cannot give {pod.milli} milli")
        for g in where.gpus:
            self.left[n, g] -= pod.milli
        self.cpu_left[n] -= pod.cpu
        self.memory_left[n] -= pod.memory
        if pod.gpus:
            self.affinity[n, kind_of(pod)] += 1
        self._restate(n)

    def check(self) -> None:
        """No GPU gives more than 1000 milli or less than 0; no node gives more CPU or memory
        than it has."""
        width = self.left.shape[1]
        real = np.arange(width)[None, :] < self.nodes.gpus[:, None]
        if (self.left < 0).any() or (self.left > MILLI).any() or (self.left[~real] != 0).any():
            raise InvariantError("a GPU is over-allocated or a missing GPU holds capacity")
        if (self.cpu_left < 0).any() or (self.memory_left < 0).any():
            raise InvariantError("a node gives more CPU or memory than it has")
        if (self.cpu_left > self.nodes.cpu).any() or (self.memory_left > self.nodes.memory).any():
            raise InvariantError("a node has more CPU or memory left than it has")
        if (self.affinity < 0).any() or ((self.affinity.sum(axis=1) > 0) & ~real.any(axis=1)).any():
            raise InvariantError("a pod count is negative or a node without GPUs holds GPU pods")
