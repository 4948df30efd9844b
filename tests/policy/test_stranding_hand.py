"""CPU-stranded GPU milli and `fgd-cpu`'s choice, computed by hand on two-node clusters.

Target workload: one GPU pod of (4 cores, 1 whole GPU) and one CPU pod of 4 cores, so the GPU
pods bring 4000 CPU milli per 1000 GPU milli. Node A is CPU-poor, node B CPU-rich; both are
2 x T4, and the ranks are set so that FGD's tie goes to the other node than fgd-cpu's choice.
"""

from __future__ import annotations

import random

import numpy as np

from gpufleet.fleet.sharing import SharedNodes, SharePlacement, SharingState
from gpufleet.policy.fgd import fgd, fgd_cpu
from gpufleet.policy.fragmentation import TargetShapes, target_shapes
from gpufleet.policy.stranding import cpu_per_gpu, fragmentation_and_stranding, stranded
from gpufleet.workload.pods import Pod, PodList

RNG = random.Random(0)


def _target() -> TargetShapes:
    return target_shapes(
        PodList.of([Pod(cpu=4000, memory=0, gpus=1, milli=1000), Pod(cpu=4000, memory=0)])
    )


def _two_nodes(cpu_a: int, rank: list[int]) -> SharingState:
    nodes = SharedNodes.of([("T4", 2, cpu_a, 1000), ("T4", 2, 32000, 1000)])
    return SharingState(nodes, np.array(rank, dtype=np.int64))


def test_cpu_per_gpu_leaves_cpu_pods_out() -> None:
    assert cpu_per_gpu(_target()) == (4000, 1000)


def test_stranded_by_hand() -> None:
    """[1000, 500] left, 3 cores: 3000 / 4 = 750 GPU milli fed, 1500 - 750 = 750 stranded;
    with 8 cores all 1500 are fed (none stranded, never negative)."""
    rows = np.array([[1000, 500], [1000, 500]], dtype=np.int64)
    got = stranded(rows, np.array([3000, 8000], dtype=np.int64), 4000, 1000)
    assert got.tolist() == [750.0, 0.0]
    assert stranded(rows, np.array([0, 0], dtype=np.int64), 0, 1000).tolist() == [0.0, 0.0]


def test_measure_adds_stranding_to_fragmentation() -> None:
    """A: [1000, 1000], 6 cores. Fragmentation: the GPU shape fits with no small GPU (0), the
    CPU pod counts all 2000 left, weight 1/2 each: 1000. Stranded: 2000 - 6000 / 4 = 500."""
    rows = np.array([[1000, 1000]], dtype=np.int64)
    models = np.array(["T4"], dtype=object)
    got = fragmentation_and_stranding(rows, np.array([6000]), models, _target())
    assert got.tolist() == [1500.0]


def test_a_cpu_pod_goes_to_the_cpu_rich_node() -> None:
    """A CPU pod of 4 cores. Fragmentation does not change on either node (Delta 0, score 50),
    so FGD takes the lower rank, A. fgd-cpu: on A (8 cores) stranding grows from 0 to
    2000 - 4000 / 4 = 1000, score int(100 sigmoid(-1)) = 26; on B it stays 0: B wins."""
    cpu_pod = Pod(cpu=4000, memory=0)
    assert fgd(cpu_pod, _two_nodes(8000, [0, 1]).view, RNG, _target()) == SharePlacement(0)
    assert fgd_cpu(cpu_pod, _two_nodes(8000, [0, 1]).view, RNG, _target()) == SharePlacement(1)


def test_a_cpu_light_shared_pod_goes_to_the_cpu_poor_node() -> None:
    """A 500-milli pod asking for no CPU. Fragmentation does not change on either node (the
    whole-GPU shape gains a 500 fragment, the CPU-pod shape loses 500), so FGD ties and takes
    B by rank. On A (6 cores) stranding falls from 2000 - 1500 = 500 to 1500 - 1500 = 0:
    Delta -500, score int(100 sigmoid(0.5)) = 62, against 50 on B: fgd-cpu takes A."""
    light = Pod(cpu=0, memory=0, gpus=1, milli=500)
    assert fgd(light, _two_nodes(6000, [1, 0]).view, RNG, _target()) == SharePlacement(1, (0,))
    assert fgd_cpu(light, _two_nodes(6000, [1, 0]).view, RNG, _target()) == SharePlacement(0, (0,))
