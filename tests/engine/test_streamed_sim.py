"""The twin reading its jobs as a stream: same record as from a list, jobs dropped once ended."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from hypothesis import given

from gpufleet.engine.record import COMPLETED, PENDING, RUNNING, RunRecord
from gpufleet.engine.sim import simulate
from gpufleet.errors import TraceError
from gpufleet.policy.registry import resolve
from gpufleet.workload.job import Job
from gpufleet.workload.stream import submit_order
from strategies import make_fleet, workloads

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def _outcome(rec: RunRecord) -> str:
    """The record as text (NaN equals NaN there)."""
    return repr(
        (
            list(rec.jobs),
            list(rec.start),
            list(rec.end),
            list(rec.cluster),
            list(rec.n_domains),
            list(rec.state),
            rec.preempted,
            rec.sample_busy,
            rec.sample_pending,
        )
    )


def _stream(jobs: list[Job]) -> Iterator[Job]:
    """A bare iterator: no length, no indexing, read once."""
    yield from sorted(jobs, key=submit_order)


@given(workloads())
def test_a_stream_gives_the_lists_record(jobs: list[Job]) -> None:
    """Any workload: read lazily in (submit, id) order, the record equals the list's."""
    policy = resolve("fifo+easy")
    window = max(j.submit for j in jobs)
    listed = simulate(TWO_NODES, jobs, policy, window=window)
    streamed = simulate(TWO_NODES, _stream(jobs), policy, window=window)
    assert _outcome(streamed) == _outcome(listed)


def test_a_list_out_of_order_is_sorted_first() -> None:
    """Rows follow (submit, id): job 1 at t = 0 is row 0, job 0 at t = 5 row 1."""
    jobs = [Job(0, "a", 5.0, 8, 10.0), Job(1, "a", 0.0, 8, 10.0)]
    rec = simulate(TWO_NODES, jobs, resolve("fifo"))
    assert [j.id for j in rec.jobs] == [1, 0]
    assert list(rec.start) == [0.0, 5.0]


def test_a_stream_needs_a_window() -> None:
    with pytest.raises(ValueError, match="window"):
        simulate(TWO_NODES, iter([Job(0, "a", 0.0, 8, 10.0)]), resolve("fifo"))


def test_a_stream_out_of_order_is_refused() -> None:
    jobs = iter([Job(0, "a", 5.0, 8, 10.0), Job(1, "a", 0.0, 8, 10.0)])
    with pytest.raises(TraceError, match=r"job 1 at 0\.0 after job 0 at 5\.0"):
        simulate(TWO_NODES, jobs, resolve("fifo"), window=5.0)


def test_a_duplicate_id_in_flight_is_refused() -> None:
    """Job 0 still runs (to t = 100) when a second job 0 arrives at t = 1."""
    jobs = iter([Job(0, "a", 0.0, 8, 100.0), Job(0, "a", 1.0, 8, 10.0)])
    with pytest.raises(TraceError, match="duplicate job id 0"):
        simulate(TWO_NODES, jobs, resolve("fifo"), window=1.0)


def test_stopping_early_records_the_jobs_not_yet_read() -> None:
    """until = 50: job 0 (0-100) runs, job 1 (arrives at 80) is never read but has its row."""
    jobs = iter([Job(0, "a", 0.0, 8, 100.0), Job(1, "a", 80.0, 8, 10.0)])
    rec = simulate(TWO_NODES, jobs, resolve("fifo"), window=80.0, until=50.0)
    assert [j.id for j in rec.jobs] == [0, 1]
    assert list(rec.state) == [RUNNING, PENDING]


def _live_jobs() -> int:
    gc.collect()
    return sum(isinstance(o, Job) for o in gc.get_objects())


def test_the_twin_keeps_no_job_once_it_ended() -> None:
    """Fifty 1-GPU jobs built on the fly and finished: none of them outlives the run, only
    their columns in the record."""
    before = _live_jobs()
    rec = simulate(
        TWO_NODES, (Job(i, "a", float(i), 1, 5.0) for i in range(50)), resolve("fifo"), window=49.0
    )
    assert _live_jobs() == before
    assert list(rec.state) == [COMPLETED] * 50
    assert rec.jobs[49].submit == 49.0
