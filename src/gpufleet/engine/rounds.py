"""The round-based replay: every `interval` seconds a round policy re-plans the whole allocation.

This is how the Pollux and Tiresias artifacts simulate (60 s rounds), kept beside the
event-driven core rather than inside it (docs/design/rounds.md). At each round, in order:

1. jobs whose work ended since the last round finish (their end time is exact; their GPUs
   come back at the round);
2. jobs submitted up to the round become active;
3. the policy chooses the jobs to run; running jobs it left out are preempted (their work so
   far is kept), chosen jobs not running are placed in the order given and, after
   `restart_cost` seconds of start-up (checkpoint restore, the artifact's 30 s), train.

Rounds at which nothing can change (no arrival, no finish, no demotion or promotion the
policy announces) are skipped, not simulated: the allocation would be the same. A job's
finish time is computed once per placement from its work model, so a round costs O(active
jobs) in the policy and O(changes) here.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gpufleet.errors import ConfigError, InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.fleet.state import Allocation, AllocationState
from gpufleet.policy.rounds import Active, RoundPolicy
from gpufleet.policy.spread import most_free_first
from gpufleet.policy.view import FleetView

Placement = tuple[int, ...]
Place = Callable[[int, str, Sequence[int], FleetView, None], Allocation | None]
Check = Callable[[AllocationState, int], None]

# The Pollux artifact's scheduling interval and re-scale (restart) delay, simulator.py.
ARTIFACT_INTERVAL = 60
ARTIFACT_RESTART_COST = 30.0


class Work(Protocol):
    """What a job has left to do, as a function of where it runs."""

    def remaining(self, placement: Placement) -> float:
        """Seconds of work left at `placement` (GPUs per domain, in the order taken)."""
        ...

    def advance(self, placement: Placement, seconds: float) -> None:
        """Do `seconds` of work at `placement`."""
        ...


class FixedWork:
    """A job with a known run time on its GPUs wherever they are (a trace's duration)."""

    __slots__ = ("left",)

    def __init__(self, runtime: float) -> None:
        self.left = runtime

    def remaining(self, placement: Placement) -> float:
        return self.left

    def advance(self, placement: Placement, seconds: float) -> None:
        self.left = max(0.0, self.left - seconds)


@dataclass(frozen=True, slots=True)
class RoundJob:
    """A job for the round engine: id, submit time, GPUs, and its work model."""

    id: int
    submit: float
    gpus: int
    work: Work


@dataclass(slots=True)
class _Run:
    placement: Placement
    trains_from: float  # the round it started plus the restart cost
    finish: float


@dataclass(slots=True)
class RoundsResult:
    """When each job finished, how often it (re)started, and what the replay cost."""

    submit: dict[int, float]
    finish: dict[int, float] = field(default_factory=dict)
    first_start: dict[int, float] = field(default_factory=dict)
    starts: dict[int, int] = field(default_factory=dict)
    preemptions: int = 0
    rounds: int = 0  # rounds decided (skipped rounds not counted)
    wall_seconds: float = 0.0

    def jct(self) -> dict[int, float]:
        """Job completion time: finish - submit, per job."""
        return {j: f - self.submit[j] for j, f in self.finish.items()}

    def avg_jct(self) -> float:
        j = self.jct()
        return sum(j.values()) / len(j) if j else math.nan


def replay(
    jobs: Sequence[RoundJob],
    fleet: Fleet,
    policy: RoundPolicy,
    *,
    interval: int = ARTIFACT_INTERVAL,
    restart_cost: float = ARTIFACT_RESTART_COST,
    place: Place = most_free_first,
    check: Check | None = None,
    skip_idle: bool = True,
) -> RoundsResult:
    """Run `jobs` on `fleet` in rounds of `interval` seconds under `policy` until all finish.

    `check(state, now)`, when given, is called after every round (tests assert invariants).
    `skip_idle=False` decides every round, even those where nothing can change (tests check
    that skipping them changes nothing).
    """
    if interval < 1 or restart_cost < 0:
        raise ConfigError(
            f"rounds: need interval >= 1 s and restart cost >= 0, got {interval}, {restart_cost}"
        )
    t0 = time.perf_counter()
    order = sorted(jobs, key=lambda j: (j.submit, j.id))
    by_id: Mapping[int, RoundJob] = {j.id: j for j in order}
    if len(by_id) != len(order):
        raise ConfigError("rounds: duplicate job ids")
    too_big = [j.id for j in order if j.gpus > max((c.gpus for c in fleet.clusters), default=0)]
    if too_big:
        raise ConfigError(f"rounds: job {too_big[0]} asks for more GPUs than any cluster has")
    res = RoundsResult(submit={j.id: j.submit for j in order})
    state = AllocationState(fleet)
    capacity = fleet.total_gpus
    clusters = range(len(fleet.clusters))
    active: dict[int, Active] = {}
    running: dict[int, _Run] = {}
    ends: list[tuple[float, int]] = []  # (finish, job id), stale entries skipped
    now = 0
    ai = 0
    while len(res.finish) < len(order):
        nxt = _next_round(now, interval, order, ai, ends, running, policy)
        if not skip_idle:
            nxt = now + interval
        # 1. finishes
        while ends and ends[0][0] <= nxt:
            fin, jid = heapq.heappop(ends)
            run = running.get(jid)
            if run is None or run.finish != fin:
                continue
            del running[jid], active[jid]
            state.release(jid)
            res.finish[jid] = fin
        # 2. arrivals
        while ai < len(order) and order[ai].submit <= nxt:
            j = order[ai]
            active[j.id] = Active(j.id, j.gpus, j.submit)
            ai += 1
        now = nxt
        res.rounds += 1
        # 3. the policy's plan
        chosen = policy.decide(now, list(active.values()), capacity)
        keep = set(chosen)
        for jid in [j for j in running if j not in keep]:
            run = running.pop(jid)
            by_id[jid].work.advance(run.placement, max(0.0, now - run.trains_from))
            state.release(jid)
            res.preemptions += 1
        unplaced: list[int] = []
        for jid in chosen:
            if jid in running:
                continue
            job = by_id[jid]
            alloc = place(job.gpus, "any", clusters, state, None)
            if alloc is None:
                unplaced.append(jid)
                continue
            state.take(jid, alloc)
            placement = tuple(n for _, n in alloc.parts)
            start = now + restart_cost
            run = _Run(placement, start, start + job.work.remaining(placement))
            running[jid] = run
            heapq.heappush(ends, (run.finish, jid))
            res.starts[jid] = res.starts.get(jid, 0) + 1
            res.first_start.setdefault(jid, float(now))
        if unplaced:
            policy.not_started(unplaced)
        if check is not None:
            check(state, now)
    res.wall_seconds = time.perf_counter() - t0
    return res


def _next_round(
    now: int,
    interval: int,
    order: Sequence[RoundJob],
    ai: int,
    ends: list[tuple[float, int]],
    running: Mapping[int, _Run],
    policy: RoundPolicy,
) -> int:
    """The next round at which something can change: an arrival, a finish, or the policy's
    own announced change; never sooner than the next round."""
    while ends and (ends[0][1] not in running or running[ends[0][1]].finish != ends[0][0]):
        heapq.heappop(ends)
    soonest = policy.next_change(now)
    if ai < len(order):
        soonest = min(soonest, order[ai].submit)
    if ends:
        soonest = min(soonest, ends[0][0])
    if math.isinf(soonest):
        raise InvariantError(f"rounds: nothing left can happen after {now} s, jobs remain")
    grid = math.ceil(soonest / interval) * interval
    return max(now + interval, int(grid))
