"""Tiresias over rounds: queue demotion at a threshold, starvation promotion, Gittins order."""

from __future__ import annotations

import math

import pytest

from gpufleet.errors import ConfigError
from gpufleet.policy.gittins import GittinsTable
from gpufleet.policy.rounds import Active, Fifo
from gpufleet.policy.tiresias import Tiresias, TiresiasConfig

A = Active(1, 2, 0.0)
B = Active(2, 2, 50.0)


def test_demotion_at_the_threshold_lets_a_newer_job_preempt() -> None:
    p = Tiresias(TiresiasConfig(thresholds=(100.0,)))
    assert p.decide(0, [A], capacity=2) == [1]
    # 49 s x 2 GPUs = 98 GPU-s: still queue 0, and it keeps the GPUs ahead of B
    assert p.decide(49, [A, B], capacity=2) == [1]
    assert p.queue_of(1) == 0 and p.attained(1) == 98
    # 50 s x 2 GPUs = 100 GPU-s reaches the threshold: queue 1, B (queue 0) takes the GPUs
    assert p.decide(50, [A, B], capacity=2) == [2]
    assert p.queue_of(1) == 1 and p.queue_of(2) == 0
    assert p.next_change(50) == 50 + 50  # B reaches 100 GPU-s after 50 more seconds


def test_smaller_jobs_behind_a_blocked_one_still_run() -> None:
    p = Tiresias()
    big, small = Active(1, 4, 0.0), Active(2, 1, 1.0)
    p.decide(0, [Active(9, 2, 0.0)], capacity=4)
    assert p.decide(10, [Active(9, 2, 0.0), big, small], capacity=4) == [9, 2]


def test_starvation_guard_promotes_after_waiting_k_times_its_service() -> None:
    p = Tiresias(TiresiasConfig(thresholds=(100.0,), starvation=1.0))
    b = Active(2, 1, 50.0)  # 1 GPU: demoted only after 100 s
    p.decide(0, [A], capacity=2)
    assert p.decide(50, [A, b], capacity=2) == [2]  # A demoted with 50 s of service
    assert p.next_change(50) == 50 + 50  # A promoted after waiting 1 x 50 s
    p.decide(99, [A, b], capacity=2)
    assert p.queue_of(1) == 1
    p.decide(100, [A, b], capacity=2)
    assert p.queue_of(1) == 0 and p.attained(1) == 0  # back in queue 0, service reset


def test_starvation_off_by_default_as_in_the_artifact() -> None:
    p = Tiresias(TiresiasConfig(thresholds=(100.0,)))
    p.decide(0, [A], capacity=2)
    p.decide(50, [A, B], capacity=2)
    p.decide(10_000, [A, B], capacity=2)
    assert p.queue_of(1) == 1


def test_gittins_index_by_hand() -> None:
    g = GittinsTable.of([1, 1, 9])
    assert g.index(0) == pytest.approx(1 / (11 / 3))  # P = 1, E[S] = 11/3
    assert g.index(0, 1) == pytest.approx((2 / 3) / 1)  # P(S <= 1) = 2/3, E[min(S, 1)] = 1
    assert g.index(1) == pytest.approx(1 / 8)  # only the 9 survives: 8 left
    assert g.index(9) == 0.0  # older than every sample


def test_gittins_orders_a_queue_by_index_not_arrival() -> None:
    # sizes 1, 1, 9 GPU-s; quantum = 20 - attained. Job 1 has run 2 s on 1 GPU (attained 2,
    # index 1/7); job 2 is new (attained 0, index 3/11): 2 goes first though it came later.
    cfg = TiresiasConfig(thresholds=(20.0,), order="gittins", sizes=GittinsTable.of([1, 1, 9]))
    p = Tiresias(cfg)
    one, two = Active(1, 1, 0.0), Active(2, 1, 1.0)
    assert p.decide(0, [one], capacity=1) == [1]
    assert p.decide(2, [one, two], capacity=1) == [2]
    las = Tiresias(TiresiasConfig(thresholds=(20.0,)))
    las.decide(0, [one], capacity=1)
    assert las.decide(2, [one, two], capacity=1) == [1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"thresholds": (10.0, 5.0)}, "ascending"),
        ({"thresholds": (0.0,)}, "ascending and > 0"),
        ({"starvation": -1.0}, "starvation"),
        ({"order": "gittins"}, "distribution"),
    ],
)
def test_bad_config(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TiresiasConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_gittins_samples() -> None:
    with pytest.raises(ConfigError):
        GittinsTable.of([])
    with pytest.raises(ConfigError):
        GittinsTable.of([0, 1])
    assert math.isinf(GittinsTable.of([5]).index(0, math.inf)) is False


def test_round_fifo_blocks_behind_its_head_and_never_preempts() -> None:
    f = Fifo()
    jobs = [Active(1, 3, 0.0), Active(2, 2, 1.0), Active(3, 1, 2.0)]
    assert f.decide(0, jobs, capacity=4) == [1]
    assert f.decide(60, jobs[1:], capacity=4) == [2, 3]
