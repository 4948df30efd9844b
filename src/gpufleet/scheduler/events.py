"""Events the core accepts and decisions it returns, as small immutable values.

They are `Value`s rather than frozen dataclasses: the twin builds several per job (a Submit,
a Start, a Finish), and a compiled class builds twenty times faster (gpufleet/value.py).
"""

from __future__ import annotations

from typing import Any, Final

from gpufleet.fleet.state import Allocation
from gpufleet.value import Value
from gpufleet.workload.job import Job


class Submit(Value):
    """A tenant asks for a job."""

    __slots__ = ("job",)
    __match_args__ = ("job",)

    def __init__(self, job: Job) -> None:
        self.job: Final = job

    def _key(self) -> tuple[Any, ...]:
        return (self.job,)


class _JobEvent(Value):
    """An event about one job already known to the core, named by its id."""

    __slots__ = ("job_id",)
    __match_args__ = ("job_id",)

    def __init__(self, job_id: int) -> None:
        self.job_id: Final = job_id

    def _key(self) -> tuple[Any, ...]:
        return (self.job_id,)


class Finish(_JobEvent):
    """A running job ended (completed, failed or hit its time limit); its GPUs are free."""

    __slots__ = ()


class Cancel(_JobEvent):
    """A pending or running job is withdrawn."""

    __slots__ = ()


class Evict(_JobEvent):
    """A preempted job's grace period is over: its GPUs are free and it waits again."""

    __slots__ = ()


class Fail(Value):
    """A running job was interrupted (its node failed): its GPUs are free now.

    `retry` is the job to queue again under the same id (the work still to do, as the engine
    computes it from checkpoints); None ends the job for good.
    """

    __slots__ = ("job_id", "retry")
    __match_args__ = ("job_id", "retry")

    def __init__(self, job_id: int, retry: Job | None = None) -> None:
        self.job_id: Final = job_id
        self.retry: Final = retry

    def _key(self) -> tuple[Any, ...]:
        return (self.job_id, self.retry)


class _DomainEvent(Value):
    __slots__ = ("domain", "gpus")
    __match_args__ = ("domain", "gpus")

    def __init__(self, domain: int, gpus: int) -> None:
        self.domain: Final = domain
        self.gpus: Final = gpus

    def _key(self) -> tuple[Any, ...]:
        return (self.domain, self.gpus)


class Down(_DomainEvent):
    """`gpus` free GPUs of NVLink domain `domain` leave service (a failure, a drain, a rack
    not yet online). The engine fails the jobs on them first."""

    __slots__ = ()


class Up(_DomainEvent):
    """`gpus` GPUs of domain `domain` that were down return to service."""

    __slots__ = ()


class PowerCap(Value):
    """Busy GPUs at `site` may draw at most `watts` of IT power (None: no cap). A start that
    would go over waits, as for lack of GPUs; running jobs are never stopped for it."""

    __slots__ = ("site", "watts")
    __match_args__ = ("site", "watts")

    def __init__(self, site: str, watts: float | None) -> None:
        self.site: Final = site
        self.watts: Final = watts

    def _key(self) -> tuple[Any, ...]:
        return (self.site, self.watts)


Event = Submit | Finish | Cancel | Evict | Fail | Down | Up | PowerCap


class Start(Value):
    """Start `job_id` on `allocation`; it is expected to run `duration` seconds there.

    `duration` is the job's run time on the allocated GPU model, cut at its time limit; the
    simulator schedules the Finish from it, the live engine only records it.
    """

    __slots__ = ("allocation", "duration", "job_id", "timed_out")
    __match_args__ = ("job_id", "allocation", "duration", "timed_out")

    def __init__(
        self, job_id: int, allocation: Allocation, duration: float, timed_out: bool
    ) -> None:
        self.job_id: Final = job_id
        self.allocation: Final = allocation
        self.duration: Final = duration
        self.timed_out: Final = timed_out

    def _key(self) -> tuple[Any, ...]:
        return (self.job_id, self.allocation, self.duration, self.timed_out)


class Reject(Value):
    """The job can never run on this fleet (no cluster is large enough, unknown model, ...)."""

    __slots__ = ("job_id", "reason")
    __match_args__ = ("job_id", "reason")

    def __init__(self, job_id: int, reason: str) -> None:
        self.job_id: Final = job_id
        self.reason: Final = reason

    def _key(self) -> tuple[Any, ...]:
        return (self.job_id, self.reason)


class Preempt(Value):
    """Stop `job_id` at `at` (now plus the grace period) to give its GPUs back to their owner.

    The engine signals the job, then sends `Evict(job_id)` at `at` unless it ended before.
    The job keeps its place in the queue and starts over (its progress is lost).
    """

    __slots__ = ("at", "job_id", "reason")
    __match_args__ = ("job_id", "at", "reason")

    def __init__(self, job_id: int, at: float, reason: str) -> None:
        self.job_id: Final = job_id
        self.at: Final = at
        self.reason: Final = reason

    def _key(self) -> tuple[Any, ...]:
        return (self.job_id, self.at, self.reason)


Decision = Start | Reject | Preempt
