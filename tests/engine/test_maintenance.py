"""Planned maintenance drains: the wave schedule, two runs by hand, and invariants."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpufleet.engine.failures import RESTART_COST_S, Cause, FailureModel
from gpufleet.engine.faults import Realism
from gpufleet.engine.maintenance import Wave, offset, waves
from gpufleet.engine.record import COMPLETED, REJECTED, TIMEOUT, RunRecord
from gpufleet.engine.sim import simulate
from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import load_fleet
from gpufleet.fleet.model import Fleet, Maintenance
from gpufleet.metrics.summary import summarize
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.workload.job import Job
from strategies import fleets, make_fleet, workloads

# every 10,000 s from t=1,000, half the domains: 100 s to drain, 300 s down
HALF = Maintenance(every_s=10_000.0, fraction=0.5, drain_s=100.0, down_s=300.0, start_s=1000.0)


def _with(fleet: Fleet, m: Maintenance) -> Fleet:
    sites = tuple(replace(s, maintenance=m) for s in fleet.sites)
    return Fleet.build(fleet.name, "", sites, fleet.clusters, fleet.models)


TWO_NODES = _with(make_fleet(("c", "H100", 16, 8, 8, 2)), HALF)
MAINTENANCE = Realism(maintenance=True)


def _check(s: Scheduler, t: float) -> None:
    s.check()


def test_waves_take_the_next_domains_in_turn() -> None:
    """4 domains, a quarter each wave, every 100 s from 50 s, window 400: waves at 50, 150,
    250 and 350 on domains 0, 1, 2, 3; the next (450) is outside the window."""
    m = Maintenance(every_s=100.0, fraction=0.25, drain_s=10.0, down_s=20.0, start_s=50.0)
    fleet = _with(make_fleet(("c", "H100", 32, 8, 8, 4)), m)
    assert waves(fleet, 400.0) == [
        Wave(50.0, 60.0, 80.0, (0,)),
        Wave(150.0, 160.0, 180.0, (1,)),
        Wave(250.0, 260.0, 280.0, (2,)),
        Wave(350.0, 360.0, 380.0, (3,)),
    ]


def test_a_job_that_ends_within_the_drain_keeps_its_node_from_new_work() -> None:
    """Jobs 0 and 1 fill the two 8-GPU nodes at t=0; the wave closes node 0 at 1,000. Job 0
    ends at 1,050, inside the drain: it is not stopped, and its node goes down at once, so
    job 2 (submitted at 1,020) does not start there; it starts when the node is back at
    1,000 + 100 + 300 = 1,400. Maintenance: 8 GPUs x (1,400 - 1,050) = 2,800 GPU-s."""
    jobs = [
        Job(0, "a", 0.0, 8, 1050.0, topology="domain"),
        Job(1, "a", 0.0, 8, 5000.0, topology="domain"),
        Job(2, "a", 1020.0, 4, 100.0, topology="domain"),
    ]
    rec = simulate(
        TWO_NODES, jobs, resolve("fifo"), window=1500.0, realism=MAINTENANCE, check=_check
    )
    assert list(rec.start) == [0.0, 0.0, 1400.0]
    assert list(rec.end) == [1050.0, 5000.0, 1500.0]
    assert rec.failed == [] and rec.planned == {}
    assert rec.maintenance_gpu_s == 8 * 350.0
    r = summarize(rec)["realism"]
    assert r["maintenance_gpu_hours"] == pytest.approx(2800.0 / 3600.0)
    assert r["planned_interruptions"] == 0


def test_a_job_still_running_at_the_deadline_checkpoints_and_requeues() -> None:
    """Job 0 (1,200 s) still runs on node 0 at the deadline 1,100: it checkpoints there, so
    it keeps all 1,100 s of work; its retry asks the 100 s left plus the restart (600 s) and
    starts when node 0 is back at 1,400 (node 1 is busy): it ends at 2,100. Node 0 was down
    from 1,100 to 1,400: 8 x 300 = 2,400 GPU-s. No work is lost in the stopped run."""
    jobs = [
        Job(0, "a", 0.0, 8, 1200.0, topology="domain"),
        Job(1, "a", 0.0, 8, 5000.0, topology="domain"),
    ]
    rec = simulate(
        TWO_NODES, jobs, resolve("fifo"), window=1500.0, realism=MAINTENANCE, check=_check
    )
    assert rec.failed == [(0, 0.0, 1100.0, 0)]
    assert rec.planned == {0: 1} and rec.failures == {}
    assert (rec.start[0], rec.end[0], rec.state[0]) == (1400.0, 1400.0 + 100 + 600, COMPLETED)
    assert RESTART_COST_S == 600.0
    assert rec.lost_gpu_s == {0: 0.0}
    assert rec.maintenance_gpu_s == 8 * 300.0


def test_maintenance_in_the_fleet_file(tmp_path: Path) -> None:
    """The scenario's `maintenance` applies to every site; a site's own replaces it;
    durations read like "30d"; a bad fraction names the field."""
    text = """
name: t
maintenance: {every: 30d, fraction: 0.1, drain: 2h, down: 8h, source: "[A] test"}
sites:
  - id: a
    owner: o
    kind: ai_factory
    region: r
    source: "[A] test"
    clusters: [{id: c1, gpu_model: H100, gpus: 64, source: "[A] test"}]
  - id: b
    owner: o
    kind: ai_factory
    region: r
    source: "[A] test"
    maintenance: {every: 7d, fraction: 0.5, down: 1h, start: 0, stagger: true, source: "[A] test"}
    clusters: [{id: c2, gpu_model: H100, gpus: 64, source: "[A] test"}]
"""
    p = tmp_path / "f.yaml"
    p.write_text(text)
    a, b = load_fleet(str(p)).sites
    assert a.maintenance == Maintenance(
        30 * 86400.0, 0.1, 7200.0, 8 * 3600.0, 30 * 86400.0, "[A] test"
    )
    assert b.maintenance == Maintenance(7 * 86400.0, 0.5, 0.0, 3600.0, 0.0, "[A] test", True)
    assert not a.maintenance.stagger
    p.write_text(text.replace("fraction: 0.1", "fraction: 1.5"))
    with pytest.raises(ConfigError, match="fraction"):
        load_fleet(str(p))


def test_korea_2025_declares_maintenance_for_every_site() -> None:
    fleet = load_fleet("korea-2025")
    assert all(s.maintenance is not None and s.maintenance.source for s in fleet.sites)
    assert all(s.maintenance is not None and s.maintenance.stagger for s in fleet.sites)


# every 100 s from t=50, a quarter of each cluster's 4 domains, each cluster at its own time
STAGGERED = Maintenance(100.0, 0.25, 10.0, 20.0, 50.0, "[A] test", stagger=True)


def test_staggered_clusters_drain_at_their_own_times() -> None:
    """Clusters a (domains 0-3) and b (4-7), window 300: each has waves at 50 + its offset,
    then every 100 s while inside the window, taking its domains in turn."""
    fleet = _with(make_fleet(("a", "H100", 32, 8, 8, 4), ("b", "H100", 32, 8, 8, 4)), STAGGERED)
    oa, ob = offset(7, "a", 100.0), offset(7, "b", 100.0)
    assert 0.0 <= oa < 100.0 and 0.0 <= ob < 100.0 and oa != ob
    want = [
        Wave(50.0 + o + k * 100.0, 60.0 + o + k * 100.0, 80.0 + o + k * 100.0, (d0 + k,))
        for o, d0 in ((oa, 0), (ob, 4))
        for k in range(3)
        if 50.0 + o + k * 100.0 < 300.0
    ]
    assert waves(fleet, 300.0, seed=7) == sorted(want, key=lambda w: (w.start, w.domains[0]))


def test_a_clusters_waves_depend_on_the_seed_and_its_id_alone() -> None:
    """Adding cluster b moves none of cluster a's waves; another seed moves them."""
    one = _with(make_fleet(("a", "H100", 32, 8, 8, 4)), STAGGERED)
    two = _with(make_fleet(("a", "H100", 32, 8, 8, 4), ("b", "H100", 32, 8, 8, 4)), STAGGERED)
    mine = [w for w in waves(two, 1000.0, seed=3) if w.domains[0] < 4]
    assert waves(one, 1000.0, seed=3) == mine
    assert waves(one, 1000.0, seed=4) != mine
    assert offset(3, "a", 100.0) == offset(3, "a", 100.0)


maintenances = st.builds(
    lambda start, fraction, drain, down, gap, stagger: Maintenance(
        every_s=drain + down + gap,
        fraction=fraction,
        drain_s=drain,
        down_s=down,
        start_s=start,
        stagger=stagger,
    ),
    st.integers(0, 300).map(float),
    st.sampled_from([0.1, 0.34, 0.5, 1.0]),
    st.integers(0, 100).map(float),
    st.integers(1, 300).map(float),
    st.integers(1, 200).map(float),
    st.booleans(),
)


def _ended_once(rec: RunRecord) -> None:
    """Every accepted job ended exactly once, after its stopped runs."""
    for i, j in enumerate(rec.jobs):
        if rec.state[i] == REJECTED:
            continue
        assert rec.state[i] in (COMPLETED, TIMEOUT), f"job {j.id} did not end"
        assert j.submit <= rec.start[i] <= rec.end[i]
    for i, s, e, _ in rec.failed:
        assert s <= e <= rec.start[i]
    assert sum(rec.failures.values()) + sum(rec.planned.values()) == len(rec.failed)


# failures often enough to strike draining domains (a node's repair: 60 s)
BUSY = FailureModel(
    rate_per_gpu_hour=0.5,
    causes=(Cause("hw", 0.6, 60.0), Cause("sw", 0.4, 0.0)),
    checkpoint_cost_s=1.0,
    restart_cost_s=5.0,
)


@given(
    fleets(),
    workloads(),
    maintenances,
    st.sampled_from(["fifo", "fifo+easy", "sjf+easy"]),
    st.booleans(),
)
def test_no_job_starts_on_a_draining_domain_and_every_job_ends_once(
    fleet: Fleet, jobs: list[Job], m: Maintenance, policy: str, failures: bool
) -> None:
    """With or without failures. Waves of one cluster never overlap (every > drain + down),
    so a domain is closed exactly while a wave that lists it runs."""
    fleet = _with(fleet, m)
    closed = [(w.start, w.end, set(w.domains)) for w in waves(fleet, 1000.0, seed=1)]

    def check(s: Scheduler, t: float) -> None:
        s.check()
        for run in s.running.values():
            if run.start != t:
                continue
            for d, _ in run.allocation.parts:
                assert not any(a <= t < b and d in ds for a, b, ds in closed), (d, t)

    realism = Realism(failures=BUSY if failures else None, maintenance=True)
    rec = simulate(
        fleet, jobs, resolve(policy), window=1000.0, seed=1, realism=realism, check=check
    )
    _ended_once(rec)
    assert rec.maintenance_gpu_s >= 0.0
