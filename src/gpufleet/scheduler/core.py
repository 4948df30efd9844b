"""The scheduler core: `handle(event, now) -> decisions`, the same object in the twin and live.

A scheduling pass reads top-down:

1. take the head of every pending shape (jobs with the same GPU count, topology and allowed
   models share a heap ordered by the policy's key) and merge the heads in policy order;
2. start jobs in that order while they fit (placement policy on the free-capacity index);
3. at the first job that does not fit (the *reserved head*), stop, or with EASY backfill
   compute its shadow time: the earliest moment the running jobs' planned ends free enough
   GPUs of the right topology, and the domains it will take then;
4. keep merging: a later job starts now if it fits and either ends by the shadow time or leaves
   the reserved head's domains enough GPUs (`limit`);
5. a shape whose head could not start is closed for the rest of the pass: its later jobs
   need the same GPUs and cannot fit either (EASY's one concession to speed here: a later,
   shorter job of a closed shape waits for the next pass).

A pass after arrivals only (no GPUs were freed) looks at the new jobs alone: everything that
could not start before still cannot. Planned ends use the job's time limit, or its true run
time when it has none (an oracle).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from gpufleet.errors import ConfigError, InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.fleet.state import Allocation, AllocationState
from gpufleet.policy.ordering import OrderKey
from gpufleet.policy.placement import Limit, _min_domains
from gpufleet.policy.registry import Policy
from gpufleet.scheduler import outages, tenants
from gpufleet.scheduler.events import (
    Cancel,
    Decision,
    Down,
    Event,
    Evict,
    Fail,
    Finish,
    PowerCap,
    Reject,
    Start,
    Submit,
    Up,
)
from gpufleet.scheduler.fairqueue import FairQueue
from gpufleet.scheduler.fairshare import FairShare
from gpufleet.scheduler.quota import Charge, Quota
from gpufleet.scheduler.sortedseq import SortedSeq
from gpufleet.tenancy.model import Tenancy
from gpufleet.workload.job import TOPOLOGIES, Job

_EPS = 1e-9
# Jobs examined per shape when looking past a blocked shape head for jobs that end by the
# shadow time (Slurm bounds its backfill scan the same way, bf_max_job_test).
BACKFILL_SCAN = 1000
_ShapeKey = tuple[tuple[str, ...], tuple[str, ...], int, str]  # models, sites, GPUs, topology
# A reservation whose GPUs came back early stays a valid promise; it is recomputed (to move
# the shadow time earlier) at most this often, like Slurm's backfill interval (bf_interval).
RESERVATION_REFRESH_S = 30.0
# (leaf, sites the job may use, most GPUs its tenant may ever run there, why not or "")
_Admission = tuple[int, tuple[str, ...], int, str]


@dataclass(slots=True)
class _Shape:
    """Pending jobs that need the same GPUs, sorted by (order key, job id)."""

    key: _ShapeKey
    gpus: int
    topology: str
    clusters: tuple[int, ...]
    cset: int  # id of `clusters` among the distinct candidate sets
    queue: SortedSeq | FairQueue = field(default_factory=SortedSeq)


# A merge entry: (order key, shape index, shape, job id, short_only). short_only entries are
# later jobs of a shape whose head could not backfill; only jobs ending by the shadow may go.
_Head = tuple[OrderKey, int, _Shape, int, bool]
_NO_FIT, _HARMS = 0, 1  # why a backfill candidate did not start
_End = tuple[float, int, tuple[tuple[int, int], ...]]  # (planned end, job id, its GPUs)


# Plain classes, not dataclasses: one of each per start or plan, and a compiled class with
# its own __init__ builds about ten times faster than a dataclass (gpufleet/value.py).
class _Running:
    __slots__ = ("allocation", "charge", "job", "planned_end", "start")

    def __init__(
        self,
        job: Job,
        allocation: Allocation,
        start: float,
        planned_end: float,
        charge: Charge | None = None,
    ) -> None:
        self.job = job
        self.allocation = allocation
        self.start = start
        self.planned_end = planned_end
        self.charge = charge  # what the start charged to the tenant tree, if one is set


class _Reservation:
    """Where and when the reserved head will start, and what later jobs may still take.

    `extra`: reserved domain -> GPUs free at the shadow time beyond the head's; `limit`:
    reserved domain -> GPUs a job running past the shadow may take. `domain` and `block` say
    what decided the shadow on `cluster`: one domain (its id), one block (its id), or the
    whole cluster (both -1). A start past the shadow that leaves this untouched keeps the plan.
    """

    __slots__ = ("block", "cluster", "domain", "extra", "job_id", "limit", "shadow")

    def __init__(
        self,
        job_id: int,
        shadow: float,
        cluster: int,
        extra: dict[int, int],
        limit: dict[int, int],
        domain: int = -1,
        block: int = -1,
    ) -> None:
        self.job_id = job_id
        self.shadow = shadow
        self.cluster = cluster
        self.extra = extra
        self.limit = limit
        self.domain = domain
        self.block = block


class _MergedKeys(dict[int, OrderKey]):
    """Merged fair-share keys computed when first asked for (a pass of one new job needs
    its key only when something is blocked, and then once or twice)."""

    __slots__ = ("_core",)

    def __init__(self, core: Scheduler) -> None:
        super().__init__()
        self._core = core

    def __missing__(self, job_id: int) -> OrderKey:
        key = self[job_id] = tenants.merged_key(self._core, job_id)
        return key


class Scheduler:
    """Event-driven scheduler core over one fleet and one policy. Pure: no clock, no I/O."""

    def __init__(
        self,
        fleet: Fleet,
        policy: Policy,
        state: AllocationState | None = None,
        tenancy: Tenancy | None = None,
    ) -> None:
        self.fleet = fleet
        self.policy = policy
        self.tenancy = tenancy
        self.quota = Quota(tenancy, fleet) if tenancy is not None else None
        if policy.fair and self.quota is None:
            raise ConfigError(
                f"policy {policy.name!r} orders by fair share: it needs a tenant tree"
            )
        self._fair = FairShare(self.quota) if policy.fair and self.quota is not None else None
        # tenant name -> its leaf in the tree: a job's leaf is read through its tenant (a
        # table of a few hundred names), not kept per job
        self._leaf_of: dict[str, int] = tenancy.leaf if tenancy is not None else {}
        # Jobs held back by quota or grants, per leaf, by (order key, id); why; and which
        # nodes' usage must fall before a leaf is looked at again.
        self._parked: dict[int, SortedSeq] = {}
        self.park_reason: dict[int, str] = {}
        # per tenant (leaf): candidate set -> what its quota gate checks
        nodes = len(tenancy.nodes) if tenancy is not None else 0
        self._gate_plan: list[dict[int, tenants.GatePlan | None]] = [{} for _ in range(nodes)]
        # (tenant, candidate set, groups open) -> the clusters the gate lets through
        self._gate_open: dict[tuple[int, int, int], tuple[int, ...]] = {}
        self._one_key = _MergedKeys(self)  # a lone new job's merged key, when needed
        self._waiting_on: dict[int, set[int]] = {}  # node -> tenants parked on it
        self._waiting_bits = 0  # bit n set while tenants are parked on node n (n >= 0)
        self._waits_of: dict[int, set[int]] = {}  # tenant -> nodes it is parked on
        self._recheck: set[int] = set()
        self._boundary = 0
        # (tenant, data class, sites, models) -> admission, for tenants of the tree
        self._admission: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], _Admission] = {}
        self._evicting: dict[int, float] = {}  # job -> time its eviction takes effect
        self._claims: dict[int, set[int]] = {}  # reclaiming job -> victims not yet gone
        # GPUs of victims already gone, held for their claiming job (ids below HOLD_BASE)
        self._holds: dict[int, list[int]] = {}
        self._claim_of: dict[int, tuple[int, str, int]] = {}  # claimer -> leaf, model, GPUs
        self._reclaim_at: dict[int, float] = {}  # job -> last reclaim attempt
        # cluster -> ((its GPU returns, quota grows, claims epoch), topology -> fewest GPUs
        # no reclaim walk there made room for): see `tenants.victims_for`
        self._no_victims: dict[int, tuple[tuple[int, int, int], dict[str, int]]] = {}
        # cluster -> ((its GPU returns, quota rises, claims epoch), most reclaim could free)
        self._reach: dict[int, tuple[tuple[int, int, int], int]] = {}
        self._claims_epoch = 0
        self._victims_seen: dict[int, tenants.Reachable] = {}  # cluster -> what reclaim may take
        # GPU flavor -> leaf -> over its guarantee on that flavor, while Quota.crossings is
        # `_over_at`
        self._over_now: dict[int, dict[int, bool]] = {}
        self._over_at = -1
        # per cluster and tenant leaf: running jobs that borrowed at start, in victim order
        # (by leaf, so that reclaim walks only the lines still over their guarantees)
        self._borrowers: list[dict[int, SortedSeq]] = [{} for _ in fleet.clusters]
        self._borrowed = [0] * len(fleet.clusters)  # GPUs of `_borrowers` per cluster
        self._borrowed_by: list[dict[int, int]] = [{} for _ in fleet.clusters]  # ... per leaf
        self.preemptions: dict[int, int] = {}
        self.failures: dict[int, int] = {}
        # Waiting jobs (not parked) of tenants with a guarantee on their line, per leaf, and
        # whether usage fell on such a line since the last pass (then they are looked at).
        self._gq: dict[int, SortedSeq] = {}
        self._gq_by_mask: dict[int, list[int]] = {}  # `Quota.path_mask` -> leaves of `_gq`, sorted
        self._gq_gpus: dict[int, int] = {}  # GPUs asked -> how many jobs in `_gq` ask that
        self._gq_most = 0  # the largest key of `_gq_gpus` (0 when empty)
        self._gsweep = False
        self._cset_models: dict[int, set[str]] = {}  # candidate set -> its GPU models
        self._fell = 0  # the bits (`Quota.gbit`) of the nodes whose usage fell since the last sweep
        self._fell_before: dict[tuple[int, int], int] = {}  # (node, flavor) -> usage before
        self._head_verdict: tuple[int, float, bool] | None = None
        self._sweep_at = 0
        self._sweep_all = False
        self.down: dict[int, int] = {}  # domain -> GPUs out of service
        # Power: IT watts a busy GPU of each cluster draws (its node's share), busy watts per
        # site, and the caps in force (site index -> watts).
        site_index = {s.id: i for i, s in enumerate(fleet.sites)}
        self._site_of = tuple(site_index[c.site] for c in fleet.clusters)
        self._gpu_watts = tuple(
            (c.node_kw * 1000.0 / c.node_gpus) if c.node_kw else fleet.models[c.gpu_model].tdp_w
            for c in fleet.clusters
        )
        self.site_watts = [0.0] * len(fleet.sites)
        self._power_cap: dict[int, float] = {}
        self.state = state if state is not None else AllocationState(fleet)
        self.pending: dict[int, Job] = {}
        self.running: dict[int, _Running] = {}
        self._shapes: dict[_ShapeKey, _Shape] = {}
        self._job_shape: dict[int, _Shape] = {}
        # per cluster: (planned end, job id, its allocation's parts) of its running jobs, for
        # shadow times (the parts ride along: a walk then never looks a running job up)
        self._ends: list[SortedSeq] = [SortedSeq() for _ in fleet.clusters]
        self._candidates: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, ...]] = {}
        # (gpus, topology, models, ref model, sites) of jobs the fleet can hold
        self._fits: set[tuple[int, str, tuple[str, ...], str, tuple[str, ...]]] = set()
        self._site_ids = frozenset(s.id for s in fleet.sites)
        self._speed: dict[tuple[str, int], float] = {}
        self._new: list[Job] = []
        self._unqueued: set[int] = set()
        self._key: dict[int, OrderKey] = {}
        self._full_pass = False
        self._dirty: set[int] = set()  # clusters whose GPUs came back since the last pass
        self._active: dict[_ShapeKey, _Shape] = {}  # shapes with pending jobs
        self._csets: dict[tuple[int, ...], int] = {}
        self._cset_mask: list[int] = []  # candidate set -> bit mask of its clusters
        self._resv_stale = False
        self._resv_at = 0.0
        self._resv_hint = (-1, -1)  # (head, cluster) of the last plan made
        self._blocked: tuple[OrderKey, int] | None = None
        self._resv: _Reservation | None = None
        self._cluster_model = tuple(c.gpu_model for c in fleet.clusters)

    # -- events ---------------------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Decision]:
        """Apply one event and run a scheduling pass."""
        out = self.apply(event, now)
        out.extend(self.decide(now))
        return out

    def apply(self, event: Event, now: float) -> list[Decision]:
        """Apply an event without a pass (an engine batches same-time events, then decides)."""
        if isinstance(event, Submit):
            job, reason = self._admit(event.job)
            if reason is not None:
                return [Reject(job.id, reason)]
            self._enqueue(job)
        elif isinstance(event, Finish):
            self._end(event.job_id, now, cancelled=False)
            tenants.forget(self, event.job_id)
        elif isinstance(event, Evict):
            tenants.evict(self, event.job_id, now)
        elif isinstance(event, Fail):
            outages.fail(self, event, now)
        elif isinstance(event, Down):
            outages.down(self, event.domain, event.gpus)
        elif isinstance(event, Up):
            outages.down(self, event.domain, -event.gpus)
        elif isinstance(event, PowerCap):
            outages.set_power_cap(self, event.site, event.watts)
        elif isinstance(event, Cancel):
            if event.job_id in self.pending:
                self._dequeue(event.job_id)
                if self._blocked is not None and self._blocked[1] == event.job_id:
                    self._full_pass = True
            elif event.job_id in self.running:
                self._end(event.job_id, now, cancelled=True)
            else:
                raise InvariantError(f"cancel of unknown or ended job {event.job_id}")
            tenants.forget(self, event.job_id)
        return []

    def adopt(self, job: Job, allocation: Allocation, start: float) -> None:
        """Take back a job that already runs on `allocation` since `start` (a live restart).

        Not an event: nothing is decided. The job holds its GPUs and plans to end as if the
        core had started it at `start`, so later passes and reservations see it as before.
        """
        if job.id in self.pending or job.id in self.running:
            raise InvariantError(f"job {job.id} adopted twice")
        if allocation.gpus != job.gpus:
            raise InvariantError(
                f"job {job.id} adopted on {allocation.gpus} GPUs, asked {job.gpus}"
            )
        ci = allocation.cluster
        if self.quota is not None:
            job, reason = tenants.sovereign(self, job)
            if reason is not None:
                raise InvariantError(f"adopted job {job.id} breaks the tenant tree: {reason}")
        self.state.take(job.id, allocation)
        self.site_watts[self._site_of[ci]] += job.gpus * self._gpu_watts[ci]
        planned_s = self._planned(job, ci)
        planned = start + planned_s
        run = self.running[job.id] = _Running(job, allocation, start, planned)
        self._ends[ci].add((planned, job.id, allocation.parts))
        if self.quota is not None:
            # usage counts as it did (limits may be over after a tree change: then new work
            # of that tenant waits until usage falls)
            model = self._cluster_model[ci]
            charge = run.charge = self.quota.charge(
                self._leaf_of[job.tenant], model, job.gpus, planned_s, start
            )
            if charge.borrowing:
                self._borrow(ci, job, start, charge.line.leaf)
            if self._fair is not None:  # it accrues from the last recompute on
                line = charge.line
                self._fair.started(line.leaf, line.flavor, job.gpus, self._fair.last)

    def _admit(self, job: Job) -> tuple[Job, str | None]:
        if job.id in self.pending or job.id in self.running:
            raise InvariantError(f"job {job.id} submitted twice")
        if self.quota is not None:
            job, reason = tenants.sovereign(self, job)
            if reason is not None:
                return job, reason
        return job, self._fits_fleet(job)

    def _fits_fleet(self, job: Job) -> str | None:
        """Why the fleet can never hold the job (None: it can). A function of the job's shape
        alone, so shapes that fit are remembered (most jobs share a few hundred shapes)."""
        key = (job.gpus, job.topology, job.models, job.ref_model, job.sites)
        if key in self._fits:
            return None
        reason = self._never_fits(job)
        if reason is None:
            self._fits.add(key)
        return reason

    def _never_fits(self, job: Job) -> str | None:
        if job.gpus <= 0:
            return f"job {job.id}: gpus must be > 0, got {job.gpus}"
        if job.topology not in TOPOLOGIES:
            return f"job {job.id}: topology must be one of {', '.join(TOPOLOGIES)}"
        unknown = [m for m in job.models if m not in self.fleet.models]
        if unknown or job.ref_model not in self.fleet.models:
            bad = ", ".join(unknown or [job.ref_model])
            return f"job {job.id}: unknown GPU model {bad}"
        unknown = [s for s in job.sites if s not in self._site_ids]
        if unknown:
            return f"job {job.id}: unknown site {', '.join(unknown)}"
        if not any(self._capacity(ci, job.topology) >= job.gpus for ci in self._clusters_for(job)):
            where = ", ".join(job.models) if job.models else "any model"
            if job.sites:
                where += " at " + ", ".join(job.sites)
            return (
                f"job {job.id}: no cluster of {where} can hold {job.gpus} GPUs "
                f"within one {job.topology if job.topology != 'any' else 'cluster'}"
            )
        return None

    def _capacity(self, ci: int, topology: str) -> int:
        return self.fleet.gang_capacity(ci, topology)

    def _clusters_for(self, job: Job) -> tuple[int, ...]:
        """Candidate clusters: allowed models (in preference order) at allowed sites."""
        key = (job.models, job.sites)
        found = self._candidates.get(key)
        if found is None:
            sites = set(job.sites)
            at = [ci for ci, c in enumerate(self.fleet.clusters) if not sites or c.site in sites]
            if job.models:
                rank = {m: i for i, m in enumerate(job.models)}
                found = tuple(
                    sorted(
                        (ci for ci in at if self._cluster_model[ci] in rank),
                        key=lambda ci: (rank[self._cluster_model[ci]], ci),
                    )
                )
            else:
                found = tuple(at)
            self._candidates[key] = found
        return found

    def _enqueue(self, job: Job) -> None:
        key = (job.models, job.sites, job.gpus, job.topology)
        shape = self._shapes.get(key)
        if shape is None:
            clusters = tuple(
                ci for ci in self._clusters_for(job) if self._capacity(ci, job.topology) >= job.gpus
            )
            cset = self._csets.get(clusters)
            if cset is None:
                cset = self._csets[clusters] = len(self._cset_mask)
                self._cset_mask.append(sum(1 << ci for ci in clusters))
            shape = self._shapes[key] = _Shape(key, job.gpus, job.topology, clusters, cset)
            if self._fair is not None:
                shape.queue = FairQueue(self._fair, self.pending, self._leaf_of)
        self.pending[job.id] = job
        self._job_shape[job.id] = shape
        self._key[job.id] = self.policy.order(job)
        self._new.append(job)
        self._unqueued.add(job.id)  # queued by the next pass unless it starts at once

    def _queue(self, job_id: int) -> None:
        """Put a pending job in its shape's queue (new jobs wait outside until a pass)."""
        if job_id in self._unqueued:
            self._unqueued.discard(job_id)
            shape = self._job_shape[job_id]
            shape.queue.add((self._key[job_id], job_id))
            self._active[shape.key] = shape
            if self.quota is not None:
                tenants.watch(self, job_id)  # waiting: guarantee sweeps may look for it

    def pending_leaf(self, job_id: int) -> int:
        """The tenant tree leaf of a pending job (its tenant's)."""
        return self._leaf_of[self.pending[job_id].tenant]

    def _dequeue(self, job_id: int) -> None:
        """Take a job out of the pending structures (it starts or is cancelled)."""
        shape = self._job_shape.pop(job_id)
        key = self._key.pop(job_id)
        if job_id in self._unqueued:
            self._unqueued.discard(job_id)
        elif job_id in self.park_reason:
            del self.park_reason[job_id]
            leaf = self.pending_leaf(job_id)
            parked = self._parked[leaf]
            parked.remove((key, job_id))
            if not parked:
                tenants.settle(self, leaf)
        else:
            shape.queue.remove((key, job_id))
            if not shape.queue:
                del self._active[shape.key]
            if self._gq:  # only queued jobs are watched (a parked one was unwatched then)
                leaf = self.pending_leaf(job_id)
                tenants.unwatch(self, leaf, job_id, key, shape.gpus)
        del self.pending[job_id]  # last: the fair queue reads the job's tenant

    def _end(self, job_id: int, now: float, cancelled: bool) -> None:
        run = self.running.pop(job_id, None)
        if run is None:
            raise InvariantError(f"finish of job {job_id}, which is not running")
        self.state.release(job_id)
        ci = run.allocation.cluster
        self.site_watts[self._site_of[ci]] -= run.job.gpus * self._gpu_watts[ci]
        self._ends[ci].remove((run.planned_end, job_id, run.allocation.parts))
        self._dirty.add(ci)
        if self.quota is not None:
            c = run.charge
            assert c is not None
            if c.borrowing:
                self._unborrow(ci, run.job, run.start, c.line.leaf)
            if self._fair is not None:
                line = c.line
                self._fair.ended(line.leaf, line.flavor, c.gpus, now)
            tenants.release_charge(self, c, now - run.start)
            if self._evicting:
                self._evicting.pop(job_id, None)
            if self._claims:
                tenants.hold_for_claim(self, job_id, run.allocation)
        resv = self._resv
        early = cancelled or now < run.planned_end - _EPS
        if resv is not None and early and ci in self._job_shape_clusters(resv.job_id):
            # GPUs came back earlier than planned: the shadow time may move earlier.
            self._resv_stale = True

    def _job_shape_clusters(self, job_id: int) -> tuple[int, ...]:
        shape = self._job_shape.get(job_id)
        return shape.clusters if shape is not None else ()

    # -- tenancy: the quota gate, parking, reclaim ----------------------------------------
    def _gate(self, job: Job, shape: _Shape, now: float) -> tuple[int, ...] | None:
        """Clusters where quota, grants and power caps let `job` start now; None (the job is
        parked) when quota or grants allow none; an empty tuple when only power is short
        (the job then waits like one short of GPUs)."""
        if self._power_cap:
            clusters = outages.powered(self, job, shape.clusters)
            if not clusters:
                return clusters
            if clusters != shape.clusters:
                gated = tenants.quota_gate(self, job, shape, now)
                return None if gated is None else tuple(c for c in gated if c in clusters)
        return tenants.quota_gate(self, job, shape, now)

    # -- durations ------------------------------------------------------------------------
    def duration(self, job: Job, ci: int) -> tuple[float, bool]:
        """Run time of `job` on cluster `ci`, cut at its time limit; (seconds, timed out).

        Run time and time limit are both given on the job's reference model; on another model
        both scale by the dense BF16 throughput ratio, unless `runtimes` names that model.
        """
        ratio = self._ratio(job.ref_model, ci)
        model = self._cluster_model[ci]
        run: float | None = None
        for m, t in job.runtimes:
            if m == model:
                run = t
                break
        if run is None:
            run = job.runtime * ratio
        if job.time_limit is not None:
            limit = job.time_limit * ratio
            if run > limit:
                return limit, True
        return run, False

    def _ratio(self, ref_model: str, ci: int) -> float:
        ratio = self._speed.get((ref_model, ci))
        if ratio is None:
            ref = self.fleet.models[ref_model].bf16_tflops
            here = self.fleet.models[self._cluster_model[ci]].bf16_tflops
            ratio = self._speed[(ref_model, ci)] = ref / here
        return ratio

    def _planned(self, job: Job, ci: int) -> float:
        """What the scheduler may assume about run time: the limit, else the oracle."""
        if job.time_limit is not None:
            return job.time_limit * self._ratio(job.ref_model, ci)
        return self.duration(job, ci)[0]

    # -- the pass -------------------------------------------------------------------------
    def decide(self, now: float) -> list[Decision]:
        """One scheduling pass; returns the jobs to start now (and those to preempt)."""
        q = self.quota
        if q is not None:
            fair = self._fair
            if (
                fair is not None
                and now >= fair.next_at
                and fair.recompute(now, bool(self.pending), self._waiting_leaves())
            ):
                self._full_pass = True  # tenants changed places: every head may differ
                if self._resv_stale:
                    self._resv = None
                else:  # nothing came back early: a plan made now for the same head is this one
                    self._resv_at = now
            first = tenants.claimed_starts(self, now) if self._claims else None
            if self._recheck or (
                self._boundary < len(q.boundaries) and now >= q.boundaries[self._boundary]
            ):
                tenants.unpark(self, now)
            out = self._decide(now)
            if first:
                out = first + out
            if self._gsweep:
                self._gsweep = False
                if self._gq:
                    tenants.guarantee_sweep(self, now, out)
            return out
        return self._decide(now)

    def _decide(self, now: float) -> list[Decision]:
        if self._full_pass or self._dirty:
            for job in self._new:
                self._queue(job.id)
            if self._full_pass:
                out = self._pass(now)
            else:
                out = self._pass_freed(now)
                if self._new and not self._full_pass:
                    out += self._pass_new(now)
        elif self._new:
            out = self._pass_new(now)
        else:
            return []
        self._new.clear()
        self._dirty.clear()
        self._full_pass = False
        return out

    def _pass_freed(self, now: float) -> list[Decision]:
        """After GPUs came back: retry the reserved head, then only shapes that could use them.

        Every other shape failed in the last pass on capacity that has only shrunk since, under
        the same reservation, so trying it again would fail again.
        """
        blocked = self._blocked
        if blocked is None:
            return self._pass(now)
        head = self.pending.get(blocked[1])
        if head is None or head.id in self.park_reason:
            # gone, or parked on its quota since it blocked the pass: it is no head any more
            return self._pass(now)
        shape = self._job_shape[head.id]
        clusters = self._gate(head, shape, now)
        if clusters is None or self._place(head, clusters, None) is not None:
            return self._pass(now)
        if not self.policy.backfill:
            return []
        resv = self._resv
        if resv is None or (self._resv_stale and now >= self._resv_at + RESERVATION_REFRESH_S):
            self._resv = None
            return self._pass(now)
        dirty = 0
        for ci in self._dirty:
            dirty |= 1 << ci
        free = self.state.cluster_free
        masks = self._cset_mask
        most: dict[int, int] = {}  # candidate set -> most free GPUs in one of its clusters
        heads: list[_Head] = []
        for sh in self._live_shapes():
            if sh is shape or not masks[sh.cset] & dirty:
                continue
            m = most.get(sh.cset)
            if m is None:
                m = most[sh.cset] = max(free[c] for c in sh.clusters)
            if sh.gpus <= m:
                key, jid = sh.queue[0]
                heads.append((key, len(heads), sh, jid, False))
        heapq.heapify(heads)
        out: list[Decision] = []
        self._backfill(heads, resv, now, out)
        return out

    def _place(self, job: Job, clusters: tuple[int, ...], limit: Limit) -> Allocation | None:
        return self.policy.placement(job.gpus, job.topology, clusters, self.state, limit)

    def _pass(self, now: float) -> list[Decision]:
        out: list[Decision] = []
        heads: list[_Head] = []
        for i, sh in enumerate(self._live_shapes()):
            key, jid = sh.queue[0]
            heads.append((key, i, sh, jid, False))
        heapq.heapify(heads)
        self._blocked = None
        started_before_head = False
        while heads:
            key, i, shape, jid, _ = heapq.heappop(heads)
            job = self.pending[jid]
            clusters = self._gate(job, shape, now)
            if clusters is None:  # parked on quota: the shape's next job may go
                self._push_next(heads, shape, i)
                continue
            alloc = self._place(job, clusters, None)
            if alloc is not None:
                out.append(self._start(job, alloc, now))
                started_before_head = True
                self._push_next(heads, shape, i)
                continue
            self._blocked = (key, job.id)
            if self.quota is not None:
                tenants.reclaim(self, job, clusters, now, out)
                self._gsweep = self._sweep_all = True  # jobs behind it may be guaranteed
            if self.policy.backfill:
                if started_before_head or (self._resv is not None and self._resv.job_id != job.id):
                    self._resv = None
                resv = self._reservation(job, shape, now)
                self._backfill(heads, resv, now, out)
            break
        return out

    def _backfill(
        self, heads: list[_Head], resv: _Reservation, now: float, out: list[Decision]
    ) -> None:
        """Merge the remaining candidates in policy order; start those that cannot delay the head.

        A shape whose head fails for lack of GPUs is closed (its later jobs need the same GPUs).
        One whose head fails because it would run past the shadow time on reserved GPUs stays
        open for its later jobs that end by the shadow time.
        """
        while heads:
            key, i, shape, jid, short_only = heapq.heappop(heads)
            job = self.pending[jid]
            clusters = self._gate(job, shape, now)
            if clusters is None:  # parked on quota: look further down the shape
                if short_only:
                    self._push_short(heads, shape, i, (key, jid), resv, now)
                else:
                    self._push_next(heads, shape, i)
                continue
            if short_only:
                alloc = self._place(job, clusters, None)
                if alloc is None:
                    continue
                out.append(self._start(job, alloc, now))
                self._push_short(heads, shape, i, (key, jid), resv, now)
                continue
            result = self._try_backfill(job, clusters, resv, now)
            if isinstance(result, Start):
                out.append(result)
                self._push_next(heads, shape, i)
            elif result == _HARMS:
                self._push_short(heads, shape, i, (key, jid), resv, now)
            elif self.quota is not None:
                tenants.reclaim(self, job, clusters, now, out)

    def _push_short(
        self,
        heads: list[_Head],
        shape: _Shape,
        i: int,
        after: tuple[OrderKey, int],
        resv: _Reservation,
        now: float,
    ) -> None:
        """Queue the shape's next job after `after` that ends by the shadow time, if any."""
        window = resv.shadow + _EPS - now
        pending = self.pending
        for n, (key, jid) in enumerate(shape.queue.irange(minimum=after, inclusive=(False, True))):
            if n >= BACKFILL_SCAN:
                return
            if self._planned(pending[jid], resv.cluster) <= window:
                heapq.heappush(heads, (key, i, shape, jid, True))
                return

    def _pass_new(self, now: float) -> list[Decision]:
        """After arrivals only: try the new jobs alone, in policy order.

        A new job that starts at once never enters its shape's queue; the others are queued.
        """
        out: list[Decision] = []
        new = self._new
        if self._fair is None:
            keys = self._key
        elif len(new) > 1:
            keys = tenants.merged_keys(self, new)
        else:
            keys = self._one_key  # computed only if asked for; empty at every pass
            keys.clear()
        if len(new) > 1:
            new.sort(key=lambda j: keys.get(j.id, ()))
        for n, job in enumerate(new):
            if job.id not in self.pending or job.id in self.park_reason:
                continue
            shape = self._job_shape[job.id]
            clusters = self._gate(job, shape, now)
            if clusters is None:  # parked on quota
                continue
            if self._blocked is None:
                alloc = self._place(job, clusters, None)
                if alloc is not None:
                    out.append(self._start(job, alloc, now))
                    continue
                self._blocked = (keys[job.id], job.id)
                if self.policy.backfill:
                    self._resv = None
                if self.quota is not None:
                    tenants.reclaim(self, job, clusters, now, out)
            elif keys[job.id] < self._blocked[0]:
                # A new job jumps ahead of the reserved head. Where it fits away from the
                # head's clusters, or ends there by the shadow time (and the reservation is
                # not due for a refresh), a whole pass would start it and nothing more: the
                # head's reservation comes out the same, and every other shape failed on
                # capacity that has only shrunk. Else redo the pass.
                if self._jump_ahead(job, clusters, now, out):
                    continue
                self._resv = None
                for later in new[n:]:
                    self._queue(later.id)
                return out + self._pass(now)
            elif self.policy.backfill:
                resv = self._resv
                if resv is None:
                    head = self.pending.get(self._blocked[1])
                    if head is None:
                        for later in new[n:]:
                            self._queue(later.id)
                        return out + self._pass(now)
                    resv = self._reservation(head, self._job_shape[head.id], now)
                started = self._try_backfill(job, clusters, resv, now)
                if isinstance(started, Start):
                    out.append(started)
                    continue
            if self.quota is not None and tenants.guaranteed_start(self, job, clusters, now, out):
                continue
            self._queue(job.id)
        return out

    def _jump_ahead(
        self, job: Job, clusters: tuple[int, ...], now: float, out: list[Decision]
    ) -> bool:
        assert self._blocked is not None
        head = self._job_shape.get(self._blocked[1])
        resv = self._resv
        if head is None or (
            self.policy.backfill
            and (
                resv is None or (self._resv_stale and now >= self._resv_at + RESERVATION_REFRESH_S)
            )
        ):
            return False  # a whole pass would plan the reservation anew
        alloc = self._place(job, clusters, None)
        if alloc is None:
            return False  # it becomes the blocked head: a whole pass plans for it
        if (
            resv is not None
            and alloc.cluster in head.clusters
            and now + self._planned(job, alloc.cluster) > resv.shadow + _EPS
        ):
            if not self._keeps_plan(alloc, resv):
                return False  # it may move the head's shadow time: plan the reservation anew
            if not self._resv_stale:
                self._resv_at = now  # a plan made now would be this one: it counts as refreshed
            # (a stale plan, not yet due for its refresh, stays a promise the head can keep:
            # GPUs that came back early only add to what it counted on)
        out.append(self._start(job, alloc, now))
        return True

    def _keeps_plan(self, alloc: Allocation, resv: _Reservation) -> bool:
        """Whether GPUs taken by `alloc` until past the shadow time leave the plan as it is.

        The plan is the first planned end at which the head fits, walking ends in time order:
        fewer free GPUs cannot make it fit at an earlier end, so the plan holds when the end
        that decided it still decides it the same way. That end is on another cluster; or the
        plan needed one domain or one block, and `alloc` takes none of its GPUs (the head's
        fill of a block reads only that block's domains). A plan that needed the whole
        cluster's GPUs reads every domain: any GPU taken there may change it.
        """
        if alloc.cluster != resv.cluster:
            return True
        if resv.domain >= 0:
            return all(d != resv.domain for d, _ in alloc.parts)
        if resv.block >= 0:
            block_of = self.fleet.domain_block
            return all(block_of[d] != resv.block for d, _ in alloc.parts)
        return False

    def _waiting_leaves(self) -> set[int]:
        """Tenants with jobs in the queues (what fair-share ranks order)."""
        out: set[int] = set()
        for sh in self._active.values():
            if isinstance(sh.queue, FairQueue):
                out.update(sh.queue.leaves())
        return out

    def _live_shapes(self) -> list[_Shape]:
        """Shapes with queued jobs, copied (passes start jobs as they go). A shape leaves the
        active set when its last queued job leaves the queue, so none is empty here."""
        return list(self._active.values())

    def _push_next(self, heads: list[_Head], shape: _Shape, i: int) -> None:
        if shape.queue:
            key, jid = shape.queue[0]
            heapq.heappush(heads, (key, i, shape, jid, False))

    def _borrow(self, ci: int, job: Job, start: float, leaf: int) -> None:
        """A job started on borrowed capacity of cluster `ci`: reclaim may take it back."""
        order = self._borrowers[ci].get(leaf)
        if order is None:
            order = self._borrowers[ci][leaf] = SortedSeq()
        order.add((job.priority, -start, -job.id, job.id))
        self._borrowed[ci] += job.gpus
        by = self._borrowed_by[ci]
        by[leaf] = by.get(leaf, 0) + job.gpus

    def _unborrow(self, ci: int, job: Job, start: float, leaf: int) -> None:
        self._borrowers[ci][leaf].remove((job.priority, -start, -job.id, job.id))
        self._borrowed[ci] -= job.gpus
        by = self._borrowed_by[ci]
        left = by[leaf] - job.gpus
        if left:
            by[leaf] = left
        else:
            del by[leaf]
            del self._borrowers[ci][leaf]

    def _start(self, job: Job, alloc: Allocation, now: float) -> Start:
        self._dequeue(job.id)
        self.state.take(job.id, alloc)
        self.site_watts[self._site_of[alloc.cluster]] += job.gpus * self._gpu_watts[alloc.cluster]
        duration, timed_out = self.duration(job, alloc.cluster)
        planned_s = self._planned(job, alloc.cluster)
        planned = now + planned_s
        charge = None
        if self.quota is not None:
            if self._claims.pop(job.id, None) is not None or job.id in self._claim_of:
                tenants.claims_changed(self)
                tenants.release_holds(self, job.id)  # started: what it claimed goes back
            model = self._cluster_model[alloc.cluster]
            leaf = self._leaf_of[job.tenant]
            charge = self.quota.charge(leaf, model, job.gpus, planned_s, now)
            if charge.borrowing:
                self._borrow(alloc.cluster, job, now, leaf)
            if self._fair is not None:
                self._fair.started(leaf, charge.line.flavor, job.gpus, now)
        self.running[job.id] = _Running(job, alloc, now, planned, charge)
        self._ends[alloc.cluster].add((planned, job.id, alloc.parts))
        return Start(job.id, alloc, duration, timed_out)

    # -- EASY backfill --------------------------------------------------------------------
    def _try_backfill(
        self, job: Job, clusters: tuple[int, ...], resv: _Reservation, now: float
    ) -> Start | int:
        """Start `job` now if that cannot delay the reserved head; else say why not.

        A job that ends by the shadow time on the reserved cluster may take any free GPUs;
        one that runs past it may take from the reserved domains only what the head leaves.
        """
        alloc = self._place(job, clusters, None)
        if alloc is None:
            return _NO_FIT
        if (
            alloc.cluster == resv.cluster
            and now + self._planned(job, alloc.cluster) > resv.shadow + _EPS
        ):
            extra = resv.extra
            if any(d in extra and n > extra[d] for d, n in alloc.parts):
                limited = self._place(job, clusters, resv.limit)
                if limited is None:
                    return _HARMS
                alloc = limited
            if alloc.cluster == resv.cluster:
                limit = resv.limit
                for d, n in alloc.parts:
                    if d in extra:
                        x = extra[d] = extra[d] - n
                        limit[d] = max(0, x)
        return self._start(job, alloc, now)

    def _reservation(self, head: Job, shape: _Shape, now: float) -> _Reservation:
        """The shadow time and domains of the reserved head, cached until GPUs return early."""
        cached = self._resv
        if cached is not None and cached.job_id == head.id and cached.shadow >= now - _EPS:
            return cached
        self._resv_at = now
        self._resv_stale = False
        g, topo = head.gpus, head.topology
        # Each cluster's walk reads only its own domains and blocks, so the plan is the
        # earliest (planned end, job id) at which some cluster's walk fits the head: walk
        # the clusters one at a time, each only up to the best found so far, the cluster of
        # this head's last plan first (it most often holds the answer, and its end then
        # bounds the other walks from the start).
        cs = shape.clusters
        hint = self._resv_hint
        if hint[0] == head.id and hint[1] in cs and cs[0] != hint[1]:
            cs = (hint[1], *(c for c in cs if c != hint[1]))
        best: _Reservation | None = None
        bound = (math.inf, -1)
        for ci in cs:
            found = self._plan_on(ci, head.id, g, topo, bound)
            if found is not None:
                best = found[1]
                bound = found[0]
        if best is not None:
            self._resv = best
            self._resv_hint = (head.id, best.cluster)
            return best
        if self.down or self._power_cap or self._holds or self._claims:
            # It waits for GPUs to come back, for power, or for GPUs held for a reclaim, which
            # no planned end tells: no promise to keep, so later jobs may use what is free
            # (held GPUs stay held: a claim is kept whatever backfill does).
            self._resv = _Reservation(head.id, float("inf"), -1, {}, {})
            return self._resv
        raise InvariantError(
            f"job {head.id} cannot start even when every running job ends; admission missed it"
        )

    def _plan_on(
        self, ci: int, head_id: int, g: int, topo: str, bound: tuple[float, int]
    ) -> tuple[tuple[float, int], _Reservation] | None:
        """The first planned end on cluster `ci`, before `bound`, after which the head fits
        there (as the whole walk would find it), with the plan it gives."""
        fleet, state = self.fleet, self.state
        free, block_free, domain_block = state.free, state.block_free, fleet.domain_block
        whole = g <= fleet.clusters[ci].domain_gpus  # one domain can hold the head
        blocks = topo != "domain"
        cluster_free = state.cluster_free[ci]
        overlay: dict[int, int] = {}
        bgain: dict[int, int] = {}
        gain = 0
        bound_t, bound_j = bound
        # typed, so that the compiled walk reads times and ids unboxed
        ends: list[list[_End]] = self._ends[ci].sublists()
        for sub in ends:  # in time order, without a generator
            for planned, jid, held in sub:
                if planned > bound_t or (planned == bound_t and jid >= bound_j):
                    return None
                hit_domain = hit_block = -1
                for d, n in held:
                    f = overlay[d] = overlay.get(d, free[d]) + n
                    gain += n
                    if whole and f >= g and hit_domain < 0:
                        hit_domain = d
                    if blocks:
                        b = domain_block[d]
                        bg = bgain[b] = bgain.get(b, 0) + n
                        if block_free[b] + bg >= g and hit_block < 0:
                            hit_block = b
                if hit_domain >= 0:
                    parts = [(hit_domain, g)]
                    hit_block = -1
                elif hit_block >= 0:
                    parts = self._fill(fleet.block_domains(hit_block), overlay, g)
                elif topo == "any" and cluster_free + gain >= g:
                    parts = self._fill(fleet.cluster_domains(ci), overlay, g)
                else:
                    continue
                extra = {d: overlay.get(d, free[d]) - n for d, n in parts}
                limit = {d: max(0, x) for d, x in extra.items()}
                plan = _Reservation(head_id, planned, ci, extra, limit, hit_domain, hit_block)
                return (planned, jid), plan
        return None

    def _fill(
        self, domains: Iterable[int], overlay: dict[int, int], g: int
    ) -> list[tuple[int, int]]:
        free = self.state.free
        frees = [(f, d) for d in domains if (f := overlay.get(d, free[d]))]
        frees.sort(key=lambda fd: (-fd[0], fd[1]))
        parts = _min_domains(frees, g)
        if parts is None:
            raise InvariantError(f"reservation for {g} GPUs found no domains")
        return parts

    # -- introspection --------------------------------------------------------------------
    def wakeup(self) -> float | None:
        """When the core wants a pass although no event comes (a grant begins or ends while
        jobs wait on it); None when only events matter."""
        q = self.quota
        if q is None or not self._parked or self._boundary >= len(q.boundaries):
            return None
        return q.boundaries[self._boundary]

    def check(self) -> None:
        """Invariants across the core and the allocation state."""
        self.state.check()
        if {j for j in self.state.held if j >= 0} != set(self.running):
            raise InvariantError("held allocations and running jobs differ")
        for d, n in self.down.items():
            held = self.state.held.get(-(d + 1))
            if held is None or held.gpus != n:
                raise InvariantError(f"domain {d}: {n} GPUs down but {held} held for it")
        for jid, run in self.running.items():
            if run.allocation.gpus != run.job.gpus:
                raise InvariantError(
                    f"job {jid} holds {run.allocation.gpus} GPUs, asked {run.job.gpus}"
                )
        if set(self.pending) & set(self.running):
            raise InvariantError("a job is both pending and running")
        if {k for k, sh in self._shapes.items() if sh.queue} != set(self._active):
            raise InvariantError("active shapes and shapes with queued jobs differ")
        queued = sum(len(sh.queue) for sh in self._shapes.values())
        queued += sum(len(p) for p in self._parked.values())
        if queued + len(self._unqueued) != len(self.pending) or not self._unqueued <= set(
            self.pending
        ):
            raise InvariantError("pending jobs and shape queues differ")
        if sum(len(e) for e in self._ends) != len(self.running):
            raise InvariantError("planned-end index out of date")
        for orders, n, by in zip(self._borrowers, self._borrowed, self._borrowed_by, strict=True):
            recount: dict[int, int] = {}
            for leaf, order in orders.items():
                for e in order:
                    run = self.running[e[3]]
                    if run.charge is None or run.charge.line.leaf != leaf or not order:
                        raise InvariantError(f"borrower {e[3]} filed under another leaf")
                    recount[leaf] = recount.get(leaf, 0) + run.job.gpus
            if sum(recount.values()) != n or recount != by:
                raise InvariantError("GPUs on borrowed capacity out of date")
        sizes: dict[int, int] = {}
        for found in self._gq.values():
            for _, jid in found:
                g = self._job_shape[jid].gpus
                sizes[g] = sizes.get(g, 0) + 1
        if sizes != self._gq_gpus or self._gq_most != max(sizes, default=0):
            raise InvariantError("sizes of the jobs sweeps watch out of date")
        if sum(1 << n for n in self._waiting_on if n >= 0) != self._waiting_bits:
            raise InvariantError("nodes with parked tenants out of date")
        if self.quota is not None:
            q = self.quota
            claims = [[0] * len(q.flavors) for _ in q.claim_rows]  # recounted from the claims
            for leaf, model, g in self._claim_of.values():
                for n in q.tenancy.path[leaf]:
                    for f in (q.fid[model], q.any):
                        claims[n][f] += g
            if claims != q.claim_rows or q.claiming != sum(map(sum, claims)):
                raise InvariantError("GPUs being reclaimed, per node and flavor, out of date")
            masks: dict[int, list[int]] = {}
            for leaf in sorted(self._gq):
                masks.setdefault(self.quota.path_mask[leaf], []).append(leaf)
            if masks != self._gq_by_mask:
                raise InvariantError("tenants sweeps watch, by guaranteed nodes, out of date")
