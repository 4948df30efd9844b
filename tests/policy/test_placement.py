"""Placement: hand-checked choices and completeness against a scanning reference."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from gpufleet.fleet.state import Allocation, AllocationState
from gpufleet.policy.placement import PLACEMENTS, first_fit, topo_best_fit, worst_fit
from strategies import make_fleet


def _state(*clusters: tuple[str, str, int, int, int, int]) -> AllocationState:
    return AllocationState(make_fleet(*clusters))


def test_best_fit_picks_the_tightest_domain() -> None:
    """Domains 0..3 of 8 GPUs; take 5 from domain 0 and 1 from domain 1 (3 and 7 left).

    A 2-GPU job goes to domain 0 (3 free, leaves 1) rather than 1 (7) or 2, 3 (8).
    Worst fit spreads it to a wholly free domain instead.
    """
    st_ = _state(("c", "H100", 32, 8, 8, 4))
    st_.take(100, Allocation(0, ((0, 5),)))
    st_.take(101, Allocation(0, ((1, 1),)))
    assert topo_best_fit(2, "domain", (0,), st_) == Allocation(0, ((0, 2),))
    assert worst_fit(2, "domain", (0,), st_).parts[0][0] in (2, 3)


def test_fewest_domains_then_one_block() -> None:
    """Two blocks of two 8-GPU domains. Block 0: domains 0 (4 free) and 1 (8 free);
    block 1: domains 2 and 3 (8 free each). A 16-GPU gang takes two whole domains in block 1
    (2 domains, 1 block) rather than domains 0+1+... of block 0 (only 12 free there).
    """
    st_ = _state(("c", "H100", 32, 8, 8, 2))
    st_.take(100, Allocation(0, ((0, 4),)))
    alloc = topo_best_fit(16, "block", (0,), st_)
    assert alloc is not None
    assert sorted(alloc.parts) == [(2, 8), (3, 8)]


def test_gang_spanning_blocks_uses_whole_domains() -> None:
    """A 24-GPU gang on four 8-GPU domains in two blocks must span both blocks with exactly
    three whole domains; topology "block" cannot hold it (16 GPUs per block)."""
    st_ = _state(("c", "H100", 32, 8, 8, 2))
    alloc = topo_best_fit(24, "any", (0,), st_)
    assert alloc is not None and alloc.gpus == 24 and len(alloc.parts) == 3
    assert topo_best_fit(24, "block", (0,), st_) is None


def test_model_preference_breaks_ties() -> None:
    """Equal fits in two clusters: the job's first listed model wins."""
    st_ = _state(("h", "H100", 8, 8, 8, 1), ("b", "B200", 8, 8, 8, 1))
    assert topo_best_fit(8, "domain", (1, 0), st_) == Allocation(1, ((1, 8),))


def test_limit_keeps_reserved_gpus() -> None:
    """A limit of 2 on domain 0 keeps a 4-GPU job off it; it lands on domain 1."""
    st_ = _state(("c", "H100", 16, 8, 8, 2))
    st_.take(100, Allocation(0, ((0, 4),)))
    assert topo_best_fit(4, "domain", (0,), st_) == Allocation(0, ((0, 4),))
    assert topo_best_fit(4, "domain", (0,), st_, {0: 2}) == Allocation(0, ((1, 4),))


@st.composite
def scenes(draw: st.DrawFn) -> tuple[AllocationState, int, str, dict[int, int] | None]:
    dom = draw(st.sampled_from([1, 4, 8, 72]))
    blocks = draw(st.integers(1, 4))
    per_block = draw(st.integers(1, 5))
    state = _state(
        (
            "c",
            "GB200" if dom == 72 else "H100",
            dom * blocks * per_block,
            dom,
            4 if dom == 72 else dom,
            per_block,
        )
    )
    rng = random.Random(draw(st.integers(0, 10_000)))
    for jid in range(draw(st.integers(0, 30))):
        g = rng.randint(1, 2 * dom)
        alloc = first_fit(g, "any", (0,), state)
        if alloc is not None:
            state.take(jid, alloc)
    gpus = draw(st.integers(1, 3 * dom))
    topology = draw(st.sampled_from(["domain", "block", "any"]))
    limit = None
    if draw(st.booleans()):
        limit = {d: rng.randint(0, dom) for d in range(state.fleet.n_domains) if rng.random() < 0.3}
    return state, gpus, topology, limit


@given(scenes())
def test_every_placement_is_complete_and_valid(
    scene: tuple[AllocationState, int, str, dict[int, int] | None],
) -> None:
    """Each placement finds an allocation exactly when the scanning reference does, and what
    it returns fits the free GPUs, the limit, the topology and the size."""
    state, gpus, topology, limit = scene
    reference = first_fit(gpus, topology, (0,), state, limit)
    for name, (place, _) in PLACEMENTS.items():
        alloc = place(gpus, topology, (0,), state, limit)
        assert (alloc is None) == (reference is None), name
        if alloc is None:
            continue
        assert alloc.gpus == gpus
        assert len({d for d, _ in alloc.parts}) == len(alloc.parts)
        for d, n in alloc.parts:
            assert 0 < n <= state.free[d]
            if limit is not None and d in limit:
                assert n <= limit[d]
        blocks = {state.fleet.domain_block[d] for d, _ in alloc.parts}
        if topology == "domain":
            assert len(alloc.parts) == 1
        if topology == "block":
            assert len(blocks) == 1
        state.take(-1, alloc)
        state.check()
        state.release(-1)
