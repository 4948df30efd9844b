"""The seam between the live engine and the systems that run jobs (local processes, Slurm).

The live engine turns a core `Start` decision into `Executor.launch(...)`, and turns what an
executor reports (`poll`) into core `Finish` events. After a restart it asks each executor what
is still running (`reconcile`) so that no job is started twice. Executors never decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class NodeGpus:
    """GPUs of one node given to a job: the node's name and the GPU indices on it."""

    node: str
    gpus: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Launch:
    """Everything an executor needs to start one job.

    `command` is a shell command line, or `script` a batch script (for Slurm: an sbatch
    script); one of them is set. `time_limit` is seconds (None: the executor's default).
    """

    job_id: int
    tenant: str
    site: str
    cluster: str
    nodes: tuple[NodeGpus, ...]
    command: str | None = None
    script: str | None = None
    time_limit: float | None = None
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """An executor's word on one job: it ended (completed, failed, cancelled, timeout)."""

    job_id: int
    state: str
    exit_code: int | None = None
    detail: str = ""


class Executor(Protocol):
    """Runs jobs on one kind of engine. Implementations: `local` (subprocesses), `slurm`."""

    name: str

    def launch(self, launch: Launch) -> str:
        """Start the job; return the executor's own id for it (a pid, a Slurm job id)."""
        ...

    def cancel(self, job_id: int) -> None:
        """Stop the job if it runs; a job already ended is not an error."""
        ...

    def poll(self) -> list[Report]:
        """Jobs that ended since the last poll; each job is reported once."""
        ...

    def reconcile(self, running: dict[int, str]) -> list[Report]:
        """After a restart: given job id -> executor id of jobs the database says run, report
        those that have ended meanwhile (the rest are still running and stay adopted)."""
        ...
