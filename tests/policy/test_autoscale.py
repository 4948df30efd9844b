"""The autoscaling rule and its schedule, by hand and as properties."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from gpufleet.policy.autoscale import schedule, target_replicas
from gpufleet.workload.services import Autoscale, Demand, Objective, Service

THROUGHPUT = Objective()
LATENCY = Objective("latency", 0.5)


def test_target_by_hand() -> None:
    assert target_replicas(2400.0, 1, 1000.0, THROUGHPUT) == 3
    assert target_replicas(2000.0, 1, 1000.0, THROUGHPUT) == 2  # exactly full is enough
    assert target_replicas(2000.0, 1, 1000.0, LATENCY) == 4  # 500 usable per replica
    assert target_replicas(0.0, 5, 1000.0, THROUGHPUT) == 0
    assert target_replicas(10.0, 5, 0.0, THROUGHPUT) == 5  # no capacity figure: keep


def svc(demand: Demand, lo: int = 1, hi: int = 10, delay: float = 1800.0) -> Service:
    return Service(
        "s",
        "s",
        ("H100",),
        4,
        lo,
        hi,
        demand,
        {"H100": 1000.0},
        autoscale=Autoscale(600.0, delay),
    )


def test_scale_down_waits_for_the_delay() -> None:
    """Demand 5,000 until 1,200, then 1,000: the recommendation drops to 1 at the 1,200
    decision, but the count stays 5 until the 3,000 decision, the first whose last 1,800 s
    (1,200..3,000) hold no recommendation of 5."""
    d = Demand(1000.0, 1000.0, 0.0, steps=((0.0, 4000.0), (1200.0, -4000.0)))
    assert schedule(svc(d), 7200.0) == [(0.0, 5), (3000.0, 1)]


def test_clamped_to_min_and_max() -> None:
    assert schedule(svc(Demand(0.0, 0.0, 0.0), lo=2), 3600.0) == [(0.0, 2)]
    assert schedule(svc(Demand(1e9, 1e9, 0.0), hi=7), 3600.0) == [(0.0, 7)]


@given(
    st.floats(0, 20000),
    st.floats(0, 1),
    st.integers(0, 4),
    st.integers(0, 6),
    st.floats(0, 7200),
)
def test_schedule_stays_in_bounds_and_changes(
    peak: float, dip: float, lo: int, extra: int, delay: float
) -> None:
    s = svc(Demand(peak, peak * dip, 9.0, 0.5), lo=lo, hi=max(1, lo + extra), delay=delay)
    out = schedule(s, 3 * 86400.0)
    assert out and out[0][0] == 0.0
    for (t0, n0), (t1, n1) in pairwise(out):
        assert t0 < t1 and n0 != n1
    assert all(s.min_replicas <= n <= s.max_replicas for _, n in out)
