"""Bisection for the smallest scale factor that meets a target, as a state machine.

`next_scale()` says what to probe, `record()` takes the outcome; no I/O, so a driver can run
many bisections in lockstep through one backend, and a test can drive one with a function.
It assumes the outcome is monotone in the scale (more GPUs never miss a target that fewer
met); with a noisy metric it still ends, and the probes show where it was not monotone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Bisection:
    """Probe `hi` (give up if it misses), then `lo` (done if it meets), then halve the gap
    between the largest miss and the smallest meet until it is at most `tolerance`."""

    lo: float
    hi: float
    tolerance: float
    probes: list[tuple[float, bool]] = field(default_factory=list)
    good: float | None = None  # smallest scale seen to meet
    bad: float | None = None  # largest scale seen to miss

    def next_scale(self) -> float | None:
        """The next scale to probe, or None when the search is over."""
        if not self.probes:
            return self.hi
        if self.good is None:
            return None  # even hi misses
        if len(self.probes) == 1:
            return self.lo
        if self.bad is None:
            return None  # lo already meets
        if self.good - self.bad <= self.tolerance:
            return None
        return (self.good + self.bad) / 2

    def record(self, scale: float, met: bool) -> None:
        self.probes.append((scale, met))
        if met:
            self.good = scale if self.good is None else min(self.good, scale)
        else:
            self.bad = scale if self.bad is None else max(self.bad, scale)

    @property
    def answer(self) -> float | None:
        """The smallest scale known to meet the target; None if `hi` misses."""
        return self.good if self.next_scale() is None else None


def bisect(met: Callable[[float], bool], lo: float, hi: float, tolerance: float) -> Bisection:
    """Run a bisection to its end with `met` as the probe (for tests and simple callers)."""
    b = Bisection(lo, hi, tolerance)
    while (s := b.next_scale()) is not None:
        b.record(s, met(s))
    return b
