"""Small GPU-sharing clusters for the placement tests."""

from __future__ import annotations

import numpy as np

from gpufleet.fleet.sharing import SharedNodes, SharePlacement, SharingState
from gpufleet.workload.pods import Pod


def three_nodes(rank: list[int] | None = None) -> SharingState:
    """n0: T4 x2, n1: T4 x4 with 600 milli of GPU 0 taken, n2: V100 x2.

    CPU 8, 16 and 8 cores; memory is ample. GPU milli left: [1000, 1000], [400, 1000, 1000,
    1000], [1000, 1000].
    """
    nodes = SharedNodes.of([("T4", 2, 8000, 1000), ("T4", 4, 16000, 1000), ("V100", 2, 8000, 1000)])
    state = SharingState(nodes, None if rank is None else np.array(rank, dtype=np.int64))
    state.place(Pod(cpu=0, memory=0, gpus=1, milli=600), SharePlacement(1, (0,)))
    return state
