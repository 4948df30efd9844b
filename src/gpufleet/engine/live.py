"""The live engine: the scheduler core driven by a clock, tenants' requests and an executor.

One thread owns the core. Request handlers hand it submissions and cancellations through an
inbox; each step of the engine reads, in this order (finishes before arrivals, as in the twin):

1. what the executor reports ended -> `Finish`;
2. the inbox: submissions -> `Submit`, cancellations -> `Cancel`;
3. one scheduling pass (`decide`);
4. the starts are recorded in the database first (state running, no executor id), then
   launched, then their executor ids recorded: a crash between the two leaves a job that the
   executor's `reconcile` finds or declares lost, never one launched twice.

Each site may have its own executor (`site_executors`; the others use `executor`): launches go
by the job's site, cancels and reconciles by the site it runs at, and every executor is polled.

Reclaim (`Preempt(job, at)` from a core with a tenant tree): the eviction time is stored with
the job; at `at` the run is stopped through its executor, and when the executor reports the
run gone the job waits again (pending in the database, its run's GPU-seconds kept) and the
core gets `Evict`. Waiting for that report rather than evicting at `at` itself keeps two runs
of a job from ever holding GPUs at once: the GPUs are free when the processes are. A job that
ends by itself first is an ordinary end.

On restart (`recover`) running jobs are adopted by the core on their recorded GPUs, their
executors report which of them ended meanwhile, stored eviction times are taken up again, and
pending jobs are submitted again in their submission order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from gpufleet.db.records import (
    CANCELLED,
    COMPLETED,
    ENDED,
    FAILED,
    PENDING,
    REJECTED,
    Ended,
    Evicted,
    JobRecord,
    Started,
)
from gpufleet.db.store import Store
from gpufleet.engine.clock import Clock
from gpufleet.engine.executor import Executor, Launch, Report
from gpufleet.engine.gpumap import GpuMap
from gpufleet.errors import InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import Policy
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import (
    Cancel,
    Decision,
    Evict,
    Finish,
    Preempt,
    Reject,
    Start,
    Submit,
)
from gpufleet.tenancy.model import Tenancy

log = logging.getLogger("gpufleet.engine")

# (decisions made, seconds the pass took): the metrics face observes passes through this.
PassObserver = Callable[[int, float], None]


@dataclass(frozen=True, slots=True)
class _CancelRequest:
    job_id: int
    done: Future[str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the metrics, /fleet and job faces read: queue depth, and per site running jobs and
    GPUs; free GPUs per cluster; why the core holds pending jobs back (quota, grants), by job
    id, as of the engine's last step (a copy: never changed after it is taken)."""

    pending: int
    running_jobs: dict[str, int]
    running_gpus: dict[str, int]
    cluster_free: tuple[int, ...]
    park_reason: Mapping[int, str] = field(default_factory=dict)


class LiveEngine:
    """The core with a clock, a store and an executor. `step` runs on the engine thread only."""

    def __init__(
        self,
        fleet: Fleet,
        policy: Policy,
        store: Store,
        executor: Executor,
        clock: Clock,
        observe: PassObserver | None = None,
        tenancy: Tenancy | None = None,
        site_executors: Mapping[str, Executor] | None = None,
    ) -> None:
        self.fleet = fleet
        self.store = store
        self.executor = executor  # for sites without their own
        self.site_executors = dict(site_executors or {})
        self._executors = list(
            {id(x): x for x in (executor, *self.site_executors.values())}.values()
        )
        self.clock = clock
        self.observe = observe
        self.core = Scheduler(fleet, policy, tenancy=tenancy)
        self.gpus = GpuMap(fleet)
        self._records: dict[int, JobRecord] = {}  # pending and running jobs
        self._inbox: deque[JobRecord | _CancelRequest] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards the snapshot counters only
        self._site_jobs: dict[str, int] = {}
        self._site_gpus: dict[str, int] = {}
        self._site_of: dict[int, str] = {}
        self._reasons: dict[int, str] = {}  # the core's park reasons, as last published
        self._evict_at: dict[int, float] = {}  # running job -> when its run is to stop
        self._stopping: set[int] = set()  # runs asked to stop, until their executor reports
        self._core_evicting: set[int] = set()  # this core sent the Preempt: it takes Evict
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once recovered and stepping
        self.error = ""  # why the engine stopped scheduling, if it did

    # -- called from any thread -----------------------------------------------------------
    def submit(self, rec: JobRecord) -> None:
        """Hand over a job that the store has committed."""
        self._inbox.append(rec)
        self._wake.set()

    def cancel(self, job_id: int) -> Future[str]:
        """Ask for a cancel; the future gives the job's state after it."""
        req = _CancelRequest(job_id, Future())
        self._inbox.append(req)
        self._wake.set()
        return req.done

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                len(self.core.pending),
                dict(self._site_jobs),
                dict(self._site_gpus),
                tuple(self.core.state.cluster_free),
                self._reasons,
            )

    def start(self, poll_interval: float = 0.2, recover: bool = True) -> None:
        """Run steps on a thread: at once when work arrives, else every `poll_interval` s.

        With `recover`, the thread first rebuilds the core from the store, so a server can
        answer (and store submissions, which wait in the inbox) while a long queue loads.
        """
        if self._thread is not None:
            raise RuntimeError("engine already started")
        self._stop.clear()
        self.ready.clear()
        self._thread = threading.Thread(
            target=self._run, args=(poll_interval, recover), name="gpufleet-engine", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, poll_interval: float, recover: bool) -> None:
        if recover:
            try:
                self.recover()
            except Exception as e:
                log.exception("recovery failed; not scheduling")
                self.error = f"recovery failed: {e}"
                return
        self.ready.set()
        while not self._stop.is_set():
            self._wake.wait(poll_interval)
            self._wake.clear()
            try:
                self.step()
            except Exception:  # keep serving; the failed step's jobs stay in the store
                log.exception("engine step failed")
                time.sleep(poll_interval)

    # -- the engine thread ----------------------------------------------------------------
    def executor_for(self, site: str) -> Executor:
        """The executor that runs jobs at `site`."""
        return self.site_executors.get(site, self.executor)

    def recover(self) -> None:
        """Rebuild the core from the store after a (re)start; see the module docstring."""
        live = self.store.live()
        now = self.clock.now()
        lost: list[Ended] = []
        running: dict[int, dict[int, str]] = {}  # executor (by id()) -> job id -> executor id
        for rec in live.running:
            why = self._adopt(rec, now)
            if why:
                lost.append(Ended(rec.id, FAILED, now, None, f"lost on restart: {why}"))
                continue
            ex = self.executor_for(rec.site or "")
            running.setdefault(id(ex), {})[rec.id] = rec.executor_id or ""
            if rec.preempt_at is not None:
                self._evict_at[rec.id] = rec.preempt_at
        self.store.record_ends(lost)
        for ex in self._executors:
            if id(ex) in running:
                self._finish(ex.reconcile(running[id(ex)]), now)
        rejected: list[Ended] = []
        for rec in live.pending:
            self._submit(rec, now, rejected)
        self.store.record_ends(rejected)
        self.step()

    def _adopt(self, rec: JobRecord, now: float) -> str:
        """Give a running job back its GPUs in the core; why not, if it cannot be."""
        ex = self.executor_for(rec.site or "")
        if rec.executor is not None and rec.executor != ex.name:
            return f"launched by executor {rec.executor}; site {rec.site} now has {ex.name}"
        try:
            if rec.allocation is None:
                raise ValueError("no allocation recorded")
            alloc, gpus = self.gpus.from_json(rec.allocation)
            self.core.adopt(rec.to_job(), alloc, rec.start if rec.start is not None else now)
        except (KeyError, ValueError, InvariantError) as e:
            # it may still run: have its executor take it up, then stop it (its GPUs are
            # not counted any more); the executor's report of it is then ignored
            if not ex.reconcile({rec.id: rec.executor_id or ""}):
                ex.cancel(rec.id)
            return str(e)
        self.gpus.restore(rec.id, gpus)
        self._records[rec.id] = rec
        self._count(rec.id, rec.spec.gpus, rec.site or "", +1)
        return ""

    def step(self) -> list[Decision]:
        """One step: reports, due stops, inbox, a pass, then record and launch the starts."""
        now = self.clock.now()
        reports = [r for ex in self._executors for r in ex.poll()]
        ends, evicted = self._finish(reports, now, record=False)
        self._stop_due(now)
        busy = bool(reports or self._inbox)
        while self._inbox:
            item = self._inbox.popleft()
            if isinstance(item, _CancelRequest):
                self._cancel(item, now, ends)
            else:
                self._submit(item, now, ends)
        t0 = time.perf_counter()
        decisions = self.core.decide(now)
        elapsed = time.perf_counter() - t0
        self.store.record_ends(ends)
        self.store.record_evicted(evicted)  # pending again before a start may record it
        for d in decisions:
            if isinstance(d, Preempt):
                self._preempt(d, now)
        starts = [d for d in decisions if isinstance(d, Start)]
        if starts:
            self._launch(starts, now)
        parked = self.core.park_reason
        if busy or decisions or evicted or len(parked) != len(self._reasons):
            self._publish()
        rejected = sum(1 for e in ends if e.state == REJECTED)
        if self.observe is not None and (decisions or rejected):
            self.observe(len(decisions) + rejected, elapsed)
        return decisions

    def _publish(self) -> None:
        """Copy what the API reads of the core (why jobs are held back) for other threads."""
        reasons = dict(self.core.park_reason)
        with self._lock:
            self._reasons = reasons

    def _submit(self, rec: JobRecord, now: float, ends: list[Ended]) -> None:
        if rec.id in self._records:
            return  # already known (a restart raced a request): never twice
        for d in self.core.apply(Submit(rec.to_job()), now):
            if isinstance(d, Reject):
                ends.append(Ended(rec.id, REJECTED, now, None, d.reason))
                return
        self._records[rec.id] = rec

    def _cancel(self, req: _CancelRequest, now: float, ends: list[Ended]) -> None:
        jid = req.job_id
        rec = self._records.pop(jid, None)
        if rec is None:
            stored = self.store.job(jid)
            req.done.set_result(stored.state if stored is not None else "unknown")
            return
        if jid in self.core.running:
            self.executor_for(self._site_of.get(jid, "")).cancel(jid)
            self.gpus.release(jid)
            self._count(jid, rec.spec.gpus, "", -1)
        self._forget_eviction(jid)
        self.core.apply(Cancel(jid), now)
        ends.append(Ended(jid, CANCELLED, now, None, "cancelled by the tenant"))
        self.store.record_ends(ends)
        ends.clear()
        req.done.set_result(CANCELLED)

    # -- reclaim --------------------------------------------------------------------------
    def _preempt(self, d: Preempt, now: float) -> None:
        """Keep the earliest stop time of a run, stored with the job and logged."""
        self._core_evicting.add(d.job_id)
        known = self._evict_at.get(d.job_id)
        if known is not None and known <= d.at:
            return  # a restart had taken up an earlier stop already
        self._evict_at[d.job_id] = d.at
        rec = self._records[d.job_id]
        self._records[d.job_id] = replace(rec, preempt_at=d.at, reason=d.reason)
        self.store.record_preempt(d.job_id, d.at, d.reason, now)

    def _stop_due(self, now: float) -> None:
        """Ask the executors to stop the runs whose grace is over; a failed ask is retried."""
        for jid, at in self._evict_at.items():
            if at <= now and jid not in self._stopping:
                try:
                    self.executor_for(self._site_of.get(jid, "")).cancel(jid)
                except Exception as e:
                    log.warning("stopping preempted job %d failed (will retry): %s", jid, e)
                    continue
                self._stopping.add(jid)

    def _evicted(self, rec: JobRecord, now: float) -> Evicted:
        """A preempted run is gone: the job waits again, in the core and here."""
        jid = rec.id
        run = self.core.running[jid]
        ran = max(0.0, now - run.start)
        if jid in self._core_evicting:
            self.core.apply(Evict(jid), now)
        else:  # preempted before a restart: this core never marked it, so end and requeue
            self.core.apply(Cancel(jid), now)
        self._forget_eviction(jid)
        self.gpus.release(jid)
        self._count(jid, rec.spec.gpus, "", -1)
        waiting = replace(
            rec,
            state=PENDING,
            start=None,
            site=None,
            cluster=None,
            reason="",
            preempt_at=None,
            preemptions=rec.preemptions + 1,
        )
        if jid not in self.core.pending:
            del self._records[jid]
            ends: list[Ended] = []
            self._submit(waiting, now, ends)
            self.store.record_ends(ends)
        else:
            self._records[jid] = waiting
        return Evicted(jid, now, rec.spec.gpus * ran, rec.reason)

    def _forget_eviction(self, job_id: int) -> None:
        self._evict_at.pop(job_id, None)
        self._stopping.discard(job_id)
        self._core_evicting.discard(job_id)

    def _finish(
        self, reports: list[Report], now: float, record: bool = True
    ) -> tuple[list[Ended], list[Evicted]]:
        """Reports to ends, or, for a run stopped by reclaim, to an eviction."""
        ends: list[Ended] = []
        evicted: list[Evicted] = []
        for r in reports:
            rec = self._records.get(r.job_id)
            if rec is None or r.job_id not in self.core.running:
                continue  # cancelled here already, or not ours
            at = self._evict_at.get(r.job_id)
            stopped = r.job_id in self._stopping or (at is not None and at <= now)
            if stopped and r.state != COMPLETED:
                evicted.append(self._evicted(rec, now))
                continue
            del self._records[r.job_id]
            self._forget_eviction(r.job_id)
            self.core.apply(Finish(r.job_id), now)
            self.gpus.release(r.job_id)
            self._count(r.job_id, rec.spec.gpus, "", -1)
            state = r.state if r.state in ENDED else FAILED
            ends.append(Ended(r.job_id, state, now, r.exit_code, r.detail))
        if record:
            self.store.record_ends(ends)
            self.store.record_evicted(evicted)
        return ends, evicted

    def _launch(self, starts: list[Start], now: float) -> None:
        fleet = self.fleet
        planned: list[tuple[Start, Launch]] = []
        started: list[Started] = []
        for d in starts:
            rec = self._records[d.job_id]
            gpus = self.gpus.take(d.job_id, d.allocation)
            cluster = fleet.clusters[d.allocation.cluster]
            spec = rec.spec
            limit = _scaled_limit(fleet, spec.time_limit, spec.ref_model, cluster.gpu_model)
            launch = Launch(
                job_id=d.job_id,
                tenant=rec.tenant,
                site=cluster.site,
                cluster=cluster.id,
                nodes=self.gpus.nodes(gpus),
                command=spec.command,
                script=spec.script,
                time_limit=limit,
                env=spec.env,
            )
            planned.append((d, launch))
            alloc = self.gpus.to_json(gpus)
            ex = self.executor_for(cluster.site)
            started.append(Started(d.job_id, now, cluster.id, cluster.site, alloc, ex.name))
            self._count(d.job_id, rec.spec.gpus, cluster.site, +1)
            self._records[d.job_id] = replace(rec, start=now, site=cluster.site)
        self.store.record_starts(started)
        launched: list[tuple[int, str]] = []
        failed: list[Ended] = []
        for d, launch in planned:
            try:
                launched.append((d.job_id, self.executor_for(launch.site).launch(launch)))
            except Exception as e:
                log.warning("launch of job %d failed: %s", d.job_id, e)
                rec = self._records.pop(d.job_id)
                self.core.apply(Finish(d.job_id), now)
                self.gpus.release(d.job_id)
                self._count(d.job_id, rec.spec.gpus, "", -1)
                failed.append(Ended(d.job_id, FAILED, now, None, f"launch failed: {e}"))
                self._wake.set()  # GPUs came back: run another pass
        self.store.record_launched(launched)
        self.store.record_ends(failed)

    def _count(self, job_id: int, gpus: int, site: str, sign: int) -> None:
        """Running jobs and GPUs by site, for the metrics; a start names the site, an end
        finds it from the start."""
        with self._lock:
            if sign > 0:
                self._site_of[job_id] = site
            else:
                site = self._site_of.pop(job_id)
            self._site_jobs[site] = self._site_jobs.get(site, 0) + sign
            self._site_gpus[site] = self._site_gpus.get(site, 0) + sign * gpus


def _scaled_limit(fleet: Fleet, limit: float | None, ref_model: str, model: str) -> float | None:
    """The time limit on `model`, scaled from the reference model by dense BF16 throughput,
    as the core plans it (`Scheduler.duration`)."""
    if limit is None:
        return None
    return limit * fleet.models[ref_model].bf16_tflops / fleet.models[model].bf16_tflops
