"""The live engine: the scheduler core driven by a clock, tenants' requests and an executor.

One thread owns the core. Request handlers hand it submissions and cancellations through an
inbox; each step of the engine reads, in this order (finishes before arrivals, as in the twin):

1. what the executor reports ended -> `Finish`;
2. the inbox: submissions -> `Submit`, cancellations -> `Cancel`;
3. one scheduling pass (`decide`);
4. the starts are recorded in the database first (state running, no executor id), then
   launched, then their executor ids recorded: a crash between the two leaves a job that the
   executor's `reconcile` finds or declares lost, never one launched twice.

On restart (`recover`) running jobs are adopted by the core on their recorded GPUs, the
executor reports which of them ended meanwhile, and pending jobs are submitted again in their
submission order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from gpufleet.db.records import (
    CANCELLED,
    ENDED,
    FAILED,
    REJECTED,
    Ended,
    JobRecord,
    Started,
)
from gpufleet.db.store import Store
from gpufleet.engine.clock import Clock
from gpufleet.engine.executor import Executor, Launch, Report
from gpufleet.engine.gpumap import GpuMap
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import Policy
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Cancel, Decision, Finish, Reject, Start, Submit

log = logging.getLogger("gpufleet.engine")

# (decisions made, seconds the pass took): the metrics face observes passes through this.
PassObserver = Callable[[int, float], None]


@dataclass(frozen=True, slots=True)
class _CancelRequest:
    job_id: int
    done: Future[str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the metrics and /fleet faces read: queue depth, and per site running jobs and GPUs;
    free GPUs per cluster."""

    pending: int
    running_jobs: dict[str, int]
    running_gpus: dict[str, int]
    cluster_free: tuple[int, ...]


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
    ) -> None:
        self.fleet = fleet
        self.store = store
        self.executor = executor
        self.clock = clock
        self.observe = observe
        self.core = Scheduler(fleet, policy)
        self.gpus = GpuMap(fleet)
        self._records: dict[int, JobRecord] = {}  # pending and running jobs
        self._inbox: deque[JobRecord | _CancelRequest] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards the snapshot counters only
        self._site_jobs: dict[str, int] = {}
        self._site_gpus: dict[str, int] = {}
        self._site_of: dict[int, str] = {}
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
    def recover(self) -> None:
        """Rebuild the core from the store after a (re)start; see the module docstring."""
        live = self.store.live()
        now = self.clock.now()
        lost: list[Ended] = []
        running: dict[int, str] = {}
        for rec in live.running:
            try:
                if rec.allocation is None:
                    raise ValueError("no allocation recorded")
                alloc, gpus = self.gpus.from_json(rec.allocation)
            except (KeyError, ValueError) as e:
                lost.append(Ended(rec.id, FAILED, now, None, f"lost on restart: {e}"))
                continue
            self.gpus.restore(rec.id, gpus)
            self.core.adopt(rec.to_job(), alloc, rec.start if rec.start is not None else now)
            self._records[rec.id] = rec
            self._count(rec.id, rec.spec.gpus, rec.site or "", +1)
            running[rec.id] = rec.executor_id or ""
        self.store.record_ends(lost)
        self._finish(self.executor.reconcile(running), now)
        rejected: list[Ended] = []
        for rec in live.pending:
            self._submit(rec, now, rejected)
        self.store.record_ends(rejected)
        self.step()

    def step(self) -> list[Decision]:
        """One step: reports, inbox, a pass, then record and launch the starts."""
        now = self.clock.now()
        ends = self._finish(self.executor.poll(), now, record=False)
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
        starts = [d for d in decisions if isinstance(d, Start)]
        if starts:
            self._launch(starts, now)
        rejected = sum(1 for e in ends if e.state == REJECTED)
        if self.observe is not None and (decisions or rejected):
            self.observe(len(decisions) + rejected, elapsed)
        return decisions

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
            self.executor.cancel(jid)
            self.gpus.release(jid)
            self._count(jid, rec.spec.gpus, "", -1)
        self.core.apply(Cancel(jid), now)
        ends.append(Ended(jid, CANCELLED, now, None, "cancelled by the tenant"))
        self.store.record_ends(ends)
        ends.clear()
        req.done.set_result(CANCELLED)

    def _finish(self, reports: list[Report], now: float, record: bool = True) -> list[Ended]:
        ends: list[Ended] = []
        for r in reports:
            rec = self._records.get(r.job_id)
            if rec is None or r.job_id not in self.core.running:
                continue  # cancelled here already, or not ours
            del self._records[r.job_id]
            self.core.apply(Finish(r.job_id), now)
            self.gpus.release(r.job_id)
            self._count(r.job_id, rec.spec.gpus, "", -1)
            state = r.state if r.state in ENDED else FAILED
            ends.append(Ended(r.job_id, state, now, r.exit_code, r.detail))
        if record:
            self.store.record_ends(ends)
        return ends

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
            started.append(
                Started(d.job_id, now, cluster.id, cluster.site, alloc, self.executor.name)
            )
            self._count(d.job_id, rec.spec.gpus, cluster.site, +1)
        self.store.record_starts(started)
        launched: list[tuple[int, str]] = []
        failed: list[Ended] = []
        for d, launch in planned:
            try:
                launched.append((d.job_id, self.executor.launch(launch)))
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
