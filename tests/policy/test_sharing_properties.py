"""Every sharing placement, on random clusters and pods: never more than 1000 milli from a GPU,
never a GPU model a pod did not allow, and "no fit" only when no node fits."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gpufleet.fleet.sharing import SharedNodes, SharingState
from gpufleet.policy.fragmentation import target_shapes
from gpufleet.policy.share_fit import fits
from gpufleet.policy.sharing import SHARE_PLACEMENTS
from gpufleet.workload.pods import Pod, PodList

MODELS = ("T4", "V100", "A100")

nodes_st = st.lists(
    st.tuples(st.sampled_from(MODELS), st.integers(1, 8), st.integers(0, 64), st.integers(0, 64)),
    min_size=1,
    max_size=6,
)


@st.composite
def pods_st(draw: st.DrawFn) -> Pod:
    cpu, memory = draw(st.integers(0, 16)) * 1000, draw(st.integers(0, 16))
    kind = draw(st.sampled_from(["cpu", "share", "whole"]))
    models = tuple(draw(st.sets(st.sampled_from(MODELS), max_size=2)))
    if kind == "cpu":
        return Pod(cpu, memory)
    if kind == "share":
        return Pod(cpu, memory, 1, draw(st.integers(1, 999)), models)
    return Pod(cpu, memory, draw(st.sampled_from([1, 2, 4, 8])), 1000, models)


@given(
    rows=nodes_st,
    pods=st.lists(pods_st(), min_size=1, max_size=25),
    name=st.sampled_from(sorted(SHARE_PLACEMENTS)),
    seed=st.integers(0, 10),
)
def test_placements_keep_every_invariant(
    rows: list[tuple[str, int, int, int]], pods: list[Pod], name: str, seed: int
) -> None:
    nodes = SharedNodes.of([(m, g, c * 1000, mem) for m, g, c, mem in rows])
    rng = random.Random(seed)
    rank = list(range(len(rows)))
    rng.shuffle(rank)
    state = SharingState(nodes, np.array(rank))
    policy = SHARE_PLACEMENTS[name][0]
    target = target_shapes(PodList.of(pods))
    for pod in pods:
        could = bool(fits(pod, state.view).any())
        where = policy(pod, state.view, rng, target)
        assert (where is not None) == could
        if where is not None:
            assert not pod.models or nodes.models[where.node] in pod.models
            before = state.left[where.node].copy()
            state.place(pod, where)  # raises InvariantError on any over-allocation
            taken = before - state.left[where.node]
            assert sorted(taken.tolist()) == sorted(
                [pod.milli] * pod.gpus + [0] * (len(taken) - pod.gpus)
            )
        state.check()
        assert (state.left >= 0).all() and (state.left <= 1000).all()
