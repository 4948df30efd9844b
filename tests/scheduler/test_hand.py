"""Small scenarios whose outcomes are computed by hand in each docstring."""

from __future__ import annotations

import math

from gpufleet.engine.record import COMPLETED, REJECTED, TIMEOUT
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.workload.job import Job
from strategies import make_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def _jobs() -> list[Job]:
    return [
        Job(0, "a", 0.0, 8, 100.0),
        Job(1, "a", 0.0, 16, 50.0),
        Job(2, "a", 1.0, 8, 50.0),
        Job(3, "a", 2.0, 8, 200.0),
    ]


def _starts(policy: str, jobs: list[Job]) -> list[float]:
    rec = simulate(TWO_NODES, jobs, resolve(policy), check=lambda s, t: s.check())
    return list(rec.start)


def test_fifo_two_nodes() -> None:
    """FIFO on two 8-GPU nodes.

    t=0: J0 (8 GPUs, 100 s) starts; J1 (16 GPUs) must wait for both nodes; J2, J3 queue behind.
    t=100: J0 ends, J1 starts and runs to 150. t=150: J2 and J3 start on one node each.
    Waits 0, 100, 149, 148: mean 99.25 s.
    """
    starts = _starts("fifo", _jobs())
    assert starts == [0.0, 100.0, 150.0, 150.0]
    waits = [s - j.submit for s, j in zip(starts, _jobs(), strict=True)]
    assert sum(waits) / 4 == 99.25


def test_easy_backfill_two_nodes() -> None:
    """EASY backfill on the same jobs.

    t=0: J0 starts on node A; J1 is blocked, shadow time 100 (when J0 ends) on both nodes.
    t=1: J2 (8 GPUs, 50 s) fits on node B and ends at 51 <= 100: it backfills.
    t=51: J3 (200 s) would fit on node B but end at 251 > 100 on a reserved node: it waits.
    t=100: J1 starts (not delayed). t=150: J3 starts. Waits 0, 100, 0, 148: mean 62 s.
    """
    starts = _starts("fifo+easy", _jobs())
    assert starts == [0.0, 100.0, 1.0, 150.0]
    waits = [s - j.submit for s, j in zip(starts, _jobs(), strict=True)]
    assert sum(waits) / 4 == 62.0


def test_backfill_uses_extra_gpus() -> None:
    """A long job may backfill onto GPUs the reserved head will not need.

    One cluster of two 8-GPU nodes. J0 (12 GPUs, 100 s) takes node A and 4 of node B.
    J1 (8 GPUs, topology "domain") needs a whole node: shadow 100 on node A or B.
    J2 (4 GPUs, 1,000 s) arrives at t=1: node B has 4 free. The reservation is on the first
    domain that becomes whole at t=100 (node A, J0's first part), so node B's 4 free GPUs are
    extra and J2 starts at t=1 although it runs past the shadow time. J1 starts at 100.
    """
    jobs = [
        Job(0, "a", 0.0, 12, 100.0),
        Job(1, "a", 0.0, 8, 50.0, topology="domain"),
        Job(2, "a", 1.0, 4, 1000.0),
    ]
    assert _starts("fifo+easy", jobs) == [0.0, 100.0, 1.0]


def test_time_limit_and_scaling() -> None:
    """Run time and time limit scale by BF16 throughput; the limit cuts the run.

    On B200 (2,250 TF) a 989 TF-H100 reference run of 2,250 s takes 989 s. A 500 s limit on
    H100 is 500 x 989 / 2,250 = 219.78 s on B200: the job ends there, timed out.
    """
    fleet = make_fleet(("b", "B200", 8, 8, 8, 1))
    jobs = [Job(0, "a", 0.0, 8, 2250.0), Job(1, "a", 0.0, 8, 2250.0, time_limit=500.0)]
    rec = simulate(fleet, jobs, resolve("fifo"))
    assert math.isclose(rec.end[0], 989.0)
    assert rec.state[0] == COMPLETED
    assert math.isclose(rec.end[1] - rec.start[1], 500.0 * 989.0 / 2250.0)
    assert rec.state[1] == TIMEOUT


def test_impossible_job_is_rejected_not_lost() -> None:
    """17 GPUs never fit in 16; a model the fleet lacks never fits: both are rejected."""
    jobs = [
        Job(0, "a", 0.0, 17, 10.0),
        Job(1, "a", 0.0, 1, 10.0, models=("B200",)),
        Job(2, "a", 0.0, 1, 10.0),
    ]
    rec = simulate(TWO_NODES, jobs, resolve("fifo+easy"))
    assert list(rec.state) == [REJECTED, REJECTED, COMPLETED]
    assert "17 GPUs" in rec.reasons[0]


def test_sites_restrict_placement() -> None:
    """Two sites with one 8-GPU node each. A job allowed only at site b waits for b's node
    even though site a's node is free; a job naming an unknown site is rejected."""
    from gpufleet.fleet.catalog import CATALOG
    from gpufleet.fleet.model import Cluster, Fleet, Site

    sites = (
        Site("a", "o", "ai_factory", "r", source="[A]"),
        Site("b", "o", "ai_factory", "r", source="[A]"),
    )
    clusters = (
        Cluster("ca", "a", "H100", 8, 8, 8, 1, source="[A]"),
        Cluster("cb", "b", "H100", 8, 8, 8, 1, source="[A]"),
    )
    fleet = Fleet.build("two-sites", "", sites, clusters, CATALOG)
    jobs = [
        Job(0, "t", 0.0, 8, 100.0, sites=("b",)),
        Job(1, "t", 0.0, 8, 100.0, sites=("b",)),
        Job(2, "t", 0.0, 8, 100.0, sites=("nowhere",)),
    ]
    rec = simulate(fleet, jobs, resolve("fifo+easy"), check=lambda s, t: s.check())
    assert list(rec.start[:2]) == [0.0, 100.0]
    assert list(rec.cluster[:2]) == [1, 1]
    assert rec.state[2] == REJECTED and "unknown site" in rec.reasons[2]


def _plans(jobs: list[Job], fleet: Fleet) -> tuple[list[float], dict[float, object]]:
    """Start times and, after each instant's pass, the reservation object (kept alive, so a
    plan made anew is a different object)."""
    seen: dict[float, object] = {}

    def look(s: Scheduler, t: float) -> None:
        s.check()
        if s._resv is not None:
            seen[t] = s._resv

    rec = simulate(fleet, jobs, resolve("priority+easy"), check=look)
    return list(rec.start), seen


def test_jump_ahead_on_another_cluster_keeps_the_plan() -> None:
    """A higher-priority job that runs past the shadow time, on a cluster the head may use but
    was not planned on, starts at once and leaves the head's plan as it was.

    Clusters c0 and c1, two 8-GPU nodes each. t=0: J0 (16 GPUs, 100 s) fills c0, J1 (8 GPUs,
    300 s) takes a node of c1. t=1: J2 (16 GPUs, 50 s) is blocked. t=1.5: J3 (16 GPUs, 10 s,
    priority -1) asks to backfill, which plans J2: c0 at 100 (J0's end); J3 fits nowhere.
    t=2: J4 (priority 5, 8 GPUs, 500 s) goes before J2 and fits on c1's free node; it ends at
    502, past the shadow, but not on c0: the plan stands. t=100: J2 starts on c0; t=150: J3
    follows it there. Starts 0, 0, 100, 150, 2.
    """
    fleet = make_fleet(("c0", "H100", 16, 8, 8, 2), ("c1", "H100", 16, 8, 8, 2))
    jobs = [
        Job(0, "a", 0.0, 16, 100.0),
        Job(1, "a", 0.0, 8, 300.0),
        Job(2, "a", 1.0, 16, 50.0),
        Job(3, "a", 1.5, 16, 10.0, priority=-1),
        Job(4, "a", 2.0, 8, 500.0, priority=5),
    ]
    starts, plans = _plans(jobs, fleet)
    assert starts == [0.0, 0.0, 100.0, 150.0, 2.0]
    assert plans[1.5].shadow == 100.0  # type: ignore[attr-defined]
    assert plans[2.0] is plans[1.5]  # the same plan: not planned anew


def test_jump_ahead_beside_the_planned_domain_keeps_the_plan() -> None:
    """The same on the planned cluster: the plan needs one domain, the new job takes another.

    One cluster of three 8-GPU nodes A, B, C. t=0: J0 (8 GPUs, 100 s) on A, J1 (8, 300 s) on
    B, J2 (4, 400 s) on C. t=1: J3 (8 GPUs in one domain, 50 s) is blocked. t=1.5: J4 (24
    GPUs, priority -1) asks to backfill: J3's plan is node A at 100. t=2: J5 (priority 5, 4
    GPUs, 500 s) fits in C's last 4 GPUs and ends past the shadow, but leaves A alone: it
    starts at once and J3 still starts at 100. J4 needs all three nodes: A is free at 150, B
    at 300, C at 502. Starts 0, 0, 0, 100, 502, 2.
    """
    fleet = make_fleet(("c", "H100", 24, 8, 8, 3))
    jobs = [
        Job(0, "a", 0.0, 8, 100.0),
        Job(1, "a", 0.0, 8, 300.0),
        Job(2, "a", 0.0, 4, 400.0),
        Job(3, "a", 1.0, 8, 50.0, topology="domain"),
        Job(4, "a", 1.5, 24, 10.0, priority=-1),
        Job(5, "a", 2.0, 4, 500.0, priority=5),
    ]
    starts, plans = _plans(jobs, fleet)
    assert starts == [0.0, 0.0, 0.0, 100.0, 502.0, 2.0]
    assert plans[1.5].shadow == 100.0  # type: ignore[attr-defined]
    assert plans[2.0] is plans[1.5]


def test_jump_ahead_keeps_a_stale_plan_until_its_refresh() -> None:
    """A plan made stale by GPUs that came back early stays the promise until its refresh
    is due (RESERVATION_REFRESH_S); a jump-ahead start that leaves it alone does not force
    one.

    Clusters c0 and c1, two 8-GPU nodes each. t=0: J0 (8 GPUs, 100 s) and J1 (8 GPUs, runs
    20 s of a 150 s limit) fill c0; J2 (12 GPUs, 300 s) takes c1 but 4 GPUs. t=1: J3 (16 GPUs)
    is blocked. t=1.5: J4 (16 GPUs, priority -1) asks to backfill: J3's plan is c0's block at
    150 (J1's limit). t=20: J1 ends early: the plan is stale, its refresh due at 31.5. t=25:
    J5 (priority 5, 4 GPUs, 500 s) goes first, best fit on c1's last 4 GPUs: the stale plan
    stays. t=100: J0 ends and J3 starts on c0; t=150: J4 follows. Starts 0, 0, 0, 100, 150, 25.
    """
    fleet = make_fleet(("c0", "H100", 16, 8, 8, 2), ("c1", "H100", 16, 8, 8, 2))
    jobs = [
        Job(0, "a", 0.0, 8, 100.0),
        Job(1, "a", 0.0, 8, 20.0, time_limit=150.0),
        Job(2, "a", 0.0, 12, 300.0),
        Job(3, "a", 1.0, 16, 50.0),
        Job(4, "a", 1.5, 16, 10.0, priority=-1),
        Job(5, "a", 25.0, 4, 500.0, priority=5),
    ]
    starts, plans = _plans(jobs, fleet)
    assert starts == [0.0, 0.0, 0.0, 100.0, 150.0, 25.0]
    assert plans[1.5].shadow == 150.0  # type: ignore[attr-defined]
    assert plans[20.0] is plans[1.5] and plans[25.0] is plans[1.5]
