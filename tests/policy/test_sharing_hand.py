"""Sharing placements on a three-node cluster, every score worked out by hand.

The cluster (sharing_cluster.three_nodes): n0 T4 [1000, 1000] milli left, 8 cores; n1 T4
[400, 1000, 1000, 1000], 16 cores; n2 V100 [1000, 1000], 8 cores. Scores follow the artifact
(best-fit: 100 x (1 - (cpu after / 128000 + gpu after / 8000) / 2), truncated, ...).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from sharing_cluster import three_nodes

from gpufleet.errors import ConfigError
from gpufleet.fleet.sharing import SharedNodes, SharePlacement, SharingState
from gpufleet.policy.share_fit import best_fit_score
from gpufleet.policy.sharing import (
    SHARE_PLACEMENTS,
    best_fit,
    dot_product,
    first_fit,
    gpu_clustering,
    packing,
    random_fit,
    share_placement,
    worst_fit,
)
from gpufleet.workload.pods import Pod

RNG = random.Random(0)
SHARE_300 = Pod(cpu=1000, memory=0, gpus=1, milli=300)
WHOLE_1 = Pod(cpu=1000, memory=0, gpus=1, milli=1000)
WHOLE_2 = Pod(cpu=4000, memory=0, gpus=2, milli=1000)


def test_best_fit_scores_and_rank_breaks_the_tie() -> None:
    """n0: cpu 7000/128000/2 = 0.02734, gpu 1700/8000/2 = 0.10625 -> 86.64 -> 86; n1: 15000 and
    3100 -> 0.05859 + 0.19375 -> 74.77 -> 74; n2 = n0 = 86. n0 and n2 tie: the lower rank wins."""
    state = three_nodes()
    assert best_fit_score(SHARE_300, state.view, np.arange(3)).tolist() == [86, 74, 86]
    assert best_fit(SHARE_300, state.view, RNG) == SharePlacement(0, (0,))
    assert best_fit(SHARE_300, three_nodes(rank=[2, 1, 0]).view, RNG) == SharePlacement(2, (0,))


def test_packing_prefers_a_shared_gpu_then_a_used_node() -> None:
    """A 300-milli pod: n1's GPU 0 (400 left) scores 100 - (40 // 10) = 96, untouched 2-GPU nodes
    max(33 - 2, 2) = 31. A whole GPU: used n1 scores max(50 - 1, 33) = 49 and takes GPU 1."""
    state = three_nodes()
    assert packing(SHARE_300, state.view, RNG) == SharePlacement(1, (0,))
    assert packing(WHOLE_1, state.view, RNG) == SharePlacement(1, (1,))


def test_dot_product_prefers_the_smaller_product() -> None:
    """2 GPUs, 4 cores: n0 dot = 0.0625 x 0.03125 + 0.25 x 0.25 = 0.06445 -> 100 x (1 - 0.0322)
    = 96; n1: 0.125 x 0.03125 + 0.425 x 0.25 = 0.11016 -> 94; n2 = 96: n0 by rank."""
    state = three_nodes()
    assert dot_product(WHOLE_2, state.view, RNG) == SharePlacement(0, (0, 1))


def test_worst_fit_spreads_and_first_fit_takes_the_first() -> None:
    """Worst fit: cpu + 100 x gpu left after is 107000 on n0 and n2, 255000 on n1."""
    state = three_nodes()
    assert worst_fit(WHOLE_1, state.view, RNG) == SharePlacement(1, (1,))
    assert first_fit(SHARE_300, state.view, RNG) == SharePlacement(0, (0,))


def test_gpu_clustering_groups_pods_of_one_kind() -> None:
    """n1 holds one share pod (3400 milli left), n0 and n2 none (2000 left). Fill term
    25 x (8000 - left) // 8000: 14 on n1, 18 on n0 and n2. A share pod: n1 holds only its kind,
    75 + 14 = 89; empty nodes 25 + 18 = 43. A whole GPU: n1 holds only another kind, 0 + 14;
    n0 and n2 43, n0 by rank. Once n1 holds both kinds a share pod scores 50 + 17 = 67 there
    (2400 left), still above 43; a CPU pod scores 0 everywhere and goes by rank."""
    state = three_nodes()
    assert state.view.affinity[1].tolist() == [1, 0, 0, 0, 0]
    assert gpu_clustering(SHARE_300, state.view, RNG) == SharePlacement(1, (0,))
    assert gpu_clustering(WHOLE_1, state.view, RNG) == SharePlacement(0, (0,))
    state.place(WHOLE_1, SharePlacement(1, (1,)))
    assert state.view.affinity[1].tolist() == [1, 1, 0, 0, 0]
    assert gpu_clustering(SHARE_300, state.view, RNG) == SharePlacement(1, (0,))
    cpu_pod = Pod(cpu=1000, memory=0)
    assert gpu_clustering(cpu_pod, three_nodes(rank=[2, 0, 1]).view, RNG) == SharePlacement(1)


def test_gpu_clustering_prefers_the_fuller_node_of_its_kind() -> None:
    """Two T4 nodes of 4 and 2 GPUs, each holding one whole-GPU pod: both hold only this kind
    (75), fill 25 x 5000 // 8000 = 15 on the 4-GPU node (3000 left) and 25 x 7000 // 8000 = 21
    on the 2-GPU node (1000 left): the fuller one wins although its rank is higher."""
    nodes = SharedNodes.of([("T4", 4, 8000, 1000), ("T4", 2, 8000, 1000)])
    state = SharingState(nodes, np.array([0, 1]))
    state.place(WHOLE_1, SharePlacement(0, (0,)))
    state.place(WHOLE_1, SharePlacement(1, (0,)))
    assert gpu_clustering(WHOLE_1, state.view, RNG) == SharePlacement(1, (1,))


def test_gpu_spec_is_obeyed() -> None:
    v100 = Pod(cpu=1000, memory=0, gpus=1, milli=300, models=("V100",))
    for name, (policy, _) in SHARE_PLACEMENTS.items():
        where = policy(v100, three_nodes().view, random.Random(1), _target())
        assert where is not None and where.node == 2, name


def test_no_fit_is_none() -> None:
    too_big = Pod(cpu=1000, memory=0, gpus=8, milli=1000)
    for policy, _ in SHARE_PLACEMENTS.values():
        assert policy(too_big, three_nodes().view, random.Random(1), _target()) is None
    hungry = Pod(cpu=17000, memory=0)
    assert best_fit(hungry, three_nodes().view, RNG) is None


def test_random_takes_a_fitting_node_and_gpu() -> None:
    seen = set()
    for seed in range(30):
        where = random_fit(SHARE_300, three_nodes().view, random.Random(seed))
        assert where is not None
        seen.add(where.node)
    assert seen == {0, 1, 2}


def test_unknown_placement_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid: best-fit"):
        share_placement("tetris")


def _target():  # type: ignore[no-untyped-def]
    from test_fragmentation_hand import small_target

    return small_target()
