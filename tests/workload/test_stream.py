"""Merging two job sources in (submit, id) order without a merged copy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gpufleet.workload.job import Job
from gpufleet.workload.stream import Merged, submit_order


def test_merged_interleaves_by_submit_then_id() -> None:
    """main 0@0, 1@5, 2@5; extra 10@5, 11@9: ties at t = 5 go by id (1, 2, then 10)."""
    main = [Job(0, "a", 0.0, 1, 1.0), Job(1, "a", 5.0, 1, 1.0), Job(2, "a", 5.0, 1, 1.0)]
    extra = [Job(10, "s", 5.0, 1, 1.0), Job(11, "s", 9.0, 1, 1.0)]
    merged = Merged(main, extra)
    assert len(merged) == 5
    assert [j.id for j in merged] == [0, 1, 2, 10, 11]


def test_an_extra_job_before_every_main_job_comes_first() -> None:
    main = [Job(5, "a", 3.0, 1, 1.0)]
    extra = [Job(9, "s", 1.0, 1, 1.0), Job(10, "s", 3.0, 1, 1.0)]
    assert [j.id for j in Merged(main, extra)] == [9, 5, 10]


@given(
    st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=60, unique_by=lambda x: x),
)
def test_merged_equals_sorting_the_concatenation(draws: list[tuple[int, bool]]) -> None:
    jobs = [Job(i, "a", float(t), 1, 1.0) for i, (t, _) in enumerate(draws)]
    main = sorted((j for j, (_, m) in zip(jobs, draws, strict=True) if m), key=submit_order)
    extra = sorted((j for j, (_, m) in zip(jobs, draws, strict=True) if not m), key=submit_order)
    assert list(Merged(main, extra)) == sorted(jobs, key=submit_order)
