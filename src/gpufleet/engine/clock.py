"""Where the live engine reads time: the wall clock in service, a fake clock in tests."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class WallClock:
    """The real time of day."""

    def now(self) -> float:
        return time.time()


class FakeClock:
    """Time that moves only when a test moves it."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def set(self, t: float) -> None:
        if t < self.t:
            raise ValueError(f"fake clock cannot go back from {self.t} to {t}")
        self.t = t

    def advance(self, dt: float) -> None:
        self.set(self.t + dt)
