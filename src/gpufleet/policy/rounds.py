"""What a round policy is: every round it re-plans which active jobs hold GPUs.

The round engine (gpufleet.engine.rounds) calls `decide` at each round with every submitted,
unfinished job; the jobs returned run from then on (the engine places those not yet placed,
in the order given) and every other job waits, preempted if it was running. Placement is not
the policy's business: it counts GPUs, the engine finds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol


class Active(NamedTuple):
    """A submitted, unfinished job as a round policy sees it."""

    id: int
    gpus: int
    submit: float


class RoundPolicy(Protocol):
    """A policy over rounds; it may keep books between calls but never reads a clock."""

    def decide(self, now: int, active: Sequence[Active], capacity: int) -> list[int]:
        """The jobs to run from `now` on, highest priority first."""
        ...

    def not_started(self, job_ids: Sequence[int]) -> None:
        """The engine could not place these chosen jobs; they wait this round."""
        ...

    def next_change(self, now: int) -> float:
        """Earliest time after `now` the choice may change without arrivals or finishes
        (math.inf: never). The engine skips the rounds in between, which decide nothing."""
        ...


class Fifo:
    """First come, first served over rounds, without preemption: running jobs keep their
    GPUs, then waiting jobs start in submission order while they fit (a job that does not
    fit waits and blocks the ones behind it)."""

    def __init__(self) -> None:
        self._running: set[int] = set()

    def decide(self, now: int, active: Sequence[Active], capacity: int) -> list[int]:
        free = capacity - sum(a.gpus for a in active if a.id in self._running)
        chosen = [a.id for a in active if a.id in self._running]
        for a in sorted(active, key=lambda a: (a.submit, a.id)):
            if a.id in self._running:
                continue
            if a.gpus > free:
                break
            free -= a.gpus
            chosen.append(a.id)
        self._running = set(chosen)
        return chosen

    def not_started(self, job_ids: Sequence[int]) -> None:
        self._running.difference_update(job_ids)

    def next_change(self, now: int) -> float:
        return float("inf")
