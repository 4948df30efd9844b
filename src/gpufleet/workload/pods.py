"""Pods that may share a GPU: the requests of a fractional-GPU cluster (Alibaba openb, FGD).

A `Job` asks for whole GPUs; a `Pod` asks for CPU, memory and either a share of one GPU
(`milli` < 1000 thousandths) or whole GPUs (`milli` == 1000), optionally of named GPU models.
`PodList` holds many pods as columns, so a replay of 10,000 pods never builds 10,000 objects
it does not need and numpy can total them at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpufleet.errors import ConfigError

MILLI = 1000  # thousandths of one GPU: a whole GPU

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Pod:
    """One pod's request.

    `milli` is what each of its `gpus` GPUs gives it: a pod with `milli` < 1000 shares one GPU
    with others, so it asks for exactly one GPU (the artifact refuses a pod asking for several
    shared GPUs). `models` are the GPU models it may run on; empty means any.
    """

    cpu: int  # milli-CPUs
    memory: int  # MiB
    gpus: int = 0
    milli: int = 0
    models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = pod_problem(self.cpu, self.memory, self.gpus, self.milli)
        if problem:
            raise ConfigError(f"pod {self}: {problem}")

    @property
    def shared(self) -> bool:
        """True when the pod takes a share of one GPU rather than whole GPUs."""
        return 0 < self.milli < MILLI

    @property
    def total_milli(self) -> int:
        """GPU thousandths the pod takes from the cluster."""
        return self.gpus * self.milli


def pod_problem(cpu: int, memory: int, gpus: int, milli: int) -> str:
    """Why a request is not a valid pod, or "" when it is (shared by Pod and the readers)."""
    if cpu < 0 or memory < 0:
        return "expected cpu and memory >= 0"
    if gpus < 0 or not 0 <= milli <= MILLI:
        return "expected gpus >= 0 and milli 0-1000"
    if (gpus == 0) != (milli == 0):
        return "expected gpus and milli both 0 (a CPU pod) or both > 0"
    if gpus > 1 and milli < MILLI:
        return "a pod sharing a GPU (milli < 1000) asks for exactly one GPU"
    return ""


@dataclass(frozen=True, slots=True)
class PodList:
    """Pods as columns, in arrival order; `models` holds one allowed-models tuple per pod."""

    cpu: Ints
    memory: Ints
    gpus: Ints
    milli: Ints
    models: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return len(self.cpu)

    def __getitem__(self, i: int) -> Pod:
        return Pod(
            int(self.cpu[i]), int(self.memory[i]), int(self.gpus[i]), int(self.milli[i]),
            self.models[i],
        )  # fmt: skip

    def __iter__(self) -> Iterator[Pod]:
        return (self[i] for i in range(len(self)))

    @property
    def total_milli(self) -> Ints:
        """GPU thousandths each pod takes."""
        out: Ints = self.gpus * self.milli
        return out

    def take(self, order: Sequence[int] | Ints) -> PodList:
        """The pods at positions `order`, in that order (repeats allowed)."""
        idx = np.asarray(order, dtype=np.int64)
        return PodList(
            self.cpu[idx], self.memory[idx], self.gpus[idx], self.milli[idx],
            tuple(self.models[i] for i in idx.tolist()),
        )  # fmt: skip

    @staticmethod
    def of(pods: Sequence[Pod]) -> PodList:
        """Columns of a few pods (tests, examples)."""

        def col(f: str) -> Ints:
            return np.array([getattr(p, f) for p in pods], dtype=np.int64)

        return PodList(
            col("cpu"), col("memory"), col("gpus"), col("milli"), tuple(p.models for p in pods)
        )
