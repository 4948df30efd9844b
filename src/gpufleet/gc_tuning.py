"""The cyclic garbage collector around bulk work: our hot loops build no reference cycles, but
the collector still rescans every live object (queues, jobs in flight, the fleet's state) as
allocations pile up, about 5% of a twin run at CPython's defaults."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RELAXED_GEN0 = 50_000  # net allocations between young collections (CPython's default: 700)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the collector while building many acyclic objects (Jobs hold no cycles, but
    each allocation burst would make the collector rescan all of them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def gc_relaxed() -> Iterator[None]:
    """Collect rarely during a long run, and never rescan what existed before it (the fleet,
    the tenant tree, imported modules): frozen until the run ends. Cycles are still found,
    only later; the thresholds are given back afterwards, and the frozen objects too unless
    someone froze objects before (a server does: CPython cannot unfreeze only ours)."""
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(RELAXED_GEN0, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if not frozen_before:
            gc.unfreeze()
