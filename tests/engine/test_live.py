"""The live engine: the twin's decisions on a fake clock, GPU indices, restart, cancel."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from control_plane import FakeExecutor
from gpufleet.db.records import JobSpec, Started
from gpufleet.db.store import Store
from gpufleet.engine.clock import FakeClock
from gpufleet.engine.executor import Launch
from gpufleet.engine.gpumap import GpuMap
from gpufleet.engine.live import LiveEngine
from gpufleet.engine.record import REJECTED
from gpufleet.engine.sim import simulate
from gpufleet.errors import InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.fleet.state import Allocation
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Start
from gpufleet.workload.job import Job
from strategies import make_fleet

FLEET = make_fleet(("a", "H100", 64, 8, 8, 4), ("b", "B200", 32, 8, 4, 2))


def _jobs(n: int, seed: int) -> list[Job]:
    """Jobs with ids 1..n in submission order (the store's ids), some arriving together."""
    rng = random.Random(seed)
    jobs: list[Job] = []
    t = 0.0
    for i in range(1, n + 1):
        t += rng.choice((0.0, 0.0, 5.0, 30.0, 120.0))
        runtime = float(rng.randint(10, 900))
        jobs.append(
            Job(
                id=i,
                tenant=rng.choice(("t1", "t2")),
                submit=t,
                gpus=rng.choice((1, 1, 2, 4, 8, 8, 16, 24, 40, 200)),
                runtime=runtime,
                ref_model="H100",
                models=rng.choice(((), ("H100",), ("B200", "H100"))),
                priority=rng.randint(0, 3),
                topology=rng.choice(("any", "any", "block", "domain")),
                time_limit=rng.choice((None, runtime * 1.5, runtime * 0.5)),
            )
        )
    return jobs


def _spec(job: Job) -> JobSpec:
    return JobSpec(
        gpus=job.gpus,
        runtime=job.runtime,
        time_limit=job.time_limit,
        ref_model=job.ref_model,
        models=job.models,
        sites=job.sites,
        priority=job.priority,
        kind=job.kind,
        topology=job.topology,
        command="true",
    )


def _twin_starts(
    fleet: Fleet, jobs: list[Job], policy: str
) -> tuple[dict[int, tuple[float, Allocation]], set[int]]:
    starts: dict[int, tuple[float, Allocation]] = {}

    def capture(core: Scheduler, t: float) -> None:
        for jid, run in core.running.items():
            if jid not in starts:
                starts[jid] = (run.start, run.allocation)

    rec = simulate(fleet, jobs, resolve(policy), check=capture)
    rejected = {j.id for j, s in zip(rec.jobs, rec.state, strict=True) if s == REJECTED}
    return starts, rejected


def _engine(
    tmp_path: Path, fleet: Fleet, policy: str, jobs: list[Job] | None = None
) -> tuple[LiveEngine, FakeClock, FakeExecutor, Store]:
    clock = FakeClock(0.0)
    core = Scheduler(fleet, resolve(policy))
    by_id = {j.id: j for j in jobs or []}

    def runtime(launch: Launch) -> float:
        return core.duration(by_id[launch.job_id], fleet.cluster_index(launch.cluster))[0]

    executor = FakeExecutor(clock, runtime)
    store = Store(f"sqlite:///{tmp_path / 'gpufleet.db'}")
    return LiveEngine(fleet, resolve(policy), store, executor, clock), clock, executor, store


def _check_gpus(executor: FakeExecutor) -> None:
    """No (node, GPU index) is given to two running jobs."""
    held: set[tuple[str, int]] = set()
    for _, launch in executor.launches:
        if launch.job_id in executor.ends:
            for n in launch.nodes:
                for g in n.gpus:
                    assert (n.node, g) not in held
                    held.add((n.node, g))


@pytest.mark.parametrize(("policy", "seed"), [("fifo+easy", 1), ("priority+easy", 2), ("fifo", 3)])
def test_live_engine_decides_like_the_twin(tmp_path: Path, policy: str, seed: int) -> None:
    """Same jobs, same times: the live engine starts the same jobs at the same times on the
    same GPUs as the twin, and rejects the same ones."""
    jobs = _jobs(120, seed)
    twin, twin_rejected = _twin_starts(FLEET, jobs, policy)
    engine, clock, executor, store = _engine(tmp_path, FLEET, policy, jobs)
    live: dict[int, tuple[float, Allocation]] = {}
    i, n = 0, len(jobs)
    while i < n or executor.ends:
        t = min(jobs[i].submit if i < n else float("inf"), executor.next_end() or float("inf"))
        clock.set(t)
        while i < n and jobs[i].submit == t:
            rec, _ = store.add_job(jobs[i].tenant, _spec(jobs[i]), t)
            assert rec.id == jobs[i].id
            engine.submit(rec)
            i += 1
        for d in engine.step():
            if isinstance(d, Start):
                live[d.job_id] = (t, d.allocation)
        engine.core.check()
        _check_gpus(executor)
    assert live == twin
    assert len(live) + len(twin_rejected) == n
    by_id = {j.id: j for j in jobs}
    for _, launch in executor.launches:  # the executor enforces the limit on the model it got
        job = by_id[launch.job_id]
        model = FLEET.clusters[FLEET.cluster_index(launch.cluster)].gpu_model
        if job.time_limit is None:
            assert launch.time_limit is None
        else:
            ratio = FLEET.models["H100"].bf16_tflops / FLEET.models[model].bf16_tflops
            assert launch.time_limit == pytest.approx(job.time_limit * ratio)
    stored = {r.id: r for r in store.jobs(limit=n)}
    assert {j for j, r in stored.items() if r.state == "rejected"} == twin_rejected
    assert all(r.state == "completed" for j, r in stored.items() if j in live)
    for j, (t, _) in live.items():
        assert stored[j].start == t


def test_gpu_map_takes_lowest_free_indices_and_names_nodes() -> None:
    """An NVL72 rack is one domain of 18 four-GPU nodes: GPU 9 of the rack is GPU 1 of node 2."""
    fleet = make_fleet(("nv", "GB200", 144, 72, 4, 2))
    m = GpuMap(fleet)
    a = m.take(1, Allocation(0, ((0, 10),)))
    assert a == ((0, tuple(range(10))),)
    b = m.take(2, Allocation(0, ((0, 3), (1, 2))))
    assert b == ((0, (10, 11, 12)), (1, (0, 1)))
    assert [(n.node, n.gpus) for n in m.nodes(b)] == [
        ("nv-0002", (2, 3)),
        ("nv-0003", (0,)),
        ("nv-0018", (0, 1)),
    ]
    m.release(1)
    assert m.take(3, Allocation(0, ((0, 2),))) == ((0, (0, 1)),)
    with pytest.raises(InvariantError):
        m.restore(4, ((0, (1, 2)),))
    alloc, gpus = m.from_json(m.to_json(b))
    assert gpus == b and alloc == Allocation(0, ((0, 3), (1, 2)))


def test_restart_adopts_running_jobs_and_resumes_the_queue(tmp_path: Path) -> None:
    """Stop the engine with jobs running and queued; a new engine on the same database adopts
    the running ones on the same GPUs (no second launch) and starts the queue as they end."""
    fleet = make_fleet(("c", "H100", 16, 8, 8, 2))
    specs = [JobSpec(gpus=8, runtime=100.0, time_limit=100.0, command="true") for _ in range(4)]
    engine, clock, executor, store = _engine(tmp_path, fleet, "fifo+easy")
    executor.runtime = lambda launch: 100.0
    for s in specs:
        engine.submit(store.add_job("t", s, 0.0)[0])
    engine.step()
    first = {launch.job_id: launch.nodes for _, launch in executor.launches}
    assert sorted(first) == [1, 2]

    # restart at t=50: jobs 1 and 2 still run, 3 and 4 wait
    clock.set(50.0)
    executor2 = FakeExecutor(clock, lambda launch: 100.0)
    executor2.alive = {1}  # job 2 ended while the control plane was down
    engine2 = LiveEngine(fleet, resolve("fifo+easy"), store, executor2, clock)
    engine2.recover()
    engine2.core.check()
    assert set(engine2.core.running) == {1, 3}
    assert [launch.job_id for _, launch in executor2.launches] == [3]
    assert executor2.launches[0][1].nodes == first[2]  # job 2's GPUs went to job 3
    assert store.job(2) is not None and store.job(2).state == "completed"  # type: ignore[union-attr]
    assert engine2.gpus.held[1] == ((0, tuple(range(8))),)
    # job 1 (adopted) ends at 100 as the fake executor of the new engine reports it
    executor2.ends[1] = 100.0
    clock.set(100.0)
    engine2.step()
    assert sorted(engine2.core.running) == [3, 4]
    states = [r.state for r in sorted(store.jobs(), key=lambda r: r.id)]
    assert states == ["completed", "completed", "running", "running"]
    starts = [e for j in (1, 2, 3, 4) for e in store.events(j) if e[1] == "start"]
    assert len(starts) == 4  # every job started exactly once


def test_cancel_pending_and_running(tmp_path: Path) -> None:
    fleet = make_fleet(("c", "H100", 8, 8, 8, 1))
    engine, _clock, executor, store = _engine(tmp_path, fleet, "fifo")
    executor.runtime = lambda launch: 1000.0
    a = store.add_job("t", JobSpec(gpus=8, runtime=1000.0, command="true"), 0.0)[0]
    b = store.add_job("t", JobSpec(gpus=8, runtime=1000.0, command="true"), 0.0)[0]
    engine.submit(a)
    engine.submit(b)
    engine.step()
    fut_b = engine.cancel(b.id)
    engine.step()
    assert fut_b.result(0) == "cancelled"
    fut_a = engine.cancel(a.id)
    engine.step()
    assert fut_a.result(0) == "cancelled"
    assert executor.cancelled == [a.id]
    assert engine.core.running == {} and engine.core.pending == {}
    engine.core.check()
    assert [r.state for r in store.jobs()] == ["cancelled", "cancelled"]
    assert engine.cancel(a.id) is not None
    engine.step()


def test_failed_launch_frees_the_gpus(tmp_path: Path) -> None:
    fleet = make_fleet(("c", "H100", 8, 8, 8, 1))
    engine, _clock, executor, store = _engine(tmp_path, fleet, "fifo")
    executor.runtime = lambda launch: 10.0
    executor.fail = {1}
    for _ in range(2):
        engine.submit(store.add_job("t", JobSpec(gpus=8, runtime=10.0, command="x"), 0.0)[0])
    engine.step()
    engine.step()  # the failed launch asked for another pass
    failed = store.job(1)
    assert failed is not None and failed.state == "failed" and "no such node" in failed.reason
    assert list(engine.core.running) == [2]
    assert engine.snapshot().running_gpus == {"site": 8}


def test_restart_after_a_crash_between_record_and_launch(tmp_path: Path) -> None:
    """A job recorded running without an executor id is left to the executor's reconcile:
    the fake one says it is gone, so it ends; it is never launched again."""
    fleet = make_fleet(("c", "H100", 8, 8, 8, 1))
    engine, _clock, executor, store = _engine(tmp_path, fleet, "fifo")
    rec = store.add_job("t", JobSpec(gpus=8, runtime=10.0, command="x"), 0.0)[0]
    gmap = GpuMap(fleet)
    gpus = gmap.take(rec.id, Allocation(0, ((0, 8),)))
    store.record_starts([Started(rec.id, 0.0, "c", "site", gmap.to_json(gpus), "fake")])
    engine.recover()
    assert executor.launches == []
    after = store.job(rec.id)
    assert after is not None and after.state == "completed" and after.executor_id is None
