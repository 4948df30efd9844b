"""Queue orderings: a key per job, smallest first; every key ends on the job id (determinism).

Keys are static (they depend only on the job), so pending jobs can sit in heaps.
"""

from __future__ import annotations

from collections.abc import Callable

from gpufleet.workload.job import Job

OrderKey = tuple[float, ...]
Ordering = Callable[[Job], OrderKey]


def fifo(job: Job) -> OrderKey:
    """First come, first served."""
    return (job.submit, job.id)


def priority(job: Job) -> OrderKey:
    """Highest priority first, then first come."""
    return (-job.priority, job.submit, job.id)


def sjf(job: Job) -> OrderKey:
    """Shortest job first by true run time on the job's reference model (an oracle)."""
    return (job.runtime, job.submit, job.id)


def smallest_first(job: Job) -> OrderKey:
    """Fewest GPUs first, then first come."""
    return (job.gpus, job.submit, job.id)


ORDERINGS: dict[str, tuple[Ordering, str]] = {
    "fifo": (fifo, "first come, first served"),
    "priority": (priority, "highest priority first, then FIFO"),
    "sjf": (sjf, "shortest run time first (oracle: uses the true run time)"),
    "smallest": (smallest_first, "fewest GPUs first, then FIFO"),
    # The tenant order is dynamic and lives in the core (scheduler/fairshare.py); this key
    # orders jobs within one tenant.
    "fairshare": (
        priority,
        "tenants by fair share (Fair Tree over decayed usage and DRF; needs a tenant tree), "
        "then priority, then FIFO",
    ),
}
