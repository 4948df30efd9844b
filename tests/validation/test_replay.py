"""The FGD replay: arrival order (shuffle, grow or cut to a target), allocation at a percent."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gpufleet.errors import ConfigError
from gpufleet.fleet.sharing import SharedNodes
from gpufleet.policy.sharing import best_fit
from gpufleet.validation.replay import Replay, arrival_order, node_rank, replay
from gpufleet.workload.pods import Pod, PodList

POD = Pod(cpu=0, memory=0, gpus=1, milli=500)


def test_order_grows_to_the_target_and_never_past_it() -> None:
    pods = PodList.of([POD, Pod(cpu=1, memory=0)])
    order = arrival_order(pods, capacity_milli=2000, rng=random.Random(1), tune=1.3)
    assert int(order.total_milli.sum()) == 2500  # 2600 allowed; one more 500 would pass it
    assert len(order) >= 6  # the 2 originals, 4 more GPU pods, and any CPU pods drawn


def test_order_is_cut_to_the_target() -> None:
    pods = PodList.of([POD] * 10)
    order = arrival_order(pods, capacity_milli=2000, rng=random.Random(1), tune=1.3)
    assert int(order.total_milli.sum()) == 2500 and len(order) == 5


def test_order_is_a_shuffle_when_on_target() -> None:
    pods = PodList.of([Pod(cpu=i, memory=0, gpus=1, milli=500) for i in range(4)])
    order = arrival_order(pods, capacity_milli=2000, rng=random.Random(3), tune=1.0)
    assert sorted(order.cpu.tolist()) == [0, 1, 2, 3]
    with pytest.raises(ConfigError):
        arrival_order(pods, 2000, random.Random(0), tune=0)


def test_allocation_at_rounds_like_the_artifact() -> None:
    """Capacity 1000: arrivals 100%, 129.6%, 130.4%, 131%; rounded 100, 130, 130, 131. At 130
    the mean of the two allocations 90.00 and 91.00 %."""
    r = Replay(1000, np.array([1000, 1296, 1304, 1310]), np.array([1000, 900, 910, 920]),
               np.ones(4, dtype=np.bool_))  # fmt: skip
    assert r.allocation_at(130) == 90.5
    assert r.allocation_at(129) == 90.5  # nothing at 129: those within 1 (130, 130)
    with pytest.raises(ConfigError):
        r.allocation_at(50)


def test_replay_records_each_pod() -> None:
    nodes = SharedNodes.of([("T4", 1, 1000, 10)])
    pods = PodList.of([POD, POD, POD])
    r = replay(nodes, pods, best_fit, random.Random(0), check=True)
    assert r.arrived.tolist() == [500, 1000, 1500]
    assert r.used.tolist() == [500, 1000, 1000]
    assert r.placed.tolist() == [True, True, False]
    assert sorted(node_rank(5, random.Random(0)).tolist()) == [0, 1, 2, 3, 4]
