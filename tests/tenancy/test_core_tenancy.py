"""Quotas, borrowing, reclaim, grants and data classes in the core, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

from gpufleet.engine.record import REJECTED
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Down, Evict, Finish, Preempt, Start, Submit
from gpufleet.tenancy.loader import load_tenancy
from gpufleet.tenancy.model import Tenancy
from gpufleet.workload.job import Job
from strategies import make_fleet, sites_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def tree(tmp_path: Path, text: str, fleet: Fleet = TWO_NODES) -> Tenancy:
    p = tmp_path / "tenancy.yaml"
    p.write_text(text)
    return load_tenancy(p, fleet)


def run(fleet: Fleet, jobs: list[Job], t: Tenancy, policy: str = "fifo+easy") -> list[float]:
    rec = simulate(fleet, jobs, resolve(policy), tenancy=t, check=lambda s, _: s.check())
    return list(rec.start)


AB = """
preemption: {grace: 60}
tree:
  - name: root
    children:
      - name: a
        guarantee: {H100: 8}
      - name: b
        guarantee: {H100: 8}
        %s
"""


def test_limit_parks_and_releases(tmp_path: Path) -> None:
    """Tenant a may run 8 GPUs: of three 4-GPU jobs at t=0, two start; the third waits for
    the first to end at 100 although 8 GPUs stay idle, then runs 100..200."""
    t = tree(tmp_path, "tree:\n  - name: a\n    limit: {H100: 8}\n")
    jobs = [Job(i, "a", 0.0, 4, 100.0 + i) for i in range(3)]
    assert run(TWO_NODES, jobs, t) == [0.0, 0.0, 100.0]


def test_park_reason_names_the_limit(tmp_path: Path) -> None:
    t = tree(tmp_path, "tree:\n  - name: a\n    limit: {H100: 8}\n")
    core = Scheduler(TWO_NODES, resolve("fifo"), tenancy=t)
    for i in range(3):
        core.handle(Submit(Job(i, "a", 0.0, 4, 100.0)), 0.0)
    assert set(core.running) == {0, 1}
    assert core.park_reason[2] == "over quota: a runs 8 of its limit 8 H100 GPUs"
    core.check()
    out = core.handle(Finish(0), 100.0)
    assert [d.job_id for d in out if isinstance(d, Start)] == [2]
    assert not core.park_reason


def test_limit_on_one_model_sends_work_to_another(tmp_path: Path) -> None:
    """Tenant a may run 8 H100s and any number of B200s. Jobs that accept either model (H100
    first) take the H100s until the limit, then the B200 cluster, then wait for the B200s:
    a 4-GPU job at t=0 each, runtimes 100 on H100 (B200 is faster: 100 x 989/2250 s).
    Jobs 0, 1 start on H100; 2 and 3 on B200 (H100 has 8 GPUs idle, over a's limit); 4 waits
    for the first end anywhere: job 2 on B200 at 102 x 989/2250 = 44.84 s."""
    fleet = make_fleet(("h", "H100", 16, 8, 8, 2), ("b", "B200", 8, 8, 8, 1))
    t = tree(tmp_path, "tree:\n  - name: a\n    limit: {H100: 8}\n", fleet)
    jobs = [
        Job(i, "a", 0.0, 4, 100.0 + i, models=("H100", "B200"), ref_model="H100") for i in range(5)
    ]
    rec = simulate(fleet, jobs, resolve("fifo+easy"), tenancy=t, check=lambda s, _: s.check())
    b200 = 989.0 / 2250.0  # dense BF16 TFLOPS, H100 over B200, as the catalog gives them
    assert list(rec.cluster) == [0, 0, 1, 1, 1]
    assert list(rec.start)[:4] == [0.0] * 4
    assert math.isclose(rec.start[4], 102.0 * b200)


def test_borrow_then_reclaim(tmp_path: Path) -> None:
    """a and b hold 8 GPUs each. b starts two 8-GPU jobs at t=0 (the second borrows a's 8).
    a asks for 8 at t=10: b's borrowing job (the later id of the two started together: least
    progress lost ties on start, then the newest id) is preempted with 60 s grace; a starts
    at 70. b's job waits again and starts (borrowing again) when a's job ends at 570."""
    t = tree(tmp_path, AB % "")
    jobs = [
        Job(0, "b", 0.0, 8, 1000.0, topology="domain"),
        Job(1, "b", 0.0, 8, 1000.0, topology="domain"),
        Job(2, "a", 10.0, 8, 500.0, topology="domain"),
    ]
    rec = simulate(TWO_NODES, jobs, resolve("fifo"), tenancy=t, check=lambda s, _: s.check())
    assert list(rec.start) == [0.0, 570.0, 70.0]
    assert rec.preempted == [(1, 0.0, 70.0, 0)]
    assert list(rec.end) == [1000.0, 1570.0, 570.0]


def test_two_reclaims_at_one_instant_take_different_victims(tmp_path: Path) -> None:
    """a holds all 16 GPUs; b borrows them with two 8-GPU jobs at t=0. a asks for 8 twice at
    t=10, in one pass. The first claim takes one victim (none of its GPUs free to hold); the
    second search, at the same instant, must not count that victim again and takes the
    other. Both of a's jobs start when the 60 s grace ends; b's wait until a's end at 570."""
    t = tree(
        tmp_path,
        "preemption: {grace: 60}\ntree:\n  - name: root\n    children:\n"
        "      - {name: a, guarantee: {H100: 16}}\n      - {name: b}\n",
    )
    jobs = [
        Job(0, "b", 0.0, 8, 1000.0, topology="domain"),
        Job(1, "b", 0.0, 8, 1000.0, topology="domain"),
        Job(2, "a", 10.0, 8, 500.0, topology="domain"),
        Job(3, "a", 10.0, 8, 500.0, topology="domain"),
    ]
    rec = simulate(TWO_NODES, jobs, resolve("fifo+easy"), tenancy=t, check=lambda s, _: s.check())
    assert list(rec.start) == [570.0, 570.0, 70.0, 70.0]
    assert sorted(p[0] for p in rec.preempted) == [0, 1]


def test_no_borrowing(tmp_path: Path) -> None:
    """b may not borrow: its second job waits for its first although a's 8 GPUs are idle."""
    t = tree(tmp_path, AB % "borrow: false")
    jobs = [Job(0, "b", 0.0, 8, 1000.0), Job(1, "b", 0.0, 8, 1000.0)]
    assert run(TWO_NODES, jobs, t) == [0.0, 1000.0]


def test_no_reclaim_when_disabled(tmp_path: Path) -> None:
    t = tree(tmp_path, (AB % "").replace("{grace: 60}", "{reclaim: false}"))
    jobs = [
        Job(0, "b", 0.0, 8, 1000.0),
        Job(1, "b", 0.0, 8, 1000.0),
        Job(2, "a", 10.0, 8, 500.0),
    ]
    assert run(TWO_NODES, jobs, t) == [0.0, 0.0, 1000.0]


def test_gpu_hour_grant_is_exhausted(tmp_path: Path) -> None:
    """A 2 GPU-hour budget: two 1-GPU, 1-hour jobs fit (2 GPU-hours); the third is held back
    with the grant's reason and never starts."""
    t = tree(
        tmp_path,
        "tree:\n  - name: p\n    grants: [{name: g, gpu_hours: 2, end: 30d}]\n",
    )
    core = Scheduler(TWO_NODES, resolve("fifo"), tenancy=t)
    for i in range(3):
        core.handle(Submit(Job(i, "p", 0.0, 1, 3600.0)), 0.0)
    assert set(core.running) == {0, 1}
    assert core.park_reason[2].startswith("grant exhausted: p has used or committed 2.0")
    core.handle(Finish(0), 3600.0)
    assert 2 not in core.running


def test_grant_expires(tmp_path: Path) -> None:
    """A GPU award for the first 100 s: a job at t=0 runs; one at t=200 never starts."""
    t = tree(tmp_path, "tree:\n  - name: p\n    grants: [{name: g, gpus: 8, end: 100}]\n")
    core = Scheduler(TWO_NODES, resolve("fifo"), tenancy=t)
    core.handle(Submit(Job(0, "p", 0.0, 8, 50.0)), 0.0)
    core.handle(Finish(0), 50.0)
    core.handle(Submit(Job(1, "p", 200.0, 8, 50.0)), 200.0)
    assert core.park_reason[1] == "grant expired: p's grants for H100 have ended"


def test_grant_starts_later(tmp_path: Path) -> None:
    """A grant from t=100: a job submitted at 0 waits and starts at 100 exactly."""
    grant = "{name: g, gpus: 8, start: 100, end: 1000}"
    t = tree(tmp_path, f"tree:\n  - name: p\n    grants: [{grant}]\n")
    assert run(TWO_NODES, [Job(0, "p", 0.0, 8, 50.0)], t) == [100.0]


def test_job_above_any_limit_is_rejected(tmp_path: Path) -> None:
    t = tree(tmp_path, "tree:\n  - name: a\n    limit: {any: 8}\n")
    rec = simulate(TWO_NODES, [Job(0, "a", 0.0, 16, 10.0)], resolve("fifo"), tenancy=t)
    assert rec.state[0] == REJECTED
    assert "above what tenant a may ever run at once (8 GPUs" in rec.reasons[0]


def test_unknown_tenant_is_rejected(tmp_path: Path) -> None:
    t = tree(tmp_path, "tree:\n  - name: a\n")
    rec = simulate(TWO_NODES, [Job(0, "zz", 0.0, 1, 10.0)], resolve("fifo"), tenancy=t)
    assert rec.state[0] == REJECTED
    assert "tenant 'zz' is not a tenant of the tree" in rec.reasons[0]


def test_data_classes_choose_sites(tmp_path: Path) -> None:
    """Four 8-GPU sites, four 8-GPU jobs at once: each lands where its class allows —
    public_high only on `hi`; personal in Korea; the captive fab only for its owner."""
    fleet = sites_fleet()
    t = tree(
        tmp_path,
        """
tree:
  - name: root
    children:
      - {name: gov, data_class: public_high}
      - {name: lab, data_class: personal}
      - {name: fab-team, owner: Fab Co, data_class: corporate_confidential}
      - {name: open-user}
""",
        fleet,
    )
    jobs = [
        Job(0, "gov", 0.0, 8, 10.0),
        Job(1, "fab-team", 0.0, 8, 10.0, sites=("fab",)),
        Job(2, "lab", 0.0, 8, 10.0),
        Job(3, "open-user", 0.0, 8, 10.0),
        Job(4, "gov", 0.0, 8, 10.0, data_class="public_medium"),
    ]
    rec = simulate(fleet, jobs, resolve("fifo+easy"), tenancy=t, check=lambda s, _: s.check())
    site_of = [fleet.clusters[c].site if c >= 0 else None for c in rec.cluster]
    assert site_of[0] == "hi"
    assert site_of[1] == "fab"
    assert site_of[2] == "mid"  # personal: in Korea; `hi` is taken
    assert site_of[3] == "abroad"  # open: anywhere but the captive fab
    assert rec.start[4] == 10.0  # public_medium: hi or mid, both busy until 10
    assert not math.isnan(rec.start[4])


def test_no_site_for_the_data_class(tmp_path: Path) -> None:
    fleet = sites_fleet()
    t = tree(tmp_path, "tree:\n  - {name: x, data_class: public_high}\n", fleet)
    rec = simulate(fleet, [Job(0, "x", 0.0, 8, 1.0, sites=("mid",))], resolve("fifo"), tenancy=t)
    assert rec.state[0] == REJECTED
    assert "no site allowed for data class public_high" in rec.reasons[0]


def test_preempt_decision_carries_the_grace(tmp_path: Path) -> None:
    t = tree(tmp_path, AB % "")
    core = Scheduler(TWO_NODES, resolve("fifo"), tenancy=t)
    core.handle(Submit(Job(0, "b", 0.0, 8, 1000.0)), 0.0)
    core.handle(Submit(Job(1, "b", 0.0, 8, 1000.0)), 0.0)
    out = core.handle(Submit(Job(2, "a", 10.0, 8, 500.0)), 10.0)
    assert [d for d in out if isinstance(d, Preempt)] == [
        Preempt(1, 70.0, "reclaimed for job 2 of a")
    ]


def test_failure_takes_gpus_held_for_a_reclaim(tmp_path: Path) -> None:
    """b runs 8 GPUs on domain 0 and borrows 4 on domain 1; a's 8-GPU domain job reclaims
    them at t=10 and holds domain 1's 4 free GPUs meanwhile. At t=20 those 4 fail: they go
    down (the hold gives way; it was a year-long run's crash). At the eviction (70) a's job
    cannot fit (4 up on domain 1) and waits, and b's evicted job takes the 4 GPUs again;
    every invariant holds throughout."""
    t = tree(tmp_path, AB % "")
    core = Scheduler(TWO_NODES, resolve("fifo"), tenancy=t)
    core.handle(Submit(Job(0, "b", 0.0, 8, 1000.0)), 0.0)
    core.handle(Submit(Job(1, "b", 0.0, 4, 1000.0)), 0.0)
    out = core.handle(Submit(Job(2, "a", 10.0, 8, 500.0, topology="domain")), 10.0)
    assert [d.job_id for d in out if isinstance(d, Preempt)] == [1]
    assert core.state.free[1] == 0  # 4 held for job 2, 4 of job 1
    core.handle(Down(1, 4), 20.0)
    core.check()
    assert core.down == {1: 4}
    out = core.handle(Evict(1), 70.0)
    core.check()
    assert [(d.job_id, d.allocation.parts) for d in out if isinstance(d, Start)] == [(1, ((1, 4),))]
    assert set(core.pending) == {2}


def test_fair_share_alternates_tenants(tmp_path: Path) -> None:
    """One 8-GPU node; a asks four 100 s jobs at t=0, b two at t=1; equal shares, ranks every
    second, a half-life far longer than the run. FIFO would run a,a,a,a,b,b. Fair share:
    t=0 a0 (nobody has used anything); t=100 a has 800 GPU-s, b none -> b0; t=200 both 800
    (a's decayed a hair) -> a1; t=300 b1; then a2 at 400, a3 at 500."""
    one = make_fleet(("c", "H100", 8, 8, 8, 1))
    t = tree(
        tmp_path,
        """
fair_share: {half_life: 100000d, period: 1}
tree:
  - name: root
    children:
      - {name: a}
      - {name: b}
""",
        one,
    )
    jobs = [Job(i, "a", 0.0, 8, 100.0) for i in range(4)]
    jobs += [Job(4 + i, "b", 1.0, 8, 100.0) for i in range(2)]
    assert run(one, jobs, t, "fairshare") == [0.0, 200.0, 400.0, 500.0, 100.0, 300.0]
    assert run(one, jobs, t, "fifo") == [0.0, 100.0, 200.0, 300.0, 400.0, 500.0]


def test_fair_share_needs_a_tree() -> None:
    import pytest

    from gpufleet.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a tenant tree"):
        Scheduler(TWO_NODES, resolve("fairshare+easy"))


def test_decayed_usage_by_hand(tmp_path: Path) -> None:
    """Half-life 100 s. Tenant a runs 8 GPUs from 0 to 100: at t=100 its usage is 800
    GPU-seconds; at t=200, idle since, it has decayed to 400; at t=300 to 200. b never ran."""
    from gpufleet.scheduler.fairshare import FairShare
    from gpufleet.scheduler.quota import Quota

    t = tree(
        tmp_path,
        "fair_share: {half_life: 100, period: 1}\n"
        "tree:\n  - name: root\n    children:\n      - {name: a}\n      - {name: b}\n",
    )
    q = Quota(t, TWO_NODES)
    fair = FairShare(q)
    a, b = t.leaf["a"], t.leaf["b"]
    h100 = q.fid["H100"]
    q.used[a][h100] += 8  # what charge() does for the leaf (the root is not looked at here)
    fair.started(a, h100, 8, 0.0)
    q.used[a][h100] -= 8
    fair.ended(a, h100, 8, 100.0)
    fair.recompute(100.0)
    assert fair.hist[a][h100] == 800.0
    fair.recompute(200.0)
    assert fair.hist[a][h100] == 400.0
    fair.recompute(300.0)
    assert fair.hist[a][h100] == 200.0
    assert fair.hist[b][h100] == 0.0
    assert fair.ranks[b] < fair.ranks[a]  # b, with no usage, comes first


def test_grant_consumption_counts_only_runs_that_happened(tmp_path: Path) -> None:
    """An 8-GPU award for [0, 1000): three 8-GPU jobs of 400 s run 0-400, 400-800 and
    800-1200 (the third started while the grant was active); a fourth never starts (the
    grant has ended when GPUs come back). Used within the award: 8 x (400 + 400 + 200)
    GPU-s = 2.22 h of 8 x 1000 s = 2.22 h; the job that never ran used nothing."""
    from gpufleet.metrics.tenancy import tenancy_summary

    t = tree(tmp_path, "tree:\n  - name: p\n    grants: [{name: g, gpus: 8, end: 1000}]\n")
    jobs = [Job(i, "p", 0.0, 8, 400.0) for i in range(4)]
    rec = simulate(TWO_NODES, jobs, resolve("fifo"), tenancy=t, until=5000.0)
    assert [rec.start[i] for i in range(3)] == [0.0, 400.0, 800.0]
    assert math.isnan(rec.start[3])
    (g,) = tenancy_summary(rec, t)["grants"]
    assert g["award_gpu_hours"] == 8 * 1000 / 3600
    assert math.isclose(g["used_gpu_hours"], 8 * 1000 / 3600)
    assert math.isclose(g["used_fraction"], 1.0)
