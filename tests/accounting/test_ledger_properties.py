"""The ledger conserves GPU time: random runs, random preemptions, random day-crossing spans."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gpufleet.accounting.ledger import DAY_SECONDS, ledger_of, split_days
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import resolve
from gpufleet.workload.job import Job
from strategies import fleets, workloads

TOL = 1e-6


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=TOL)


Run = tuple[int, float, float, int]  # job index, start, end, cluster


@st.composite
def preemptions(draw: st.DrawFn, n_jobs: int, n_clusters: int) -> list[Run]:
    """Earlier runs of random jobs, some spanning days (a re-queued job ran before)."""
    out: list[Run] = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.floats(0, 3 * DAY_SECONDS, allow_nan=False))
        length = draw(st.floats(0, 2 * DAY_SECONDS, allow_nan=False))
        job = draw(st.integers(0, n_jobs - 1))
        out.append((job, start, start + length, draw(st.integers(0, n_clusters - 1))))
    return out


@given(fleets(), workloads(), st.data())
def test_gpu_seconds_total_and_per_tenant_equal_the_runs(
    fleet: Fleet, jobs: list[Job], data: st.DataObject
) -> None:
    rec = simulate(fleet, jobs, resolve("fifo+easy"))
    rec.preempted.extend(data.draw(preemptions(len(rec.jobs), len(fleet.clusters))))
    want: dict[str, float] = defaultdict(float)
    runs = 0
    for i, j in enumerate(rec.jobs):
        if not math.isnan(rec.start[i]):
            want[j.tenant] += j.gpus * (rec.end[i] - rec.start[i])
            runs += 1
    for job, start, end, _ in rec.preempted:
        want[rec.jobs[job].tenant] += rec.jobs[job].gpus * (end - start)
    ledger = ledger_of(rec)
    got: dict[str, float] = defaultdict(float)
    for tenant, secs in zip(
        ledger["tenant"].to_pylist(), ledger["gpu_seconds"].to_pylist(), strict=True
    ):
        got[tenant] += secs
    assert _close(sum(got.values()), sum(want.values()))
    assert set(got) <= set(want)
    for tenant, secs in want.items():
        assert _close(got.get(tenant, 0.0), secs), tenant
    assert sum(ledger["jobs"].to_pylist()) == runs + len(rec.preempted)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 10 * DAY_SECONDS, allow_nan=False),
            st.floats(0, 3 * DAY_SECONDS, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_day_pieces_stay_in_their_day_and_add_up(spans: list[tuple[float, float]]) -> None:
    start = np.array([s for s, _ in spans])
    end = start + np.array([n for _, n in spans])
    owner, day, seconds, first = split_days(start, end)
    assert (seconds >= 0).all() and (seconds <= DAY_SECONDS).all()
    assert first.sum() == len(spans)
    for k in range(len(spans)):
        mine = owner == k
        assert _close(float(seconds[mine].sum()), float(end[k] - start[k]))
        days = day[mine]
        assert days[0] == math.floor(start[k] / DAY_SECONDS)
        assert (np.diff(days) == 1).all()  # consecutive days, in order
        # every piece but the last fills its day to the end; every piece but the first
        # starts at midnight
        assert all(_close(float(s), DAY_SECONDS) for s in seconds[mine][1:-1])
