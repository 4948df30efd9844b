"""The core's shortcuts (shape heaps, closed shapes, passes over new jobs or freed clusters
only) decide exactly what a plain EASY pass over the whole queue decides, every time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpufleet.scheduler.core as core
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Decision, Start
from gpufleet.workload.job import Job
from strategies import fleets, workloads


def plain_pass(self: Scheduler, now: float) -> list[Decision]:
    """EASY by the book: every pending job in policy order; fresh reservation each pass."""
    out: list[Decision] = []
    self._blocked = None
    resv = None
    for job in sorted(self.pending.values(), key=self.policy.order):
        shape = self._job_shape[job.id]
        if self._blocked is None:
            alloc = self._place(job, shape.clusters, None)
            if alloc is not None:
                out.append(self._start(job, alloc, now))
                continue
            self._blocked = (self.policy.order(job), job.id)
            if not self.policy.backfill:
                break
            self._resv = None
            resv = self._reservation(job, shape, now)
            continue
        assert resv is not None
        started = self._try_backfill(job, shape.clusters, resv, now)
        if isinstance(started, Start):
            out.append(started)
    return out


@pytest.fixture
def fresh_reservations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(core, "RESERVATION_REFRESH_S", 0.0)
    yield


def _starts(fleet: Fleet, jobs: list[Job], policy: str, plain: bool) -> list[float | None]:
    """Start times (None for rejected jobs) under the core's passes or plain passes."""
    if not plain:
        return _clean(simulate(fleet, jobs, resolve(policy)).start)
    saved = (Scheduler._pass, Scheduler._pass_new, Scheduler._pass_freed)
    try:
        Scheduler._pass = plain_pass  # type: ignore[method-assign]
        Scheduler._pass_new = plain_pass  # type: ignore[method-assign]
        Scheduler._pass_freed = plain_pass  # type: ignore[method-assign]
        return _clean(simulate(fleet, jobs, resolve(policy)).start)
    finally:
        Scheduler._pass, Scheduler._pass_new, Scheduler._pass_freed = saved


def _clean(starts: Iterable[float]) -> list[float | None]:
    return [None if math.isnan(x) else x for x in starts]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixture is stateless
@given(fleets(), workloads(), st.sampled_from(["fifo", "fifo+easy", "priority+easy", "sjf+easy"]))
def test_shortcuts_decide_like_a_plain_pass(
    fresh_reservations: None, fleet: Fleet, jobs: list[Job], policy: str
) -> None:
    assert _starts(fleet, jobs, policy, plain=False) == _starts(fleet, jobs, policy, plain=True)


def test_small_mixed_week_matches(fresh_reservations: None) -> None:
    from gpufleet.fleet.loader import load_fleet
    from gpufleet.workload.synthetic import generate

    fleet = load_fleet("small-mixed")
    jobs = generate(fleet, days=7, seed=1, load=1.3)
    assert _starts(fleet, jobs, "fifo+easy", plain=False) == _starts(
        fleet, jobs, "fifo+easy", plain=True
    )
