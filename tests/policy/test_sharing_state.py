"""The sharing state refuses bad placements and bad input, with one clear error each."""

from __future__ import annotations

import numpy as np
import pytest
from sharing_cluster import three_nodes

from gpufleet.errors import ConfigError, InvariantError
from gpufleet.fleet.sharing import SharedNodes, SharePlacement, SharingState
from gpufleet.workload.pods import Pod


def test_over_allocating_a_gpu_is_refused() -> None:
    state = three_nodes()  # n1 GPU 0 has 400 left
    with pytest.raises(InvariantError, match="cannot give 500"):
        state.place(Pod(cpu=0, memory=0, gpus=1, milli=500), SharePlacement(1, (0,)))
    with pytest.raises(InvariantError, match="distinct GPUs"):
        state.place(Pod(cpu=0, memory=0, gpus=2, milli=1000), SharePlacement(0, (1, 1)))
    with pytest.raises(InvariantError, match="may not run"):
        state.place(Pod(0, 0, 1, 1000, ("V100",)), SharePlacement(0, (0,)))
    with pytest.raises(InvariantError, match="lacks CPU"):
        state.place(Pod(cpu=9000, memory=0), SharePlacement(0))
    state.check()
    assert state.used_milli == 600


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 0, 0, 0), "cpu and memory"),
        ((0, 0, 2, 500), "exactly one GPU"),
        ((0, 0, 1, 0), "both 0"),
        ((0, 0, 1, 1200), "milli 0-1000"),
    ],
)
def test_bad_pods(args: tuple[int, int, int, int], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Pod(*args)


def test_bad_nodes_and_rank() -> None:
    with pytest.raises(ConfigError, match=">= 0"):
        SharedNodes.of([("T4", -1, 0, 0)])
    with pytest.raises(ConfigError, match="permutation"):
        SharingState(SharedNodes.of([("T4", 1, 0, 0)] * 2), np.array([0, 0]))
