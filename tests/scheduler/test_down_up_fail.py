"""GPUs leaving and returning to service, and interrupted jobs, in the core."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpufleet.errors import InvariantError
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Down, Fail, Start, Submit, Up
from gpufleet.workload.job import Job
from strategies import make_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def starts(out: list[object]) -> list[int]:
    return [d.job_id for d in out if isinstance(d, Start)]


def test_down_gpus_are_not_placed_and_come_back() -> None:
    """Domain 0 goes down: an 8-GPU domain job goes to domain 1; a second one waits until
    domain 0 is back (and the EASY reservation does not wait for GPUs that never return)."""
    core = Scheduler(TWO_NODES, resolve("fifo+easy"))
    core.handle(Down(0, 8), 0.0)
    assert core.state.cluster_free[0] == 8
    out = core.handle(Submit(Job(0, "a", 0.0, 8, 100.0, topology="domain")), 0.0)
    assert starts(out) == [0]
    assert core.running[0].allocation.parts == ((1, 8),)
    assert starts(core.handle(Submit(Job(1, "a", 1.0, 16, 10.0)), 1.0)) == []
    assert starts(core.handle(Submit(Job(2, "a", 2.0, 1, 10.0)), 2.0)) == []  # all 16 busy/down
    out = core.handle(Up(0, 8), 50.0)
    assert starts(out) == [2]  # J1 needs 16; J2 backfills on the returned domain
    core.check()


def test_fail_requeues_the_rest_of_the_work() -> None:
    core = Scheduler(TWO_NODES, resolve("fifo"))
    job = Job(0, "a", 0.0, 8, 100.0)
    core.handle(Submit(job), 0.0)
    out = core.handle(Fail(0, replace(job, runtime=70.0)), 30.0)
    assert starts(out) == [0]
    start = next(d for d in out if isinstance(d, Start))
    assert start.duration == 70.0
    assert core.failures == {0: 1}
    core.check()


def test_fail_for_good_forgets_the_job() -> None:
    core = Scheduler(TWO_NODES, resolve("fifo"))
    core.handle(Submit(Job(0, "a", 0.0, 8, 100.0)), 0.0)
    core.handle(Fail(0, None), 30.0)
    assert not core.running and not core.pending
    core.check()


def test_busy_gpus_cannot_go_down() -> None:
    core = Scheduler(TWO_NODES, resolve("fifo"))
    core.handle(Submit(Job(0, "a", 0.0, 16, 100.0)), 0.0)
    with pytest.raises(InvariantError, match="in use"):
        core.handle(Down(0, 8), 1.0)
    core.check()
    with pytest.raises(InvariantError, match="cannot change"):
        core.handle(Up(1, 8), 1.0)


def test_power_cap_holds_starts_until_power_frees() -> None:
    """An H100 draws 700 W here (no node power given, so its TDP). A 5,600 W cap runs 8 GPUs
    at once: the second 8-GPU job waits for the first to end, or for the cap to rise."""
    from gpufleet.scheduler.events import Finish, PowerCap

    core = Scheduler(TWO_NODES, resolve("fifo+easy"))
    core.handle(PowerCap("site", 5600.0), 0.0)
    assert starts(core.handle(Submit(Job(0, "a", 0.0, 8, 100.0)), 0.0)) == [0]
    assert starts(core.handle(Submit(Job(1, "a", 0.0, 8, 100.0)), 0.0)) == []
    assert core.site_watts == [5600.0]
    assert starts(core.handle(Finish(0), 100.0)) == [1]
    assert starts(core.handle(Submit(Job(2, "a", 101.0, 4, 10.0)), 101.0)) == []
    assert starts(core.handle(PowerCap("site", 8400.0), 102.0)) == [2]
    assert starts(core.handle(PowerCap("site", None), 103.0)) == []
    core.check()
