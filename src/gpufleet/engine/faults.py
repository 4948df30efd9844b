"""The twin's outside world: dated fleet events, node failures and repairs, sent to the core.

Failures are one Poisson process over every GPU of the fleet (rate x GPUs per hour), drawn
from a `random.Random` seeded by the run's seed, always in the same order: the gap to the
next failure, the struck GPU, its cause, then (if the cause takes the node down) the node's
other GPUs. A strike on a GPU that is already down is dropped (a down GPU cannot fail again),
so the process thins itself to the GPUs in service. The struck GPU's job is interrupted (a GPU
of a domain is held by a job with a probability equal to its share of the domain's GPUs); a
cause that takes the node down also stops the jobs on the node's other GPUs, then sends
`Down(domain, node GPUs)` and, after the repair, `Up`. Jobs restart from their last
checkpoint (see `engine/failures.py`). Planned maintenance (`engine/maintenance.py`) drains
waves of domains: their GPUs go `Down` as they fall free, so nothing new starts there; jobs
still on them at the wave's deadline checkpoint and are requeued; the wave ends with `Up`.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import date

from gpufleet.engine.failures import Cause, FailureModel, setback
from gpufleet.engine.maintenance import Wave
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
    `maintenance`: the sites' planned rolling drains (their `maintenance` in the fleet file).
    """

    failures: FailureModel | None = None
    start: date | None = None
    power: bool = False
    strikes: tuple[Strike, ...] = ()
    maintenance: bool = False

    @property
    def active(self) -> bool:
        return self.failures is not None or self.start is not None or self.power or self.maintenance


class Disturbances:
    """Everything that happens to the fleet rather than to a job, in time order."""

    def __init__(
        self,
        sched: Scheduler,
        rec: RunRecord,
        index: dict[int, int],
        live: dict[int, Job],
        run_seq: dict[int, int],
        timeline: list[tuple[float, Event]],
        failures: FailureModel | None,
        seed: int | None,
        strikes: tuple[Strike, ...] = (),
        waves: list[Wave] | None = None,
    ) -> None:
        self.sched = sched
        self.rec = rec
        self.index = index  # the twin's jobs in flight -> record row
        self.live = live  # the twin's jobs in flight -> the Job as submitted
        self.run_seq = run_seq  # the twin's running job -> seq of its finish entry
        self.timeline = timeline
        self.ti = 0
        self.repairs: list[tuple[float, int, int, int]] = []  # (time, seq, domain, GPUs)
        self.seq = 0
        self.model = failures
        # restart cost and Young's interval for planned stops too, when failures are off
        self.costs = failures if failures is not None else FailureModel()
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
        # maintenance: waves not begun, (time, seq, is end, wave) to come, and per domain
        # under maintenance its end, the GPUs it took down, and which to take down next
        self.waves = waves or []
        self.wi = 0
        self.wave_steps: list[tuple[float, int, bool, Wave]] = []
        self.closed: dict[int, float] = {}
        self.drained: dict[int, int] = {}
        self.unsettled: set[int] = set()
        if failures is not None and cum[-1] > 0:
            self.per_s = failures.rate_per_gpu_hour * cum[-1] / 3600.0
            self.weights = [c.share for c in failures.causes]
            self.next_fail = self.rng.expovariate(self.per_s)

    # -- what the twin asks ---------------------------------------------------------------
    @property
    def tracks(self) -> bool:
        """Whether the twin must report starts and ends (failures or drains stop jobs)."""
        return self.model is not None or bool(self.waves)

    def next_time(self) -> float:
        t = self.next_fail
        if self.wi < len(self.waves) and self.waves[self.wi].start < t:
            t = self.waves[self.wi].start
        if self.wave_steps and self.wave_steps[0][0] < t:
            t = self.wave_steps[0][0]
        if self.ti < len(self.timeline) and self.timeline[self.ti][0] < t:
            t = self.timeline[self.ti][0]
        if self.repairs and self.repairs[0][0] < t:
            t = self.repairs[0][0]
        if self.si < len(self.scripted) and self.scripted[self.si].time < t:
            t = self.scripted[self.si].time
        return t

    def may_free(self) -> bool:
        """Whether a coming fleet event could return GPUs or power (failures never do)."""
        return (
            self.ti < len(self.timeline)
            or bool(self.repairs)
            or self.wi < len(self.waves)
            or bool(self.wave_steps)
        )

    def fire(self, t: float) -> None:
        """Apply every fleet event due at `t`: dated phases, repairs, maintenance, failures."""
        tl = self.timeline
        while self.ti < len(tl) and tl[self.ti][0] <= t:
            self._send(tl[self.ti][1], t)
            self.ti += 1
        while self.repairs and self.repairs[0][0] <= t:
            _, _, d, n = heapq.heappop(self.repairs)
            self._send(Up(d, n), t)
        while self.wi < len(self.waves) and self.waves[self.wi].start <= t:
            self._drain(self.waves[self.wi])
            self.wi += 1
        while self.wave_steps and self.wave_steps[0][0] <= t:
            _, _, is_end, wave = heapq.heappop(self.wave_steps)
            if is_end:
                self._restore(wave, t)
            else:
                self._stop_drained(wave, t)
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
        closed = self.closed
        for d, _ in self.parts.pop(job_id):
            del occ[d][job_id]
            if closed and d in closed:
                self.unsettled.add(d)

    def settle(self, t: float) -> None:
        """Take down the GPUs that fell free on domains under maintenance (before a pass,
        so that nothing new starts there)."""
        free = self.sched.state.free
        for d in sorted(self.unsettled):
            end = self.closed.get(d)
            n = free[d]
            if end is None or n == 0:
                continue
            self._send(Down(d, n), t)
            self.drained[d] = self.drained.get(d, 0) + n
            self.rec.maintenance_gpu_s += n * (end - t)
        self.unsettled.clear()

    # -- inside ---------------------------------------------------------------------------
    def _send(self, event: Event, t: float) -> None:
        if isinstance(event, (Down, Up)):
            ci = self.sched.fleet.domain_cluster[event.domain]
            self.down_by_cluster[ci] += event.gpus if isinstance(event, Down) else -event.gpus
            if isinstance(event, Up) and event.domain in self.closed:
                self.unsettled.add(event.domain)  # repaired during maintenance: not back yet
        self.sched.apply(event, t)

    def _drain(self, wave: Wave) -> None:
        """A wave begins: its domains (those not already under maintenance) close."""
        taken = tuple(d for d in wave.domains if d not in self.closed)
        if not taken:
            return
        for d in taken:
            self.closed[d] = wave.end
        self.unsettled.update(taken)
        mine = Wave(wave.start, wave.deadline, wave.end, taken)
        self.seq += 1
        heapq.heappush(self.wave_steps, (wave.deadline, self.seq, False, mine))
        self.seq += 1
        heapq.heappush(self.wave_steps, (wave.end, self.seq, True, mine))

    def _stop_drained(self, wave: Wave, t: float) -> None:
        """The drain's deadline: jobs still on the wave's domains checkpoint and requeue."""
        for d in wave.domains:
            for job_id in list(self.occupants.get(d, {})):
                if job_id in self.parts:  # not already stopped on an earlier domain
                    self._fail(job_id, t, planned=True)
            self.unsettled.add(d)

    def _restore(self, wave: Wave, t: float) -> None:
        """The wave ends: what maintenance took down comes back."""
        for d in wave.domains:
            del self.closed[d]
            self.unsettled.discard(d)
            n = self.drained.pop(d, 0)
            if n:
                self._send(Up(d, n), t)

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
        up = c.domain_gpus - down
        # a node's GPUs still in service: fewer than a node when maintenance holds some
        node = min(c.node_gpus, up) if cause.repair_s > 0 else 1
        for job_id in self._victims(d, slot - down, up, node):
            self._fail(job_id, t)
        if cause.repair_s > 0:
            self._send(Down(d, node), t)
            self.seq += 1
            heapq.heappush(self.repairs, (t + cause.repair_s, self.seq, d, node))
            # counted whole at the failure, even if the record stops before the repair ends
            self.rec.repair_gpu_s += cause.repair_s * node

    def _victims(self, d: int, first: int, up: int, node: int) -> list[int]:
        """Jobs on `node` GPUs of domain `d`: slot `first` of its `up` in-service GPUs, then
        `node` - 1 more drawn without replacement (slots: free GPUs first, then each job's)."""
        occ = self.occupants.get(d, {})
        owners: list[int] = [-1, *occ]
        # in service and no job's: free, or held for a reclaim under way
        counts = [up - sum(occ.values()), *occ.values()]
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

    def _fail(self, job_id: int, t: float, planned: bool = False) -> None:
        """Interrupt a running job: keep its work up to the last checkpoint, queue the rest.
        A planned stop (a maintenance drain) checkpoints first, so it loses only restarts."""
        sched, rec, costs = self.sched, self.rec, self.costs
        i = self.index[job_id]
        original = self.live[job_id]
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
            0.0 if planned else costs.interval(original),
            costs.restart_cost_s,
        )
        self.ended(job_id)
        del self.run_seq[job_id]
        sched.apply(Fail(job_id, sb.retry), t)
        self.left[job_id] = sb.left
        rec.failed.append((i, began, t, ci))
        counts = rec.planned if planned else rec.failures
        counts[i] = counts.get(i, 0) + 1
        rec.lost_gpu_s[i] = rec.lost_gpu_s.get(i, 0.0) + sb.lost_s * original.gpus
        rec.start[i] = math.nan
        rec.cluster[i] = -1
        rec.state[i] = PENDING


def _no_limit(job: Job) -> Job:
    """The job without its time limit: a failure is measured against the whole work."""
    return job if job.time_limit is None else replace(job, time_limit=None)
