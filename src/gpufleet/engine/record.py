"""What happened in a run: per-job outcomes in flat arrays and sampled time series."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from gpufleet.fleet.model import Fleet
from gpufleet.workload.job import Job

# Job end states, stored as small ints in RunRecord.state.
PENDING, COMPLETED, TIMEOUT, REJECTED, CANCELLED, RUNNING = range(6)
STATE_NAMES = ("pending", "completed", "timeout", "rejected", "cancelled", "running")


@dataclass(slots=True)
class RunRecord:
    """Outcome of every job (index = position in `jobs`) plus samples every `sample_every` s."""

    fleet: Fleet
    jobs: list[Job]
    policy: str
    placement: str
    seed: int | None
    window: float  # seconds of arrivals the run covers (metrics window)
    sample_every: float
    start: array[float] = field(default_factory=lambda: array("d"))
    end: array[float] = field(default_factory=lambda: array("d"))
    cluster: array[int] = field(default_factory=lambda: array("i"))
    n_domains: array[int] = field(default_factory=lambda: array("i"))
    n_blocks: array[int] = field(default_factory=lambda: array("i"))
    state: array[int] = field(default_factory=lambda: array("b"))
    sample_time: list[float] = field(default_factory=list)
    sample_busy: list[tuple[int, ...]] = field(default_factory=list)  # busy GPUs per cluster
    sample_pending: list[int] = field(default_factory=list)
    sample_running: list[int] = field(default_factory=list)
    # waiting jobs per reason code (gpufleet.scheduler.why.CODES order) and free GPUs that no
    # waiting job could use (fragmentation), at each sample
    sample_waiting: list[tuple[int, ...]] = field(default_factory=list)
    sample_unusable: list[int] = field(default_factory=list)
    wall_seconds: float = 0.0
    reasons: dict[int, str] = field(default_factory=dict)  # rejected job index -> why
    # Runs cut short by preemption, the job then re-queued: (job index, start, end, cluster).
    # The job's final run stays in start/end/cluster; accounting counts both.
    preempted: list[tuple[int, float, float, int]] = field(default_factory=list)
    # why each of those runs was cut (the core's Preempt reason, e.g. "reclaimed for job 7 of
    # chat"), in the same order
    preempted_by: list[str] = field(default_factory=list)
    # Runs cut short by a failure (same layout); the job then restarted from its checkpoint.
    failed: list[tuple[int, float, float, int]] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)  # job index -> interruptions
    # job index -> planned stops (maintenance drains); their runs are in `failed` too
    planned: dict[int, int] = field(default_factory=dict)
    lost_gpu_s: dict[int, float] = field(default_factory=dict)  # job index -> GPU-s thrown away
    strikes: dict[str, int] = field(default_factory=dict)  # node failures by cause (idle too)
    repair_gpu_s: float = 0.0  # GPU-seconds out of service for repair
    failures_on: bool = False
    maintenance_on: bool = False
    maintenance_gpu_s: float = 0.0  # GPU-seconds taken out of service by maintenance drains
    start_date: str = ""  # calendar day of t = 0 ("" = build-out, every site online)
    power_caps: bool = False
    # per cluster: when it comes online (0 = from the start) and GPUs down at each sample
    online_at: list[float] = field(default_factory=list)
    sample_down: list[tuple[int, ...]] = field(default_factory=list)

    @staticmethod
    def empty(
        fleet: Fleet,
        jobs: list[Job],
        policy: str,
        placement: str,
        seed: int | None,
        window: float,
        sample_every: float,
    ) -> RunRecord:
        n = len(jobs)
        nan = math.nan
        return RunRecord(
            fleet=fleet,
            jobs=jobs,
            policy=policy,
            placement=placement,
            seed=seed,
            window=window,
            sample_every=sample_every,
            start=array("d", [nan]) * n,
            end=array("d", [nan]) * n,
            cluster=array("i", [-1]) * n,
            n_domains=array("i", [0]) * n,
            n_blocks=array("i", [0]) * n,
            state=array("b", [PENDING]) * n,
        )
