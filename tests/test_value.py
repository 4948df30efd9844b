"""The immutable values built per job (gpufleet/value.py) keep the dataclass contract."""

from __future__ import annotations

import pickle

import pytest

import gpufleet._native as native
from gpufleet.fleet.state import Allocation
from gpufleet.scheduler.events import Cancel, Down, Fail, Finish, Preempt, Start, Up


def test_equality_and_hash_by_value() -> None:
    a = Allocation(2, ((5, 4), (6, 4)))
    assert a == Allocation(2, ((5, 4), (6, 4)))
    assert a != Allocation(2, ((5, 4),))
    assert hash(a) == hash(Allocation(2, ((5, 4), (6, 4))))
    assert len({a, Allocation(2, ((5, 4), (6, 4)))}) == 1
    assert a.gpus == 8


def test_same_fields_of_another_kind_differ() -> None:
    assert Finish(1) != Cancel(1)
    assert Down(3, 8) != Up(3, 8)
    assert Finish(1) == Finish(1)
    assert Finish(1) != (1,)


def test_repr_names_the_fields() -> None:
    start = Start(7, Allocation(0, ((1, 2),)), 60.0, False)
    assert repr(start) == (
        "Start(job_id=7, allocation=Allocation(cluster=0, parts=((1, 2),)), duration=60.0, "
        "timed_out=False)"
    )
    assert repr(Fail(3)) == "Fail(job_id=3, retry=None)"


def test_pickles_and_matches() -> None:
    p = Preempt(4, 300.0, "reclaimed")
    assert pickle.loads(pickle.dumps(p)) == p
    match p:
        case Preempt(job_id, at, reason):
            assert (job_id, at, reason) == (4, 300.0, "reclaimed")
        case _:
            pytest.fail("no match")


@pytest.mark.skipif(native.mode() != "compiled", reason="read-only at run time when compiled")
def test_fields_are_read_only_when_compiled() -> None:
    a = Allocation(0, ((1, 2),))
    with pytest.raises(AttributeError):
        a.cluster = 1  # type: ignore[misc]
