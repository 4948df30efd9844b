"""The failure model of the twin: interruption rate, cause mix, repairs and checkpoints.

Defaults come from Meta's Llama 3 pre-training run (16,384 H100 GPUs, 54 days, 419
unexpected interruptions [S114]), so a job of N GPUs is interrupted N x RATE times an hour on
average. Each number is tagged with its source, or [A] (assumption) or [D] (derived); see
docs/realism.md. Everything here is pure: the twin (`engine/faults.py`) draws the random
numbers and sends the events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gpufleet.errors import ConfigError
from gpufleet.workload.job import Job

# [D] 419 unexpected interruptions / (16,384 GPUs x 54 days x 24 h) [S114] = 1.97e-5 per
# GPU-hour; kept as the exact fraction so a 16,384-GPU job over 54 days expects exactly 419.
LLAMA3_INTERRUPTIONS = 419  # [S114]
LLAMA3_GPUS = 16_384  # [S112][S114]
LLAMA3_HOURS = 54 * 24  # [S112][S114] 54-day snapshot
RATE_PER_GPU_HOUR = LLAMA3_INTERRUPTIONS / (LLAMA3_GPUS * LLAMA3_HOURS)  # [D]


@dataclass(frozen=True, slots=True)
class Cause:
    """A class of interruption: its share of all interruptions and what it does to the node.

    `repair_s` > 0 takes the struck node out of service for that long (jobs on its other GPUs
    stop too); 0 means the job restarts but the node stays in service (a software fault).
    """

    name: str
    share: float
    repair_s: float


# Shares: the Llama 3 root-cause counts [S114], grouped [D]:
#   gpu      = faulty GPU 148 + HBM3 72 + SRAM 19 + system processor 17 + thermal 6
#              + silent data corruption 6 = 268
#   software = software bug 54 + NCCL watchdog 7 + dependency 2 = 63
#   network  = switch/cable 35 + NIC 7 = 42
#   host     = host maintenance 32 + SSD 3 + PSU 3 + chassis 2 + IO board 2 + CPU 2
#              + system memory 2 = 46
# Repair times are [A]: no source in the research notes gives them. A GPU swap from on-site
# spares plus burn-in ~12 h; a cable or NIC ~2 h; other host parts ~8 h; a software fault
# needs no repair (the job restarts, the node stays up).
DEFAULT_CAUSES: tuple[Cause, ...] = (
    Cause("gpu", 268 / 419, 12 * 3600.0),  # share [D] from [S114]; repair [A]
    Cause("software", 63 / 419, 0.0),  # share [D] from [S114]
    Cause("network", 42 / 419, 2 * 3600.0),  # share [D] from [S114]; repair [A]
    Cause("host", 46 / 419, 8 * 3600.0),  # share [D] from [S114]; repair [A]
)

# [A] domain.md section 4: async checkpoint stall 10-60 s; restart 5-15 min at 1k-16k GPUs
# (rescheduling, communicator init, checkpoint load, compile [S119]; ~150 s for 4,800
# devices with FlashRecovery [S121]).
CHECKPOINT_COST_S = 30.0  # [A] middle of 10-60 s
RESTART_COST_S = 600.0  # [A] middle of 5-15 min


@dataclass(frozen=True, slots=True)
class FailureModel:
    """What the twin needs to interrupt jobs: rate, causes, checkpoint and restart costs.

    `checkpoint_s` maps job ids to their own checkpoint interval (seconds of work); other jobs
    use Young's interval for their size. `min_gpus` leaves jobs smaller than that out of the
    checkpoint model: they restart from the beginning (small jobs rarely checkpoint [A]).
    """

    rate_per_gpu_hour: float = RATE_PER_GPU_HOUR
    causes: tuple[Cause, ...] = DEFAULT_CAUSES
    checkpoint_cost_s: float = CHECKPOINT_COST_S
    restart_cost_s: float = RESTART_COST_S
    checkpoint_s: dict[int, float] = field(default_factory=dict)
    min_gpus: int = 1

    def __post_init__(self) -> None:
        if not self.rate_per_gpu_hour > 0 or math.isinf(self.rate_per_gpu_hour):
            raise ConfigError(
                f"failure rate must be > 0 per GPU-hour, got {self.rate_per_gpu_hour}"
            )
        if not self.causes or any(c.share < 0 or c.repair_s < 0 for c in self.causes):
            raise ConfigError("failure causes need shares >= 0 and repair times >= 0")
        if abs(sum(c.share for c in self.causes) - 1.0) > 1e-9:
            raise ConfigError("failure cause shares must add up to 1")
        if self.checkpoint_cost_s < 0 or self.restart_cost_s < 0:
            raise ConfigError("checkpoint and restart costs must be >= 0")
        if any(not v > 0 for v in self.checkpoint_s.values()):
            raise ConfigError("checkpoint intervals must be > 0 seconds")

    def interval(self, job: Job) -> float:
        """Seconds of work between checkpoints: the job's own, else Young's for its size."""
        own = self.checkpoint_s.get(job.id)
        if own is not None:
            return own
        if job.gpus < self.min_gpus:
            return math.inf
        return young_interval(self.checkpoint_cost_s, self.mtbf_s(job.gpus))

    def mtbf_s(self, gpus: int) -> float:
        """Mean time between interruptions of a job on `gpus` GPUs: 1 / (rate x GPUs)."""
        return 3600.0 / (self.rate_per_gpu_hour * gpus)


def young_interval(cost_s: float, mtbf_s: float) -> float:
    """Young's optimal checkpoint interval sqrt(2 C M) [S120]. A free checkpoint (C = 0) would
    be taken continuously: interval 0, nothing but the restart is lost."""
    return math.sqrt(2.0 * cost_s * mtbf_s)


@dataclass(frozen=True, slots=True)
class Setback:
    """What one interruption costs a job: the retry to queue and the seconds thrown away."""

    retry: Job
    left: float  # share of the original work still to do
    lost_s: float  # wall seconds of this run that produced nothing kept


def setback(
    original: Job,
    left: float,
    elapsed: float,
    work_s: float,
    overhead_s: float,
    interval: float,
    restart_s: float,
) -> Setback:
    """The retry after a job is interrupted `elapsed` seconds into a run.

    The run had `overhead_s` of restart first, then work; `work_s` is the whole original
    job's work on this run's GPU model and `left` the share of it this run began with. Work
    is kept up to the last checkpoint (every `interval` seconds of work); the rest, and the
    restart, are lost. The retry asks for the work still left plus `restart_s`, on the job's
    reference model (so the restart cost scales with the GPU model like the work does [A]).
    """
    useful = min(max(0.0, elapsed - overhead_s), left * work_s)
    if interval <= 0.0:
        saved = useful
    elif math.isinf(interval):
        saved = 0.0
    else:
        saved = math.floor(useful / interval + 1e-9) * interval
    now_left = max(0.0, left - saved / work_s) if work_s > 0 else 0.0
    runtimes = tuple((m, t * now_left + restart_s) for m, t in original.runtimes)
    retry = replace(original, runtime=original.runtime * now_left + restart_s, runtimes=runtimes)
    return Setback(retry, now_left, elapsed - saved)
