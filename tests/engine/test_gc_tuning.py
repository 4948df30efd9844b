"""The collector settings a twin run uses are given back afterwards, also on an error."""

from __future__ import annotations

import gc

import pytest

from gpufleet.gc_tuning import RELAXED_GEN0, gc_paused, gc_relaxed


def test_relaxed_freezes_and_restores() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with gc_relaxed():
        assert gc.get_threshold()[0] == RELAXED_GEN0
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen  # what existed before is not rescanned
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_relaxed_restores_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_relaxed():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_relaxed_still_collects_cycles() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with gc_relaxed():
        Node()
        assert gc.collect() >= 1  # an explicit collection still finds the cycle


def test_relaxed_keeps_an_earlier_freeze() -> None:
    gc.freeze()  # as a server does at start
    try:
        frozen = gc.get_freeze_count()
        with gc_relaxed():
            pass
        assert gc.get_freeze_count() >= frozen  # the server's objects stay frozen
    finally:
        gc.unfreeze()


def test_paused_restores_enabled_state() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
