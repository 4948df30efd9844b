"""Pareto fronts checked by hand on tiny tables."""

from __future__ import annotations

from dataclasses import replace

from gpufleet.plan.pareto import configs, pareto_mask
from gpufleet.plan.row import Row


def test_pareto_mask_by_hand() -> None:
    #        a    b    c    d    e    f (= b)
    xs = [100, 200, 300, 250, 400, 200]
    ys = [9.0, 4.0, 1.0, 5.0, 1.0, 4.0]
    # d is beaten by b (fewer GPUs and less wait); e by c (same wait, more GPUs).
    assert pareto_mask(xs, ys) == [True, True, True, False, False, True]
    assert pareto_mask([], []) == []
    assert pareto_mask([1], [1]) == [True]


def _row(variant: str, policy: str, load: float, seed: int, gpus: int, p95: float) -> Row:
    return Row(
        variant, policy, "topo-best-fit", load, seed, 1.0, gpus, 1, 10, 0,
        0.5, 0.0, 0.0, p95, p95, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, None,
    )  # fmt: skip


def test_configs_average_seeds_and_take_fronts_per_load() -> None:
    rows = [
        _row("small", "fifo", 0.8, 0, 100, 6.0),
        _row("small", "fifo", 0.8, 1, 100, 2.0),  # mean 4: on the front (fewest GPUs)
        _row("big", "fifo", 0.8, 0, 200, 5.0),  # mean 5 with more GPUs: dominated
        _row("big", "fifo", 0.8, 1, 200, 5.0),
        _row("big", "sjf", 0.8, 0, 200, 1.0),  # less wait for more GPUs: on the front
        _row("big", "sjf", 0.8, 1, 200, 1.0),
        _row("big", "fifo", 1.0, 0, 200, 9.0),  # alone at its load: on its front
    ]
    got = {(c.variant, c.policy, c.load): (c.wait_p95_h, c.pareto) for c in configs(rows)}
    assert got == {
        ("small", "fifo", 0.8): (4.0, True),
        ("big", "fifo", 0.8): (5.0, False),
        ("big", "sjf", 0.8): (1.0, True),
        ("big", "fifo", 1.0): (9.0, True),
    }


def test_fleets_that_reject_jobs_are_not_on_the_front() -> None:
    keep = _row("big", "fifo", 1.0, 0, 200, 3.0)
    drop = replace(_row("tiny", "fifo", 1.0, 0, 50, 0.0), rejected=7)
    by = {c.variant: c for c in configs([keep, drop])}
    assert by["big"].pareto and by["big"].eligible
    assert not by["tiny"].pareto and not by["tiny"].eligible


def test_cost_is_the_size_when_priced() -> None:
    cheap_big = replace(_row("a", "fifo", 1.0, 0, 400, 2.0), cost=10.0)
    dear_small = replace(_row("b", "fifo", 1.0, 0, 100, 2.0), cost=50.0)
    by = {c.variant: c.pareto for c in configs([cheap_big, dear_small])}
    assert by == {"a": True, "b": False}
