"""CPU-stranded GPU milli and `fgd-cpu`'s choice: by hand on two-node clusters, and as
properties (never negative, never grows with more CPU; where CPU cannot run short, fgd-cpu
chooses exactly as fgd).

Target workload: one GPU pod of (4 cores, 1 whole GPU) and one CPU pod of 4 cores, so the GPU
pods bring 4000 CPU milli per 1000 GPU milli. Node A is CPU-poor, node B CPU-rich; both are
2 x T4, and the ranks are set so that FGD's tie goes to the other node than fgd-cpu's choice.
"""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

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


@given(
    left=st.lists(st.lists(st.integers(0, 1000), min_size=4, max_size=4), min_size=1, max_size=5),
    cpu=st.lists(st.integers(0, 64_000), min_size=5, max_size=5),
    more=st.integers(0, 64_000),
    rate=st.tuples(st.integers(1, 20_000), st.integers(1, 8_000)),
)
def test_stranded_is_never_negative_and_never_grows_with_cpu(
    left: list[list[int]], cpu: list[int], more: int, rate: tuple[int, int]
) -> None:
    rows = np.array(left, dtype=np.int64)
    cpu_left = np.array(cpu[: len(left)], dtype=np.int64)
    got = stranded(rows, cpu_left, *rate)
    assert (got >= 0).all() and (got <= rows.sum(axis=1)).all()
    assert (stranded(rows, cpu_left + more, *rate) <= got).all()


@given(
    gpus=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=5),
    pods=st.lists(
        st.tuples(st.integers(0, 8), st.sampled_from([0, 1, 2]), st.integers(1, 1000)),
        min_size=1,
        max_size=20,
    ),
    seed=st.integers(0, 5),
)
def test_with_cpu_never_short_fgd_cpu_chooses_as_fgd(
    gpus: list[int], pods: list[tuple[int, int, int]], seed: int
) -> None:
    """Nodes with far more CPU than the pods could take: nothing ever strands, so the two
    placements see the same gradients and make the same choices, pod after pod."""
    workload = [
        Pod(cpu * 1000, 0, n, 1000 if n != 1 or milli == 1000 else milli) if n else Pod(cpu, 0)
        for cpu, n, milli in pods
    ]
    target = target_shapes(PodList.of(workload))
    nodes = SharedNodes.of([("T4", g, 10**12, 1000) for g in gpus])  # >= 1.25e8 GPU milli fed
    rank = list(range(len(gpus)))
    random.Random(seed).shuffle(rank)
    a, b = SharingState(nodes, np.array(rank)), SharingState(nodes, np.array(rank))
    for pod in workload:
        chosen = fgd(pod, a.view, RNG, target)
        assert fgd_cpu(pod, b.view, RNG, target) == chosen
        if chosen is not None:
            a.place(pod, chosen)
            b.place(pod, chosen)
