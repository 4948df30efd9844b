"""What happened in a run: per-job outcomes in flat arrays and sampled time series.

The record keeps no Job objects: a year of the national fleet is ~47 million jobs, and a Job
with its boxed floats costs ~265 bytes where the few facts the metrics and reports read of it
(`JobColumns`) cost 32. The twin fills the columns as jobs arrive, so a run's memory is what is
in flight plus these arrays.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.fleet.model import Fleet
from gpufleet.workload.job import Job

# Job end states, stored as small ints in RunRecord.state.
PENDING, COMPLETED, TIMEOUT, REJECTED, CANCELLED, RUNNING = range(6)
STATE_NAMES = ("pending", "completed", "timeout", "rejected", "cancelled", "running")

# Rows the metrics and the ledger compute on at a time. A year is ~47 million rows: a
# temporary per row for all of them at once is gigabytes, a slice of this many is a few MB.
SLICE_ROWS = 1 << 18


def row_slices(n: int, size: int | None = None) -> Iterator[slice]:
    """Rows [0, n) as consecutive slices of `size` rows (SLICE_ROWS by default; none when n
    is 0)."""
    step = size or SLICE_ROWS
    return (slice(lo, min(lo + step, n)) for lo in range(0, n, step))


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the record keeps of one job: who asked, what kind, how many GPUs, when."""

    id: int
    tenant: str
    group: str
    kind: str
    gpus: int
    submit: float


class Labels:
    """A column of strings stored as small codes into a list of the distinct words."""

    __slots__ = ("_code", "codes", "words")

    def __init__(self) -> None:
        self.codes: array[int] = array("i")
        self.words: list[str] = []
        self._code: dict[str, int] = {}

    def append(self, word: str) -> None:
        code = self._code.get(word)
        if code is None:
            code = self._code[word] = len(self.words)
            self.words.append(word)
        self.codes.append(code)

    def __getitem__(self, i: int) -> str:
        return self.words[self.codes[i]]

    def code_array(self) -> np.ndarray:
        """The codes as an int32 array (a view, not a copy)."""
        return np.frombuffer(self.codes, np.int32) if len(self.codes) else np.zeros(0, np.int32)

    def arrow(self, rows: slice = slice(None)) -> pa.Array:
        """The column (or its `rows`) as an Arrow string array, one string per row."""
        return pc.take(pa.array(self.words, pa.string()), pa.array(self.code_array()[rows]))


@dataclass(frozen=True, slots=True, eq=False)
class Accounts:
    """The groups jobs are accounted to: a job's group, or its tenant when it has none (the
    rule of metrics and the ledger). `names` are in order of first appearance, as a loop over
    the jobs would meet them; `codes` gives each job's index into them, a slice at a time."""

    names: list[str]
    pairs: np.ndarray  # sorted keys (group code x width + tenant code) that occur
    name_of: np.ndarray  # index into names of each pair
    width: int

    def codes(self, jobs: JobColumns, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """The account code (int64) of each job of `rows` (a slice or job indices)."""
        key = jobs.group.code_array()[rows].astype(np.int64) * self.width
        key += jobs.tenant.code_array()[rows]
        return self.name_of[np.searchsorted(self.pairs, key)]


class JobColumns(Sequence[JobFacts]):
    """Id, tenant, group, kind, GPUs and submit time of every job of a run, as arrays.

    Indexing gives a `JobFacts` (for tests and small runs); metrics read the arrays.
    """

    __slots__ = ("gpus", "group", "id", "kind", "submit", "tenant")

    def __init__(self) -> None:
        self.id: array[int] = array("q")
        self.submit: array[float] = array("d")
        self.gpus: array[int] = array("i")
        self.tenant = Labels()
        self.group = Labels()
        self.kind = Labels()

    @staticmethod
    def of(jobs: Iterable[Job]) -> JobColumns:
        cols = JobColumns()
        for j in jobs:
            cols.append(j)
        return cols

    def append(self, job: Job) -> None:
        self.id.append(job.id)
        self.submit.append(job.submit)
        self.gpus.append(job.gpus)
        self.tenant.append(job.tenant)
        self.group.append(job.group)
        self.kind.append(job.kind)

    def __len__(self) -> int:
        return len(self.id)

    @overload
    def __getitem__(self, i: int) -> JobFacts: ...
    @overload
    def __getitem__(self, i: slice) -> list[JobFacts]: ...
    def __getitem__(self, i: int | slice) -> JobFacts | list[JobFacts]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return JobFacts(
            self.id[i], self.tenant[i], self.group[i], self.kind[i], self.gpus[i], self.submit[i]
        )

    def __iter__(self) -> Iterator[JobFacts]:
        return (self[i] for i in range(len(self)))

    def ids(self) -> np.ndarray:
        return np.frombuffer(self.id, np.int64) if len(self) else np.zeros(0, np.int64)

    def submits(self) -> np.ndarray:
        return np.frombuffer(self.submit, np.float64) if len(self) else np.zeros(0)

    def gpu_counts(self) -> np.ndarray:
        """GPUs per job as float64 (the metrics multiply them with seconds)."""
        return np.frombuffer(self.gpus, np.int32).astype(np.float64) if len(self) else np.zeros(0)

    def accounts(self) -> Accounts:
        """The groups the jobs are accounted to, found a slice of rows at a time."""
        width = max(len(self.tenant.words), 1)
        group, tenant = self.group.code_array(), self.tenant.code_array()
        pairs, first = np.zeros(0, np.int64), np.zeros(0, np.int64)
        for rows in row_slices(len(self)):
            key = group[rows].astype(np.int64) * width + tenant[rows]
            new = np.setdiff1d(key, pairs)  # pairs not met in earlier slices
            if new.size:  # their first rows: sort only the rows that hold them
                mine = np.isin(key, new)
                distinct, at = np.unique(key[mine], return_index=True)
                pairs = np.concatenate([pairs, distinct])
                first = np.concatenate([first, np.flatnonzero(mine)[at] + rows.start])
        order = np.argsort(pairs)
        pairs, first = pairs[order], first[order]
        names: list[str] = []
        seen: dict[str, int] = {}
        name_of = np.empty(len(pairs), np.int64)
        for k in np.argsort(first, kind="stable").tolist():
            p = int(pairs[k])
            name = self.group.words[p // width] or self.tenant.words[p % width]
            if name not in seen:
                seen[name] = len(names)
                names.append(name)
            name_of[k] = seen[name]
        return Accounts(names, pairs, name_of, width)

    def account_codes(self) -> tuple[list[str], np.ndarray]:
        """(names, code per job) of `accounts()`, for every job at once."""
        acc = self.accounts()
        return acc.names, acc.codes(self)


@dataclass(slots=True)
class RunRecord:
    """Outcome of every job (index = position in `jobs`) plus samples every `sample_every` s."""

    fleet: Fleet
    jobs: JobColumns
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

    def add(self, job: Job) -> int:
        """A row for `job`, arrived and not yet started; returns its index."""
        self.jobs.append(job)
        self.start.append(math.nan)
        self.end.append(math.nan)
        self.cluster.append(-1)
        self.n_domains.append(0)
        self.n_blocks.append(0)
        self.state.append(PENDING)
        return len(self.state) - 1

    @staticmethod
    def empty(
        fleet: Fleet,
        jobs: Sequence[Job],
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
            jobs=JobColumns.of(jobs),
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
