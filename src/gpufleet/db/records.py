"""The control plane's records as plain values: job specs, stored jobs, tenants, state names.

No database code here, so that the API schemas and the CLI client import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpufleet.workload.job import Job

PENDING, RUNNING = "pending", "running"
COMPLETED, FAILED, CANCELLED, TIMEOUT, REJECTED = (
    "completed",
    "failed",
    "cancelled",
    "timeout",
    "rejected",
)
STATES = (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, REJECTED)
ENDED = frozenset((COMPLETED, FAILED, CANCELLED, TIMEOUT, REJECTED))


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a tenant asks for; `runtime` is the planning figure (the time limit when known)."""

    gpus: int
    runtime: float
    time_limit: float | None = None
    ref_model: str = "H100"
    models: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    priority: int = 0
    kind: str = "batch"
    topology: str = "any"
    preemptible: bool = False
    group: str = ""
    command: str | None = None
    script: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    data_class: str = ""  # empty: the tenant's default in the tenant tree


@dataclass(frozen=True, slots=True)
class NewJob:
    """A submission to store: who, what, and the request's idempotency key if any."""

    tenant: str
    spec: JobSpec
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored: its spec, its state and where it ran."""

    id: int
    tenant: str
    state: str
    submit: float
    spec: JobSpec
    start: float | None = None
    end: float | None = None
    cluster: str | None = None
    site: str | None = None
    allocation: dict[str, Any] | None = None
    executor: str | None = None
    executor_id: str | None = None
    exit_code: int | None = None
    reason: str = ""
    idempotency_key: str | None = None
    # Reclaim: when the current run is to be stopped (None: it is not), how often the job
    # was preempted, and the GPU-seconds its earlier, preempted runs used.
    preempt_at: float | None = None
    preemptions: int = 0
    preempted_gpu_seconds: float = 0.0

    def to_job(self) -> Job:
        s = self.spec
        return Job(
            id=self.id,
            tenant=self.tenant,
            submit=self.submit,
            gpus=s.gpus,
            runtime=s.runtime,
            ref_model=s.ref_model,
            models=s.models,
            priority=s.priority,
            kind=s.kind,
            topology=s.topology,
            preemptible=s.preemptible,
            time_limit=s.time_limit,
            group=s.group,
            sites=s.sites,
            data_class=s.data_class,
        )


@dataclass(frozen=True, slots=True)
class TenantRecord:
    id: int
    name: str
    admin: bool


@dataclass(frozen=True, slots=True)
class Started:
    """A start decision as the engine records it, before the executor is asked."""

    job_id: int
    time: float
    cluster: str
    site: str
    allocation: dict[str, Any]
    executor: str


@dataclass(frozen=True, slots=True)
class Ended:
    job_id: int
    state: str
    time: float
    exit_code: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Evicted:
    """A preempted run that has stopped: the job waits again; its run's GPU-seconds stay
    accounted."""

    job_id: int
    time: float
    gpu_seconds: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    tenant: str
    jobs: int
    gpu_seconds: float


@dataclass(slots=True)
class Live:
    """What a restart needs: running jobs (to adopt) and pending jobs in submission order."""

    running: list[JobRecord] = field(default_factory=list)
    pending: list[JobRecord] = field(default_factory=list)
