"""Events the core accepts and decisions it returns, as small immutable values."""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.fleet.state import Allocation
from gpufleet.workload.job import Job


@dataclass(frozen=True, slots=True)
class Submit:
    """A tenant asks for a job."""

    job: Job


@dataclass(frozen=True, slots=True)
class Finish:
    """A running job ended (completed, failed or hit its time limit); its GPUs are free."""

    job_id: int


@dataclass(frozen=True, slots=True)
class Cancel:
    """A pending or running job is withdrawn."""

    job_id: int


@dataclass(frozen=True, slots=True)
class Evict:
    """A preempted job's grace period is over: its GPUs are free and it waits again."""

    job_id: int


@dataclass(frozen=True, slots=True)
class Fail:
    """A running job was interrupted (its node failed): its GPUs are free now.

    `retry` is the job to queue again under the same id (the work still to do, as the engine
    computes it from checkpoints); None ends the job for good.
    """

    job_id: int
    retry: Job | None = None


@dataclass(frozen=True, slots=True)
class Down:
    """`gpus` free GPUs of NVLink domain `domain` leave service (a failure, a drain, a rack
    not yet online). The engine fails the jobs on them first."""

    domain: int
    gpus: int


@dataclass(frozen=True, slots=True)
class Up:
    """`gpus` GPUs of domain `domain` that were down return to service."""

    domain: int
    gpus: int


@dataclass(frozen=True, slots=True)
class PowerCap:
    """Busy GPUs at `site` may draw at most `watts` of IT power (None: no cap). A start that
    would go over waits, as for lack of GPUs; running jobs are never stopped for it."""

    site: str
    watts: float | None


Event = Submit | Finish | Cancel | Evict | Fail | Down | Up | PowerCap


@dataclass(frozen=True, slots=True)
class Start:
    """Start `job_id` on `allocation`; it is expected to run `duration` seconds there.

    `duration` is the job's run time on the allocated GPU model, cut at its time limit; the
    simulator schedules the Finish from it, the live engine only records it.
    """

    job_id: int
    allocation: Allocation
    duration: float
    timed_out: bool


@dataclass(frozen=True, slots=True)
class Reject:
    """The job can never run on this fleet (no cluster is large enough, unknown model, ...)."""

    job_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Preempt:
    """Stop `job_id` at `at` (now plus the grace period) to give its GPUs back to their owner.

    The engine signals the job, then sends `Evict(job_id)` at `at` unless it ended before.
    The job keeps its place in the queue and starts over (its progress is lost).
    """

    job_id: int
    at: float
    reason: str


Decision = Start | Reject | Preempt
