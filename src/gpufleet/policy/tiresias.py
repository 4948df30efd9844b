"""Tiresias (Gu et al., NSDI'19): discretized two-dimensional least-attained-service, and its
Gittins-index variant, as a round policy: given the active jobs, which run this round.

2D-LAS: a job's attained service is GPUs x seconds it has run. Queues are cut by thresholds
(GPU-seconds); a job enters queue 0 and drops to the queue its attained service reaches.
Queues are served in order, and inside a queue jobs keep the order they entered it
(`order="las"`) or run by Gittins index, highest first (`order="gittins"`, from a
distribution of job sizes). Jobs are taken greedily by GPU count: one that does not fit in
what is left waits, and later, smaller jobs may still run. A running job that is no longer
chosen is preempted.

Starvation guard (the paper's STARVELIMIT, the artifact's `solve_starvation`): a job in a
lower queue that has waited, since it last ran, `starvation` times the service it had when
demoted, returns to queue 0 with its service count reset. 0 turns it off, as the Pollux
artifact runs it.

Defaults follow the Pollux artifact's baseline (petuum/adaptdl osdi21-artifact,
simulator/tiresias.py): two queues split at 16 GPU-hours (3600 x 16 GPU-seconds), no
starvation guard, service counted in whole seconds at decisions. The policy has no clock: the
engine passes `now`. It keeps its queues between calls, like the core keeps its state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from gpufleet.errors import ConfigError
from gpufleet.policy.gittins import GittinsTable
from gpufleet.policy.rounds import Active

# Pollux artifact, simulator/tiresias.py: `_queue_threshold = 3600 * 16`.
ARTIFACT_THRESHOLDS = (3600.0 * 16,)


@dataclass(frozen=True, slots=True)
class TiresiasConfig:
    """Queue thresholds (GPU-seconds, ascending), starvation factor, order inside a queue."""

    thresholds: tuple[float, ...] = ARTIFACT_THRESHOLDS
    starvation: float = 0.0
    order: Literal["las", "gittins"] = "las"
    sizes: GittinsTable | None = None  # needed by order="gittins"

    def __post_init__(self) -> None:
        t = self.thresholds
        if any(x <= 0 for x in t) or list(t) != sorted(set(t)):
            raise ConfigError(f"tiresias: thresholds must be ascending and > 0, got {t}")
        if self.starvation < 0:
            raise ConfigError(f"tiresias: starvation factor must be >= 0, got {self.starvation}")
        if self.order not in ("las", "gittins"):
            raise ConfigError(f"tiresias: order must be las or gittins, got {self.order!r}")
        if self.order == "gittins" and self.sizes is None:
            raise ConfigError("tiresias: order=gittins needs a distribution of job sizes")


@dataclass(slots=True)
class _Entry:
    """The policy's books on one active job (seconds are whole, as the artifact counts)."""

    gpus: int
    queue: int = 0
    running: bool = False
    last_check: int = 0
    executed: int = 0  # seconds run since entering queue 0 (reset by a promotion)
    total: int = 0  # seconds run in all
    waited: int = 0  # seconds pending after having run (compared with executed x starvation)
    seq: int = 0  # when it entered its queue


@dataclass(slots=True)
class Tiresias:
    """2D-LAS or 2D-Gittins over rounds; `decide` is called once per round."""

    config: TiresiasConfig = field(default_factory=TiresiasConfig)
    _jobs: dict[int, _Entry] = field(default_factory=dict)
    _seq: int = 0

    def queue_of(self, job_id: int) -> int:
        """The queue a job is in now (0 = highest priority)."""
        return self._jobs[job_id].queue

    def attained(self, job_id: int) -> int:
        """GPU-seconds counted toward the job's queue (since its last promotion)."""
        e = self._jobs[job_id]
        return e.executed * e.gpus

    def decide(self, now: int, active: Sequence[Active], capacity: int) -> list[int]:
        """The jobs to run from `now` on, in priority order; the others wait or are preempted.

        `active` lists the submitted, unfinished jobs in submission order.
        """
        self._update(now, active)
        chosen: list[int] = []
        free = capacity
        for q in range(len(self.config.thresholds) + 1):
            for jid in self._ordered(q):
                e = self._jobs[jid]
                e.running = e.gpus <= free
                if e.running:
                    free -= e.gpus
                    chosen.append(jid)
        return chosen

    def not_started(self, job_ids: Sequence[int]) -> None:
        """Jobs chosen but not placed (no room in one cluster) are counted as waiting."""
        for jid in job_ids:
            self._jobs[jid].running = False

    def next_change(self, now: int) -> float:
        """The earliest time after `now` at which this policy may choose differently with the
        same active jobs: a demotion or a promotion. Gittins order may change every round."""
        cfg = self.config
        soonest = math.inf
        last = len(cfg.thresholds)
        for e in self._jobs.values():
            if e.running:
                if cfg.order == "gittins":
                    return now + 1
                if e.queue < last:
                    need = math.ceil(cfg.thresholds[e.queue] / e.gpus) - e.executed
                    soonest = min(soonest, e.last_check + max(need, 1))
            elif cfg.starvation and e.queue and e.total and e.executed:
                need = math.ceil(e.executed * cfg.starvation) - e.waited
                soonest = min(soonest, e.last_check + max(need, 1))
        return soonest

    def _update(self, now: int, active: Sequence[Active]) -> None:
        live = {a.id for a in active}
        for jid in [j for j in self._jobs if j not in live]:
            del self._jobs[jid]
        cfg = self.config
        for a in active:
            e = self._jobs.get(a.id)
            if e is None:
                self._jobs[a.id] = _Entry(gpus=a.gpus, last_check=now, seq=self._next())
                continue
            dt = now - e.last_check
            e.last_check = now
            if e.running:
                e.executed += dt
                e.total += dt
                q = self._queue_for(e.executed * e.gpus)
                if q > e.queue:
                    e.queue, e.seq = q, self._next()
            else:
                if e.executed:
                    e.waited += dt
                starved = cfg.starvation and e.queue and e.total and e.executed
                if starved and e.waited >= e.executed * cfg.starvation:
                    e.executed = e.waited = 0
                    e.queue, e.seq = 0, self._next()

    def _queue_for(self, gpu_seconds: float) -> int:
        return sum(1 for t in self.config.thresholds if gpu_seconds >= t)

    def _ordered(self, q: int) -> list[int]:
        members = [(e.seq, jid) for jid, e in self._jobs.items() if e.queue == q]
        members.sort()
        if self.config.order == "las":
            return [jid for _, jid in members]
        sizes = self.config.sizes
        assert sizes is not None
        th = self.config.thresholds

        def key(item: tuple[int, int]) -> tuple[float, int]:
            e = self._jobs[item[1]]
            a = e.executed * e.gpus
            delta = th[q] - a if q < len(th) else math.inf
            return (-sizes.index(a, delta), item[0])

        members.sort(key=key)
        return [jid for _, jid in members]

    def _next(self) -> int:
        self._seq += 1
        return self._seq
