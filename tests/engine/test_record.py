"""The record's job columns: what it keeps of each job, and the group each is accounted to."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpufleet.engine import record
from gpufleet.engine.record import JobColumns, JobFacts
from gpufleet.workload.job import Job


def _columns() -> JobColumns:
    return JobColumns.of(
        [
            Job(7, "t2", 0.0, 8, 10.0, group="g", kind="pretrain"),
            Job(3, "t1", 1.5, 1, 10.0, kind="eval"),
            Job(9, "t2", 2.0, 4, 10.0, group="g"),
            Job(4, "t3", 3.0, 2, 10.0, group="h"),
        ]
    )


def test_rows_give_back_what_was_kept() -> None:
    cols = _columns()
    assert len(cols) == 4
    assert cols[1] == JobFacts(3, "t1", "", "eval", 1, 1.5)
    assert cols[-1].id == 4
    assert [f.id for f in cols[1:3]] == [3, 9]
    assert cols.ids().tolist() == [7, 3, 9, 4]
    assert cols.gpu_counts().tolist() == [8.0, 1.0, 4.0, 2.0]
    assert cols.tenant.arrow().to_pylist() == ["t2", "t1", "t2", "t3"]


def test_accounted_to_group_or_tenant_in_order_of_first_appearance() -> None:
    """Rows 0 and 2 in group g; row 1 has no group, so tenant t1; row 3 in h."""
    names, code = _columns().account_codes()
    assert names == ["g", "t1", "h"]
    assert code.tolist() == [0, 1, 0, 2]


def test_no_jobs() -> None:
    names, code = JobColumns().account_codes()
    assert names == [] and len(code) == 0
    assert len(JobColumns().ids()) == 0


@given(
    st.lists(st.tuples(st.sampled_from(["", "g", "h", "t1"]), st.sampled_from(["t1", "t2"]))),
    st.integers(1, 4),
)
def test_account_codes_match_a_loop(rows: list[tuple[str, str]], slice_rows: int) -> None:
    """Whatever the slices the accounts are found in."""
    cols = JobColumns.of(Job(i, t, 0.0, 1, 1.0, group=g) for i, (g, t) in enumerate(rows))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(record, "SLICE_ROWS", slice_rows)
        names, code = cols.account_codes()
        acc = cols.accounts()
    want = [g or t for g, t in rows]
    assert [names[c] for c in code.tolist()] == want
    assert names == list(dict.fromkeys(want))
    assert code.dtype == np.int64
    assert acc.codes(cols, slice(1, 3)).tolist() == code[1:3].tolist()
    some = np.arange(len(rows))[::-2]  # job indices, not a slice
    assert acc.codes(cols, some).tolist() == code[some].tolist()


def test_row_slices_cover_the_rows_in_order() -> None:
    assert list(record.row_slices(5, 2)) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert list(record.row_slices(0, 2)) == []
