"""The digital twin's discrete-event loop: a simulated clock driving the scheduler core.

Two event sources merge in time order: arrivals (jobs in submit order, read one at a time from
an iterator, never all pushed on a heap or held at once) and ends (a heap of (time, sequence,
job id, kind): a finish, or the eviction of a preempted job when its grace period is over). All
events at one instant are applied first (ends, then fleet events, then cancels, then arrivals),
then one scheduling pass runs. An end whose run was already cut short by an eviction or a
failure (or an eviction of a job that finished first) is stale and skipped. With `realism`, a
third source joins: dated fleet events (build-out, power phases), node failures and repairs,
and planned maintenance drains (`engine/faults.py`); GPUs that fall free on a draining domain
are taken down before each pass. A fourth, `cancels`, withdraws jobs at given times (inference
services scaling down, `engine/inference.py`). Nothing here decides; it only advances time and
records.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from itertools import pairwise
from typing import NoReturn

from gpufleet.engine.faults import Disturbances, Realism
from gpufleet.engine.maintenance import waves
from gpufleet.engine.phases import online_at, timeline
from gpufleet.engine.record import (
    CANCELLED,
    COMPLETED,
    PENDING,
    REJECTED,
    RUNNING,
    TIMEOUT,
    RunRecord,
)
from gpufleet.errors import TraceError
from gpufleet.fleet.model import Fleet
from gpufleet.gc_tuning import gc_relaxed
from gpufleet.policy.registry import Policy
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Cancel, Evict, Finish, Preempt, Reject, Start, Submit
from gpufleet.scheduler.why import CODES, waiting_summary
from gpufleet.tenancy.model import Tenancy
from gpufleet.workload.job import Job

Progress = Callable[[int, int], None]  # (events done, events expected)
_FINISH, _EVICT = 0, 1


@gc_relaxed()
def simulate(
    fleet: Fleet,
    jobs: Iterable[Job],
    policy: Policy,
    *,
    window: float | None = None,
    seed: int | None = None,
    sample_every: float = 3600.0,
    until: float | None = None,
    progress: Progress | None = None,
    check: Callable[[Scheduler, float], None] | None = None,
    tenancy: Tenancy | None = None,
    realism: Realism | None = None,
    cancels: Sequence[tuple[float, int]] = (),
) -> RunRecord:
    """Replay `jobs` on `fleet` under `policy` and return the record.

    `jobs` is a list or tuple (sorted here by (submit, id)) or any other iterable already in
    that order, read once as the clock reaches each submit time: a stream such as
    `workload.synthetic.draw` never holds a year's Job objects at once, and the twin drops a
    job once it ends, keeping only the record's columns. A stream needs `window` (there is no
    last job to read it from); its ids must be unique, which is checked against the jobs in
    flight only. Record rows follow the arrival order.

    Runs until every job has ended, or until `until` seconds if given (jobs still queued or
    running then are recorded as such). `check`, when given, is called after every pass
    (tests use it to assert invariants at every step). `tenancy` puts the tenant tree's
    quotas, grants, data-sovereignty rules and reclaim preemption in force. `realism` adds
    failures, the build-out from a start day and power caps (each switchable). `cancels`
    lists (time, job id) withdrawals in time order; a job no longer queued or running then
    is left alone.
    """
    t0 = time.perf_counter()
    arrivals, n, last_submit = _arrivals(jobs)
    if window is None:
        if last_submit is None:
            raise ValueError("simulate: a stream of jobs needs a window")
        window = last_submit
    rec = RunRecord.empty(fleet, (), policy.name, policy.placement_name, seed, window, sample_every)
    # jobs in flight (arrived, not ended): id -> record row, id -> the Job as submitted
    index: dict[int, int] = {}
    live: dict[int, Job] = {}
    sched = Scheduler(fleet, policy, tenancy=tenancy)
    state = sched.state
    ends: list[tuple[float, int, int, int]] = []  # (time, seq, job id, kind)
    run_seq: dict[int, int] = {}  # running job -> seq of its finish entry
    nan = float("nan")
    seq = 0
    nxt = next(arrivals, None)
    next_sample = 0.0
    done = 0
    total_events = 2 * n
    report_every = max(1, total_events // 200)
    inf = float("inf")
    start, end, cluster, state_arr = rec.start, rec.end, rec.cluster, rec.state
    n_domains, n_blocks = rec.n_domains, rec.n_blocks
    domain_block = fleet.domain_block
    heappush, heappop = heapq.heappush, heapq.heappop
    wake = None  # a time the core asked to be woken at (a grant's start or end)
    dist = _disturbances(realism, sched, rec, index, live, run_seq, seed, window)
    # failures and drains need to know which jobs sit on which domains
    tracker = dist if dist is not None and dist.tracks else None
    next_dist = dist.next_time() if dist is not None else inf
    ci, nc = 0, len(cancels)
    claim_reason: dict[int, str] = {}  # job being preempted -> why (the Preempt's reason)
    dropped: set[int] = set()  # seqs of finishes of cancelled runs, dropped when on top
    while (
        nxt is not None
        or ci < nc
        or ends
        or wake is not None
        or (dist is not None and _queued(sched) and dist.may_free())
    ):
        t = min(nxt.submit if nxt is not None else inf, ends[0][0] if ends else inf)
        if wake is not None and wake < t:
            t = wake
        if next_dist < t:
            t = next_dist
        if ci < nc and cancels[ci][0] < t:
            t = cancels[ci][0]
        if until is not None and t > until:
            break
        while next_sample <= t:
            _sample(rec, sched, next_sample, dist)
            next_sample += sample_every
        events = 0
        while ends and ends[0][0] == t:
            _, sq, jid, kind = heappop(ends)
            if kind == _FINISH:
                if run_seq.get(jid) != sq:
                    continue  # evicted before it could finish
                del run_seq[jid]
                sched.apply(Finish(jid), t)
                end[index.pop(jid)] = t
                del live[jid]
                events += 1
                if tracker is not None:
                    tracker.ended(jid)
            elif jid in run_seq and run_seq[jid] == kind - _EVICT:
                del run_seq[jid]
                i = index[jid]
                rec.preempted.append((i, start[i], t, cluster[i]))
                rec.preempted_by.append(claim_reason.pop(jid, ""))
                sched.apply(Evict(jid), t)
                if tracker is not None:
                    tracker.ended(jid)
                start[i] = nan
                cluster[i] = -1
                state_arr[i] = PENDING
        if next_dist <= t and dist is not None:
            dist.fire(t)
            next_dist = dist.next_time()
        while ci < nc and cancels[ci][0] <= t:
            jid = cancels[ci][1]
            ci += 1
            if jid in sched.running:
                dropped.add(run_seq.pop(jid))
                end[index[jid]] = t
                if tracker is not None:
                    tracker.ended(jid)
            elif jid not in sched.pending:
                continue
            sched.apply(Cancel(jid), t)
            state_arr[index.pop(jid)] = CANCELLED
            del live[jid]
            events += 1
        while nxt is not None and nxt.submit == t:
            job = nxt
            if job.id in index:
                _duplicate(job.id)
            index[job.id] = rec.add(job)
            live[job.id] = job
            for d in sched.apply(Submit(job), t):
                if isinstance(d, Reject):
                    i = index.pop(d.job_id)
                    del live[d.job_id]
                    state_arr[i] = REJECTED
                    rec.reasons[i] = d.reason
                    events += 1
            nxt = next(arrivals, None)
            if nxt is not None and (nxt.submit < t or (nxt.submit == t and nxt.id <= job.id)):
                _out_of_order(job, nxt)
            events += 1
        if tracker is not None and tracker.unsettled:
            tracker.settle(t)  # GPUs freed on draining domains: down before the pass
        for d in sched.decide(t):
            if isinstance(d, Start):
                i = index[d.job_id]
                start[i] = t
                alloc = d.allocation
                parts = alloc.parts
                cluster[i] = alloc.cluster
                if len(parts) > 1:
                    n_domains[i] = len(parts)
                    n_blocks[i] = len({domain_block[dom] for dom, _ in parts})
                else:
                    n_domains[i] = n_blocks[i] = 1
                state_arr[i] = TIMEOUT if d.timed_out else COMPLETED
                seq += 1
                heappush(ends, (t + d.duration, seq, d.job_id, _FINISH))
                run_seq[d.job_id] = seq
                if tracker is not None:
                    tracker.started(d.job_id, parts)
            elif isinstance(d, Preempt):
                # the eviction names the run it cuts: kind = _EVICT + that run's finish seq
                seq += 1
                heappush(ends, (d.at, seq, d.job_id, _EVICT + run_seq[d.job_id]))
                claim_reason[d.job_id] = d.reason
        if tenancy is not None:
            wake = sched.wakeup()
        if check is not None:
            check(sched, t)
        while dropped and ends and ends[0][1] in dropped:
            dropped.discard(heappop(ends)[1])  # a cancelled run's finish: no pass for it
        if progress is not None:
            before = done
            done += events
            if done // report_every != before // report_every:
                progress(done, total_events)
    while nxt is not None:  # stopped at `until`: the jobs not yet arrived wait in the record
        rec.add(nxt)
        nxt = next(arrivals, None)
    for jid in sched.running:
        state_arr[index[jid]] = RUNNING
    if progress is not None:
        progress(total_events, total_events)
    del state
    rec.wall_seconds = time.perf_counter() - t0
    return rec


def _arrivals(jobs: Iterable[Job]) -> tuple[Iterator[Job], int, float | None]:
    """(jobs in (submit, id) order, how many when known else 0, last submit when known).

    A list or tuple is checked for duplicate ids and sorted (copied only when out of order);
    any other iterable is read lazily as it comes, its length taken when it has one.
    """
    if isinstance(jobs, list | tuple):
        if len({j.id for j in jobs}) != len(jobs):
            raise TraceError("duplicate job ids in workload")
        key = _order
        if any(key(a) > key(b) for a, b in pairwise(jobs)):
            jobs = sorted(jobs, key=key)
        return iter(jobs), len(jobs), jobs[-1].submit if jobs else 0.0
    n = len(jobs) if isinstance(jobs, Sized) else 0
    return iter(jobs), n, None


def _order(job: Job) -> tuple[float, int]:
    return (job.submit, job.id)


def _duplicate(job_id: int) -> NoReturn:
    raise TraceError(f"duplicate job id {job_id} in workload")


def _out_of_order(job: Job, nxt: Job) -> NoReturn:
    raise TraceError(
        f"jobs out of (submit, id) order: job {nxt.id} at {nxt.submit} after job {job.id} "
        f"at {job.submit}"
    )


def _disturbances(
    realism: Realism | None,
    sched: Scheduler,
    rec: RunRecord,
    index: dict[int, int],
    live: dict[int, Job],
    run_seq: dict[int, int],
    seed: int | None,
    window: float,
) -> Disturbances | None:
    """The fleet-event source of a run with realism switched on; None when all is off."""
    if realism is None or not realism.active:
        return None
    fleet = sched.fleet
    rec.failures_on = realism.failures is not None
    rec.maintenance_on = realism.maintenance
    rec.start_date = realism.start.isoformat() if realism.start is not None else ""
    rec.power_caps = realism.power
    rec.online_at = online_at(fleet, realism.start)
    events = timeline(fleet, realism.start, realism.power)
    drains = waves(fleet, window, seed) if realism.maintenance else []
    return Disturbances(
        sched, rec, index, live, run_seq, events, realism.failures, seed, realism.strikes, drains
    )


def _queued(sched: Scheduler) -> bool:
    """Whether a waiting job could start when GPUs come back from repair.

    Jobs parked by their tenant's quota or grants are left out: only a job ending or a grant
    boundary (the core's `wakeup`) releases them, never a repair. Counting them kept a run
    whose parked jobs could never start (a grant that ended) going forever once nothing ran:
    failures on idle nodes always leave a repair to wait for, and the clock ran on, adding a
    sample every hour (issue 7: 9.6 GB after 24 min of a year at 5% load).
    """
    return len(sched.pending) > len(sched.park_reason)


def _sample(rec: RunRecord, sched: Scheduler, t: float, dist: Disturbances | None) -> None:
    st = sched.state
    caps = [c.gpus for c in sched.fleet.clusters]
    rec.sample_time.append(t)
    if dist is None:
        busy = tuple(c - f for c, f in zip(caps, st.cluster_free, strict=True))
    else:
        # down GPUs are held in the allocation state but nobody runs on them
        down = tuple(dist.down_by_cluster)
        busy = tuple(c - f - x for c, f, x in zip(caps, st.cluster_free, down, strict=True))
        rec.sample_down.append(down)
    rec.sample_busy.append(busy)
    rec.sample_pending.append(len(sched.pending))
    rec.sample_running.append(len(sched.running))
    counts, unusable = waiting_summary(sched)
    rec.sample_waiting.append(tuple(counts[c] for c in CODES))
    rec.sample_unusable.append(unusable)
