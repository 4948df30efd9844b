"""The twin's outside world: dated fleet events, node failures and repairs, sent to the core.

Failures are one Poisson process over every GPU of the fleet (rate x GPUs per hour), drawn
from a `random.Random` seeded by the run's seed, always in the same order: the gap to the
next failure, the struck GPU, its cause, then (if the cause takes the node down) the node's
other GPUs. A strike on a GPU that is already down is dropped (a down GPU cannot fail again),
so the process thins itself to the GPUs in service. The struck GPU's job is interrupted (a GPU
of a domain is held by a job with a probability equal to its share of the domain's GPUs); a
cause that takes the node down also stops the jobs on the node's other GPUs, then sends
`Down(domain, node GPUs)` and, after the repair, `Up`. Jobs restart from their last
checkpoint (see `engine/failures.py`).
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import date

from gpufleet.engine.failures import Cause, FailureModel, setback
from gpufleet.engine.record import PENDING, RunRecord
from gpufleet.errors import ConfigError
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Down, Event, Fail, Up
from gpufleet.workload.job import Job

Parts = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Strike:
    """A failure at `time` on fleet GPU number `gpu` (clusters in order, domains in order,
    GPU `gpu` mod domain size inside its domain), of the cause named `cause`."""

    time: float
    gpu: int
    cause: str


@dataclass(frozen=True, slots=True)
class Realism:
    """What a twin run adds to the plain fleet, each part switchable.

    `failures`: the failure model, None for none. `start`: the calendar day of t = 0, so sites
    come online on their `online` month (None: the build-out, all online). `power`: caps from
    the sites' `power_phases` (by date from `start`, else each site's last phase).
    `strikes`: failures at given times on given GPUs, on top of the random ones (hand-made
    cases and what-ifs; they need `failures` for the causes and checkpoint costs).
    """

    failures: FailureModel | None = None
    start: date | None = None
    power: bool = False
    strikes: tuple[Strike, ...] = ()

    @property
    def active(self) -> bool:
        return self.failures is not None or self.start is not None or self.power


class Disturbances:
    """Everything that happens to the fleet rather than to a job, in time order."""

    def __init__(
        self,
        sched: Scheduler,
        rec: RunRecord,
        index: dict[int, int],
        run_seq: dict[int, int],
        timeline: list[tuple[float, Event]],
        failures: FailureModel | None,
        seed: int | None,
        strikes: tuple[Strike, ...] = (),
    ) -> None:
        self.sched = sched
        self.rec = rec
        self.index = index
        self.run_seq = run_seq  # the twin's running job -> seq of its finish entry
        self.timeline = timeline
        self.ti = 0
        self.repairs: list[tuple[float, int, int, int]] = []  # (time, seq, domain, GPUs)
        self.seq = 0
        self.model = failures
        fleet = sched.fleet
        self.down_by_cluster = [0] * len(fleet.clusters)
        self.occupants: dict[int, dict[int, int]] = {}  # domain -> {job id: GPUs there}
        self.parts: dict[int, Parts] = {}
        self.left: dict[int, float] = {}  # share of its work a failed job still has to do
        self.rng = random.Random(f"gpufleet-failures-{seed}")
        cum = [0]
        for c in fleet.clusters:
            cum.append(cum[-1] + c.gpus)
        self.cum = cum
        self.next_fail = math.inf
        self.scripted = sorted(strikes, key=lambda s: s.time)
        self.si = 0
        if strikes:
            if failures is None:
                raise ConfigError("scripted failures need a failure model")
            names = {c.name: c for c in failures.causes}
            for sk in strikes:
                if sk.cause not in names or not 0 <= sk.gpu < cum[-1]:
                    raise ConfigError(f"scripted failure {sk}: unknown cause or GPU")
        if failures is not None and cum[-1] > 0:
            self.per_s = failures.rate_per_gpu_hour * cum[-1] / 3600.0
            self.weights = [c.share for c in failures.causes]
            self.next_fail = self.rng.expovariate(self.per_s)

    # -- what the twin asks ---------------------------------------------------------------
    def next_time(self) -> float:
        t = self.next_fail
        if self.ti < len(self.timeline) and self.timeline[self.ti][0] < t:
            t = self.timeline[self.ti][0]
        if self.repairs and self.repairs[0][0] < t:
            t = self.repairs[0][0]
        if self.si < len(self.scripted) and self.scripted[self.si].time < t:
            t = self.scripted[self.si].time
        return t

    def may_free(self) -> bool:
        """Whether a coming fleet event could return GPUs or power (failures never do)."""
        return self.ti < len(self.timeline) or bool(self.repairs)

    def fire(self, t: float) -> None:
        """Apply every fleet event due at `t`: dated phases, repairs, then failures."""
        tl = self.timeline
        while self.ti < len(tl) and tl[self.ti][0] <= t:
            self._send(tl[self.ti][1], t)
            self.ti += 1
        while self.repairs and self.repairs[0][0] <= t:
            _, _, d, n = heapq.heappop(self.repairs)
            self._send(Up(d, n), t)
        while self.si < len(self.scripted) and self.scripted[self.si].time <= t:
            sk = self.scripted[self.si]
            assert self.model is not None
            self._strike(t, sk.gpu, next(c for c in self.model.causes if c.name == sk.cause))
            self.si += 1
        while self.next_fail <= t:
            rng = self.rng
            assert self.model is not None
            gpu = rng.randrange(self.cum[-1])
            self._strike(t, gpu, rng.choices(self.model.causes, self.weights)[0])
            self.next_fail += rng.expovariate(self.per_s)

    def started(self, job_id: int, parts: Parts) -> None:
        self.parts[job_id] = parts
        occ = self.occupants
        for d, n in parts:
            o = occ.get(d)
            if o is None:
                occ[d] = {job_id: n}
            else:
                o[job_id] = n

    def ended(self, job_id: int) -> None:
        occ = self.occupants
        for d, _ in self.parts.pop(job_id):
            del occ[d][job_id]

    # -- inside ---------------------------------------------------------------------------
    def _send(self, event: Event, t: float) -> None:
        if isinstance(event, (Down, Up)):
            ci = self.sched.fleet.domain_cluster[event.domain]
            self.down_by_cluster[ci] += event.gpus if isinstance(event, Down) else -event.gpus
        self.sched.apply(event, t)

    def _strike(self, t: float, g: int, cause: Cause) -> None:
        """A failure of fleet GPU `g`: stop the jobs it hits; take the node down to repair."""
        fleet = self.sched.fleet
        ci = bisect_right(self.cum, g) - 1
        c = fleet.clusters[ci]
        off = g - self.cum[ci]
        d = fleet.cluster_first_domain[ci] + off // c.domain_gpus
        slot = off % c.domain_gpus
        down = self.sched.down.get(d, 0)
        if slot < down:
            return  # the GPU is already out of service
        self.rec.strikes[cause.name] = self.rec.strikes.get(cause.name, 0) + 1
        node = c.node_gpus if cause.repair_s > 0 else 1
        for job_id in self._victims(d, slot - down, c.domain_gpus - down, node):
            self._fail(job_id, t)
        if cause.repair_s > 0:
            self._send(Down(d, c.node_gpus), t)
            self.seq += 1
            heapq.heappush(self.repairs, (t + cause.repair_s, self.seq, d, c.node_gpus))
            # counted whole at the failure, even if the record stops before the repair ends
            self.rec.repair_gpu_s += cause.repair_s * c.node_gpus

    def _victims(self, d: int, first: int, up: int, node: int) -> list[int]:
        """Jobs on `node` GPUs of domain `d`: slot `first` of its `up` in-service GPUs, then
        `node` - 1 more drawn without replacement (slots: free GPUs first, then each job's)."""
        occ = self.occupants.get(d, {})
        owners: list[int] = [-1, *occ]
        counts = [self.sched.state.free[d], *occ.values()]
        if node >= up:
            return list(occ)
        hit: list[int] = []
        pick = first
        for k in range(node):
            if k:
                pick = self.rng.randrange(up - k)
            j = 0
            while pick >= counts[j]:
                pick -= counts[j]
                j += 1
            counts[j] -= 1
            if owners[j] >= 0 and owners[j] not in hit:
                hit.append(owners[j])
        return hit

    def _fail(self, job_id: int, t: float) -> None:
        """Interrupt a running job: keep its work up to the last checkpoint, queue the rest."""
        assert self.model is not None
        sched, rec = self.sched, self.rec
        i = self.index[job_id]
        original = rec.jobs[i]
        current = sched.running[job_id].job
        ci = rec.cluster[i]
        left = self.left.get(job_id, 1.0)
        work_s = sched.duration(_no_limit(original), ci)[0]
        overhead = max(0.0, sched.duration(_no_limit(current), ci)[0] - left * work_s)
        began = rec.start[i]
        sb = setback(
            original,
            left,
            t - began,
            work_s,
            overhead,
            self.model.interval(original),
            self.model.restart_cost_s,
        )
        self.ended(job_id)
        del self.run_seq[job_id]
        sched.apply(Fail(job_id, sb.retry), t)
        self.left[job_id] = sb.left
        rec.failed.append((i, began, t, ci))
        rec.failures[i] = rec.failures.get(i, 0) + 1
        rec.lost_gpu_s[i] = rec.lost_gpu_s.get(i, 0.0) + sb.lost_s * original.gpus
        rec.start[i] = math.nan
        rec.cluster[i] = -1
        rec.state[i] = PENDING


def _no_limit(job: Job) -> Job:
    """The job without its time limit: a failure is measured against the whole work."""
    return job if job.time_limit is None else replace(job, time_limit=None)
