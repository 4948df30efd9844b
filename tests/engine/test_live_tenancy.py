"""The live engine with a tenant tree: rejections, park reasons in the snapshot, reclaim
preemption (stop at the grace's end, evict, wait again, accounting, restart), per-site
executors, and jobs lost at launch."""

from __future__ import annotations

from pathlib import Path

from control_plane import FakeExecutor
from gpufleet.db.records import JobSpec, Started
from gpufleet.db.store import Store
from gpufleet.engine.clock import FakeClock
from gpufleet.engine.gpumap import GpuMap
from gpufleet.engine.live import LiveEngine
from gpufleet.engine.local import LocalExecutor
from gpufleet.fleet.model import Fleet
from gpufleet.fleet.state import Allocation
from gpufleet.policy.registry import resolve
from gpufleet.tenancy.loader import load_tenancy
from gpufleet.tenancy.model import Tenancy
from strategies import make_fleet, sites_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))
AB = """
preemption: {grace: 60}
tree:
  - name: root
    children:
      - {name: a, guarantee: {H100: 8}}
      - {name: b, guarantee: {H100: 8}}
"""


def _tree(tmp_path: Path, text: str, fleet: Fleet = TWO_NODES) -> Tenancy:
    p = tmp_path / "tenancy.yaml"
    p.write_text(text)
    return load_tenancy(p, fleet)


def _engine(
    tmp_path: Path, tenancy: Tenancy | None, fleet: Fleet = TWO_NODES
) -> tuple[LiveEngine, FakeClock, FakeExecutor, Store]:
    clock = FakeClock(0.0)
    executor = FakeExecutor(clock, lambda launch: 1000.0)
    store = Store(f"sqlite:///{tmp_path / 'gpufleet.db'}")
    engine = LiveEngine(fleet, resolve("fifo"), store, executor, clock, tenancy=tenancy)
    return engine, clock, executor, store


def _spec(gpus: int = 8, runtime: float = 1000.0) -> JobSpec:
    return JobSpec(gpus=gpus, runtime=runtime, topology="domain", command="x")


def _state(store: Store, job_id: int) -> str:
    rec = store.job(job_id)
    assert rec is not None
    return rec.state


def test_the_core_gets_the_tree_and_rejects_a_non_leaf(tmp_path: Path) -> None:
    engine, _clock, _ex, store = _engine(tmp_path, _tree(tmp_path, AB))
    assert engine.core.tenancy is not None
    engine.submit(store.add_job("root", _spec(), 0.0)[0])
    engine.step()
    rec = store.job(1)
    assert rec is not None and rec.state == "rejected" and "not a tenant of the tree" in rec.reason


def test_snapshot_carries_the_park_reason(tmp_path: Path) -> None:
    t = _tree(tmp_path, "tree:\n  - name: a\n    limit: {H100: 8}\n")
    engine, clock, _executor, store = _engine(tmp_path, t)
    for _ in range(2):
        engine.submit(store.add_job("a", _spec(), 0.0)[0])
    engine.step()
    assert engine.snapshot().park_reason == {2: "over quota: a runs 8 of its limit 8 H100 GPUs"}
    clock.set(1000.0)
    engine.step()  # job 1 ends; job 2 starts
    assert engine.snapshot().park_reason == {}
    assert _state(store, 2) == "running"


def _borrow_then_claim(tmp_path: Path) -> tuple[LiveEngine, FakeClock, FakeExecutor, Store]:
    """b runs two 8-GPU jobs (the second borrows a's guarantee); a asks for 8 at t=10."""
    engine, clock, executor, store = _engine(tmp_path, _tree(tmp_path, AB))
    executor.runtime = lambda launch: 500.0 if launch.tenant == "a" else 1000.0
    for _ in range(2):
        engine.submit(store.add_job("b", _spec(), 0.0)[0])
    engine.step()
    clock.set(10.0)
    engine.submit(store.add_job("a", _spec(runtime=500.0), 10.0)[0])
    engine.step()
    return engine, clock, executor, store


def test_preempt_stops_at_the_grace_end_then_evicts(tmp_path: Path) -> None:
    engine, clock, executor, store = _borrow_then_claim(tmp_path)
    rec = store.job(2)
    assert rec is not None and rec.state == "running" and rec.preempt_at == 70.0
    assert rec.reason == "reclaimed for job 3 of a"
    assert [e[1] for e in store.events(2)] == ["submit", "start", "preempt"]
    clock.set(69.0)
    engine.step()
    assert executor.cancelled == []  # the grace is not over
    clock.set(70.0)
    engine.step()
    assert executor.cancelled == [2]  # stopped through its executor
    assert _state(store, 2) == "running"  # until the executor reports the run gone
    engine.step()
    rec = store.job(2)
    assert rec is not None and rec.state == "pending" and rec.preemptions == 1
    assert rec.preempted_gpu_seconds == 8 * 70.0 and rec.start is None and rec.preempt_at is None
    assert _state(store, 3) == "running"  # the claimant got the GPUs at once
    assert engine.core.preemptions == {2: 1}
    assert [e[1] for e in store.events(2)][-1] == "evicted"
    engine.core.check()
    usage = {u.tenant: u.gpu_seconds for u in store.usage(70.0)}
    assert usage["b"] == 8 * 70.0 + 8 * 70.0  # job 1 still runs; job 2's run is kept
    # a's job ends at 570: b's job runs again, from the start, on the freed GPUs
    clock.set(570.0)
    engine.step()
    rec = store.job(2)
    assert rec is not None and rec.state == "running" and rec.start == 570.0
    assert [launch.job_id for _, launch in executor.launches] == [1, 2, 3, 2]
    assert store.usage(600.0)[1].gpu_seconds == 8 * 600.0 + 8 * 70.0 + 8 * 30.0


def test_a_job_that_ends_before_its_eviction_is_not_evicted(tmp_path: Path) -> None:
    engine, clock, executor, store = _borrow_then_claim(tmp_path)
    executor.ends[2] = 50.0  # it finishes by itself inside the grace
    clock.set(50.0)
    engine.step()
    assert _state(store, 2) == "completed" and executor.cancelled == []
    assert _state(store, 3) == "running"
    clock.set(100.0)
    engine.step()
    assert executor.cancelled == [] and engine.core.preemptions == {}
    engine.core.check()


def test_a_restart_keeps_the_pending_eviction(tmp_path: Path) -> None:
    """The control plane stops between the Preempt and its time: the new engine takes the
    stored time up, stops the run then, and the job waits again (Cancel and Submit, as the
    new core never marked it)."""
    t = _tree(tmp_path, AB)
    _engine1, clock, _ex, store = _borrow_then_claim(tmp_path)
    clock.set(30.0)
    executor2 = FakeExecutor(clock, lambda launch: 1000.0)
    executor2.alive = {1, 2}
    engine2 = LiveEngine(TWO_NODES, resolve("fifo"), store, executor2, clock, tenancy=t)
    engine2.recover()
    executor2.ends.update({1: 1000.0, 2: 1000.0})  # what the adopted runs would do
    assert _state(store, 2) == "running" and executor2.cancelled == []
    clock.set(70.0)
    engine2.step()
    assert executor2.cancelled == [2]
    engine2.step()
    rec = store.job(2)
    assert rec is not None and rec.state == "pending" and rec.preemptions == 1
    assert rec.preempted_gpu_seconds == 8 * 70.0
    assert _state(store, 3) == "running"
    engine2.core.check()


def test_jobs_go_to_their_sites_executors(tmp_path: Path) -> None:
    """Two sites, two executors: launches, cancels and reconciles go by the job's site."""
    fleet = sites_fleet()
    sites = [c.site for c in fleet.clusters][:2]
    clock = FakeClock(0.0)
    default = FakeExecutor(clock, lambda launch: 1000.0, name="one")
    other = FakeExecutor(clock, lambda launch: 1000.0, name="two")
    store = Store(f"sqlite:///{tmp_path / 'gpufleet.db'}")
    engine = LiveEngine(
        fleet, resolve("fifo"), store, default, clock, site_executors={sites[1]: other}
    )
    for site in sites:
        spec = JobSpec(gpus=8, runtime=1000.0, sites=(site,), command="x")
        engine.submit(store.add_job("t", spec, 0.0)[0])
    engine.step()
    by_site = {launch.site: ex.name for ex in (default, other) for _, launch in ex.launches}
    assert by_site == {sites[0]: "one", sites[1]: "two"}
    recs = {r.site: r for r in store.jobs()}
    assert recs[sites[0]].executor == "one" and recs[sites[1]].executor == "two"
    on_two = recs[sites[1]].id
    engine.cancel(on_two)
    engine.step()
    assert other.cancelled == [on_two] and default.cancelled == []
    # a restart asks each executor about its own jobs only
    asked: dict[str, dict[int, str]] = {}
    for ex in (default, other):
        ex.reconcile = lambda running, n=ex.name: asked.setdefault(n, running) and []  # type: ignore[method-assign]
    engine2 = LiveEngine(
        fleet, resolve("fifo"), store, default, clock, site_executors={sites[1]: other}
    )
    engine2.recover()
    assert asked == {"one": {recs[sites[0]].id: f"fake-{recs[sites[0]].id}"}}


def test_lost_at_launch_fails_and_never_runs_again(tmp_path: Path) -> None:
    """A crash after the start was recorded and before the local executor started anything:
    after the restart the job is failed with the reason, its GPUs go to the next job, and it
    is never launched."""
    fleet = make_fleet(("c", "H100", 8, 8, 8, 1))
    clock = FakeClock(0.0)
    store = Store(f"sqlite:///{tmp_path / 'gpufleet.db'}")
    lost = store.add_job("t", JobSpec(gpus=8, runtime=10.0, command="true"), 0.0)[0]
    nxt = store.add_job("t", JobSpec(gpus=8, runtime=10.0, command="true"), 0.0)[0]
    gmap = GpuMap(fleet)
    gpus = gmap.take(lost.id, Allocation(0, ((0, 8),)))
    store.record_starts([Started(lost.id, 0.0, "c", "site", gmap.to_json(gpus), "local")])
    executor = LocalExecutor(tmp_path)
    engine = LiveEngine(fleet, resolve("fifo"), store, executor, clock)
    engine.recover()
    rec = store.job(lost.id)
    assert rec is not None and rec.state == "failed"
    assert rec.reason == "lost at launch: no process was recorded"
    assert [e[1] for e in store.events(lost.id)] == ["submit", "start", "failed"]
    assert _state(store, nxt.id) == "running"
    assert not (tmp_path / "jobs" / str(lost.id)).exists()  # never launched
    for _ in range(3):
        engine.step()
    assert lost.id not in engine.core.pending and lost.id not in engine.core.running
    engine.core.check()
