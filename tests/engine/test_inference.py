"""Inference services in the twin: a case by hand, then properties over random small runs."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gpufleet.engine.inference import ReplicaPlan, plan_replicas
from gpufleet.engine.record import CANCELLED, COMPLETED, TIMEOUT, RunRecord
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.metrics.inference import inference_summary
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.tenancy.model import Node, PreemptionConfig, Tenancy
from gpufleet.tenancy.services import with_services
from gpufleet.workload.job import Job
from gpufleet.workload.services import Autoscale, Demand, Service, ServiceSet
from strategies import make_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def batch_tree(grace: float = 300.0) -> Tenancy:
    """A root with one leaf, `batch`, that holds no guarantee: all it runs is borrowed."""
    return Tenancy.build(
        [Node(0, "root", -1, children=(1,)), Node(1, "batch", 0)],
        preemption=PreemptionConfig(True, grace),
    )


def run(
    fleet: Fleet, jobs: list[Job], ss: ServiceSet, horizon: float
) -> tuple[RunRecord, ReplicaPlan, list[tuple[float, int]]]:
    """Run with the services; also return (time, running replicas) after every pass."""
    tree = with_services(batch_tree(), ss, fleet)
    plan = plan_replicas(ss, horizon, max(j.id for j in jobs) + 1)
    seen: list[tuple[float, int]] = []
    replicas = set(plan.service_of)

    def check(core: Scheduler, t: float) -> None:
        core.check()
        seen.append((t, sum(1 for j in core.running if j in replicas)))

    rec = simulate(
        fleet,
        [*jobs, *plan.jobs],
        resolve("fifo"),
        window=horizon,
        tenancy=tree,
        cancels=plan.cancels,
        check=check,
    )
    return rec, plan, seen


def test_demand_step_scales_one_to_three_and_reclaims_the_batch_job() -> None:
    """16 H100 in two 8-GPU domains. A 4-GPU-replica service (1,000 tokens/s each, min 1,
    max 3) decides every 600 s; demand is 800 tokens/s, 2,400 from t = 600.

    t = 0: one replica (job 1) starts in one domain; an 8-GPU batch job (no guarantee: all of
    it is borrowed) takes the other. t = 600: target ceil(2400 / 1000) = 3; replica 2 starts on
    the 4 free GPUs, replica 3 reclaims the batch job, which gets 300 s of grace, is evicted at
    900 and waits; replica 3 starts at 900. At the horizon (1,800) the replicas are cancelled
    and the batch job starts over, running 5,000 s to 6,800.

    Attainment over 30 one-minute steps: 10 steps at 800 <= 1,000 (met), 5 at 2,400 > 2,000
    (missed), 15 at 2,400 <= 3,000 (met): 25/30 of the time. Offered tokens (10 x 800 + 20 x
    2,400) x 60 = 3,360,000; those in met steps (8,000 + 36,000) x 60, a share of 44/56;
    served (8,000 + 5 x 2,000 + 36,000) x 60 = 3,240,000.
    """
    svc = Service(
        "chat",
        "chat",
        ("H100",),
        4,
        1,
        3,
        Demand(800.0, 800.0, 0.0, steps=((600.0, 1600.0),)),
        {"H100": 1000.0},
        autoscale=Autoscale(600.0, 1800.0),
    )
    ss = ServiceSet((svc,))
    batch = Job(0, "batch", 0.0, 8, 5000.0, topology="domain")
    rec, plan, seen = run(TWO_NODES, [batch], ss, 1800.0)
    assert plan.targets == (((0.0, 1), (600.0, 3)),)
    assert list(rec.start) == [1800.0, 0.0, 600.0, 900.0]
    assert list(rec.end) == [6800.0, 1800.0, 1800.0, 1800.0]
    assert list(rec.state) == [COMPLETED, CANCELLED, CANCELLED, CANCELLED]
    assert rec.preempted == [(0, 0.0, 900.0, 0)]
    assert rec.preempted_by == ["reclaimed for job 3 of chat"]
    assert [n for t, n in seen if t in (0.0, 600.0, 900.0)] == [1, 2, 3]

    m = inference_summary(rec, ss, plan)
    s = m["services"]["chat"]
    assert s["attainment_time"] == 25 / 30
    assert math.isclose(s["attainment_requests"], 44 / 56)
    assert s["tokens_offered"] == 3_360_000.0
    assert s["tokens_served"] == 3_240_000.0
    # replica GPU-seconds: (1,800 + 1,200 + 900) x 4; H100 700 W at the site's PUE
    site = TWO_NODES.sites[0]
    mwh = 3900 * 4 * TWO_NODES.models["H100"].tdp_w * site.pue / 3.6e9
    assert math.isclose(s["energy_mwh"], mwh)
    assert math.isclose(m["tokens_per_mwh"], 3_240_000.0 / mwh)
    assert m["preempted_by_inference"] == {
        "runs": 1,
        "jobs": 1,
        "gpu_hours_lost": 900 * 8 / 3600,
        "runs_by_kind": {"batch": 1},
    }
    # hourly samples at 0 and 3,600 (the batch job runs on; the service stopped at 1,800)
    assert s["replicas_sampled"]["target"] == [1, 0]
    assert s["replicas_sampled"]["running"] == [1, 0]


def test_latency_objective_counts_headroom() -> None:
    """Target utilization 0.5: 800 tokens/s needs ceil(800 / 500) = 2 replicas; they run all
    the horizon, so every step is within the objective."""
    from gpufleet.workload.services import Objective

    svc = Service(
        "chat",
        "chat",
        ("H100",),
        4,
        1,
        4,
        Demand(800.0, 800.0, 0.0),
        {"H100": 1000.0},
        objective=Objective("latency", 0.5),
        autoscale=Autoscale(600.0, 0.0),
    )
    rec, plan, _ = run(TWO_NODES, [Job(0, "batch", 0.0, 4, 100.0)], ServiceSet((svc,)), 1200.0)
    assert plan.targets == (((0.0, 2),),)
    s = inference_summary(rec, ServiceSet((svc,)), plan)["services"]["chat"]
    assert s["attainment_time"] == 1.0
    assert s["tokens_served"] == 800.0 * 1200.0


# -- properties ----------------------------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> tuple[Service, list[Job], float]:
    gpus = draw(st.sampled_from([1, 2, 4, 8]))
    lo = draw(st.integers(0, 2))
    hi = draw(st.integers(max(1, lo), 16 // gpus))
    peak = draw(st.floats(0, 8000))
    trough = draw(st.floats(0, peak))
    steps = tuple(
        draw(
            st.lists(
                st.tuples(st.floats(0, 20000), st.floats(-4000, 4000)),
                max_size=3,
            )
        )
    )
    svc = Service(
        "svc",
        "svc",
        ("H100",),
        gpus,
        lo,
        hi,
        Demand(peak, trough, draw(st.floats(0, 23.9)), draw(st.floats(0, 1)), steps),
        {"H100": draw(st.floats(100, 4000))},
        autoscale=Autoscale(draw(st.sampled_from([300.0, 600.0])), draw(st.floats(0, 3000))),
    )
    n = draw(st.integers(0, 12))
    jobs = []
    for i in range(n):
        size = draw(st.sampled_from([1, 2, 4, 8, 16]))
        topology = "any" if size > 8 else draw(st.sampled_from(["any", "domain"]))
        jobs.append(
            Job(
                i,
                "batch",
                draw(st.floats(0, 20000)),
                size,
                draw(st.floats(1, 9000)),
                topology=topology,
            )
        )
    horizon = draw(st.sampled_from([3600.0, 21600.0]))
    return svc, jobs, horizon


@given(cases())
def test_replicas_in_bounds_capacity_kept_jobs_end_once(
    case: tuple[Service, list[Job], float],
) -> None:
    svc, jobs, horizon = case
    ss = ServiceSet((svc,))
    rec, plan, seen = run(TWO_NODES, [Job(10_000, "batch", 0.0, 1, 1.0), *jobs], ss, horizon)
    for _, n in plan.targets[0]:
        assert svc.min_replicas <= n <= svc.max_replicas
    assert all(n <= svc.max_replicas for _, n in seen)  # core.check() held the GPUs
    replicas = set(plan.service_of)
    for i, j in enumerate(rec.jobs):
        if j.id in replicas:
            assert rec.state[i] == CANCELLED
        else:  # ended once: a final run with an end, every earlier run cut by a reclaim
            assert rec.state[i] in (COMPLETED, TIMEOUT)
            assert not math.isnan(rec.end[i])
    again, _, _ = run(TWO_NODES, [Job(10_000, "batch", 0.0, 1, 1.0), *jobs], ss, horizon)
    assert same(rec, again)


def same(a: RunRecord, b: RunRecord) -> bool:
    """Same record, up to wall time."""
    return (
        a.start.tobytes() == b.start.tobytes()
        and a.end.tobytes() == b.end.tobytes()
        and a.cluster == b.cluster
        and a.state == b.state
        and a.preempted == b.preempted
        and a.preempted_by == b.preempted_by
        and a.sample_busy == b.sample_busy
    )


def test_same_seed_same_record_with_failures() -> None:
    """Failures at a high rate (about 5 node failures in 6 h on 16 GPUs) hit replicas and
    batch jobs alike; two runs with the same seed give the same record, and every batch job
    still ends exactly once."""
    from gpufleet.engine.failures import FailureModel
    from gpufleet.engine.faults import Realism

    svc = Service(
        "chat",
        "chat",
        ("H100",),
        4,
        1,
        3,
        Demand(2500.0, 500.0, 12.0),
        {"H100": 1000.0},
        autoscale=Autoscale(300.0, 900.0),
    )
    ss = ServiceSet((svc,))
    jobs = [Job(i, "batch", 600.0 * i, 4 + 4 * (i % 2), 3000.0) for i in range(20)]
    horizon = 6 * 3600.0
    plan = plan_replicas(ss, horizon, 100)

    def once() -> RunRecord:
        return simulate(
            TWO_NODES,
            [*jobs, *plan.jobs],
            resolve("fifo"),
            window=horizon,
            seed=1,
            tenancy=with_services(batch_tree(), ss, TWO_NODES),
            realism=Realism(FailureModel(rate_per_gpu_hour=0.05)),
            cancels=plan.cancels,
            check=lambda core, _: core.check(),
        )

    a, b = once(), once()
    assert a.failures  # the case does exercise failures
    assert same(a, b) and a.failed == b.failed
    for i, j in enumerate(a.jobs):
        if j.id < 100:
            assert a.state[i] in (COMPLETED, TIMEOUT) and not math.isnan(a.end[i])
