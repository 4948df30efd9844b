"""most-free-first: the Pollux artifact's baseline placement."""

from __future__ import annotations

from gpufleet.fleet.state import Allocation, AllocationState
from gpufleet.policy.spread import most_free_first
from gpufleet.validation.pollux import t4_fleet


def test_freest_node_first_lowest_id_on_ties_spanning_nodes() -> None:
    state = AllocationState(t4_fleet(3))
    assert most_free_first(6, "any", [0], state) == Allocation(0, ((0, 4), (1, 2)))
    state.take(1, Allocation(0, ((0, 3),)))  # node 0 has 1 free, nodes 1, 2 have 4
    alloc = most_free_first(7, "any", [0], state)
    assert alloc == Allocation(0, ((1, 4), (2, 3)))
    assert most_free_first(10, "any", [0], state) is None  # 9 free
