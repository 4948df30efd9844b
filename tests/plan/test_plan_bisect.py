"""Bisection: on a hand-made monotone function, and on a tiny real sweep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gpufleet.plan.backends import LocalBackend
from gpufleet.plan.bisect import bisect
from gpufleet.plan.search import run_search
from gpufleet.plan.spec import load_sweep

Write = Callable[..., Path]


def test_bisect_finds_the_threshold_of_a_monotone_function() -> None:
    b = bisect(lambda s: s >= 1.37, 0.5, 4.0, 0.01)
    assert b.answer is not None and 1.37 <= b.answer <= 1.38
    scales = [s for s, _ in b.probes]
    assert scales[:3] == [4.0, 0.5, 2.25]  # hi, lo, then the midpoint
    assert len(b.probes) == 2 + 9  # 3.5 / 2**9 < 0.01 <= 3.5 / 2**8
    assert all(met == (s >= 1.37) for s, met in b.probes)


def test_bisect_stops_early_at_the_ends() -> None:
    never = bisect(lambda s: False, 1.0, 2.0, 0.1)
    assert never.answer is None and never.probes == [(2.0, False)]
    always = bisect(lambda s: True, 1.0, 2.0, 0.1)
    assert always.answer == 1.0 and always.probes == [(2.0, True), (1.0, True)]


def test_search_on_a_tiny_real_sweep(write_sweep: Write) -> None:
    # two-nodes (16 H100) with a day of arrivals at 3x the offered load: waits pile up, and
    # more nodes bring the mean wait down under the target.
    sw = load_sweep(
        write_sweep(
            "scenario: two-nodes\ndays: 1\nloads: [3.0]\nseeds: [0]\n"
            "search: {scale: [1, 8], target: mean_wait_h <= 1, tolerance: 0.5}\n"
        )
    )
    (res,) = run_search(sw, LocalBackend(1))
    probes = res.probes
    assert res.scale is not None and res.gpus is not None
    assert [p.scale for p in probes[:2]] == [8.0, 1.0]
    assert probes[0].met and not probes[1].met and probes[1].value > 1
    met = [p for p in probes if p.met]
    missed = [p for p in probes if not p.met]
    assert res.scale == min(p.scale for p in met)
    assert max(p.scale for p in missed) < res.scale <= max(p.scale for p in missed) + 0.5
    assert res.gpus == next(p.gpus for p in probes if p.scale == res.scale)
