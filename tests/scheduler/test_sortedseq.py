"""SortedSeq against a plain sorted list: the same items, in the same order, after any ops."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpufleet.scheduler import sortedseq
from gpufleet.scheduler.sortedseq import SortedSeq

# (op, value): add a value, or remove the value at a position of the model list
ops = st.lists(
    st.tuples(st.sampled_from(["add", "add", "remove"]), st.integers(-50, 50)), max_size=400
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, start=st.lists(st.integers(-50, 50), max_size=30))
def test_matches_a_sorted_list(ops: list[tuple[str, int]], start: list[int]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sortedseq, "_LOAD", 4)  # sublists of 2 to 8 items: splits and merges
        _check(ops, start)


def _check(ops: list[tuple[str, int]], start: list[int]) -> None:
    seq = SortedSeq(start)
    model = sorted(start)
    for op, v in ops:
        if op == "add":
            seq.add(v)
            insort(model, v)
        elif model:
            item = model.pop(v % len(model))
            seq.remove(item)
        assert len(seq) == len(model)
        assert bool(seq) == bool(model)
    assert list(seq) == model
    assert all(len(sub) <= 8 for sub in seq.sublists())
    assert [x for sub in seq.sublists() for x in sub] == model
    if model:
        assert seq[0] == model[0] and seq[-1] == model[-1]
        assert seq[len(model) // 2] == model[len(model) // 2]
    for probe in (-51, -3, 0, 7, 51):
        assert seq.bisect_left(probe) == bisect_left(model, probe)
        assert (
            list(seq.irange(minimum=probe, inclusive=(False, True)))
            == model[bisect_right(model, probe) :]
        )
        assert list(seq.irange(minimum=probe)) == model[bisect_left(model, probe) :]
        assert (probe in seq) == (probe in model)
    assert seq.head(5) == model[:5]


def test_many_items_split_and_merge_in_order() -> None:
    """Enough items to split sublists at the real load, then removals that merge them."""
    n = 5000
    seq = SortedSeq()
    for i in range(n):
        seq.add((i * 7919) % n)  # every value once, out of order
    assert list(seq) == list(range(n))
    assert len(seq.sublists()) > 1
    assert all(len(sub) <= 2 * sortedseq._LOAD for sub in seq.sublists())
    for v in range(0, n, 2):
        seq.remove(v)
    assert list(seq) == list(range(1, n, 2))
    assert seq.head(3) == [1, 3, 5]


def test_small_sublists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sortedseq, "_LOAD", 2)
    seq = SortedSeq()
    for v in [5, 1, 9, 3, 7, 2, 8, 4, 6, 0, 5, 5]:
        seq.add(v)
    for v in [5, 0, 9, 5]:
        seq.remove(v)
    assert list(seq) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert len(seq.sublists()) > 1


def test_remove_a_missing_item_is_an_error() -> None:
    seq = SortedSeq([(1.0, 2), (3.0, 4)])
    with pytest.raises(ValueError, match="not in sequence"):
        seq.remove((2.0, 0))
    with pytest.raises(ValueError, match="not in sequence"):
        seq.remove((9.0, 0))
    with pytest.raises(IndexError):
        SortedSeq()[0]
    assert list(seq) == [(1.0, 2), (3.0, 4)]
