"""The Gittins index of a job from a distribution of job sizes (GPU-seconds), for Tiresias.

For a job that has attained service `a` and a quantum `delta` (Tiresias: the service left
until the job's next queue threshold), with S the size of a job drawn from the distribution:

    G(a, delta) = P(S - a <= delta | S > a) / E[min(S - a, delta) | S > a]

the chance of finishing within the quantum per unit of service it will cost (Gittins; Gu et
al., Tiresias, NSDI'19, section 3.2). A higher index runs first. A job older than every
sample gets 0, as in the Tiresias simulator: the distribution says nothing about it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from gpufleet.errors import ConfigError


@dataclass(frozen=True, slots=True)
class GittinsTable:
    """Sorted size samples with prefix sums, so one index costs two binary searches."""

    sizes: tuple[float, ...]
    prefix: tuple[float, ...]  # prefix[i] = sum(sizes[:i])

    @staticmethod
    def of(samples: Iterable[float]) -> GittinsTable:
        """A table from job sizes in GPU-seconds (e.g. Tiresias' yarn-gput samples)."""
        sizes = tuple(sorted(float(s) for s in samples))
        if not sizes:
            raise ConfigError("Gittins index: no job-size samples")
        if sizes[0] <= 0 or not math.isfinite(sizes[-1]):
            raise ConfigError("Gittins index: job sizes must be finite GPU-seconds > 0")
        return GittinsTable(sizes, (0.0, *accumulate(sizes)))

    def index(self, attained: float, delta: float = math.inf) -> float:
        """G(attained, delta); `delta` = inf means run to the end (P = 1)."""
        sizes, prefix = self.sizes, self.prefix
        n = len(sizes)
        i0 = bisect_right(sizes, attained)  # samples with S > attained start here
        alive = n - i0
        if alive == 0:
            return 0.0
        i1 = n if math.isinf(delta) else bisect_right(sizes, attained + delta)
        finishing = i1 - i0
        # E[min(S - a, delta)] over the survivors: the finishers' rest plus delta for the others
        spent = (prefix[i1] - prefix[i0]) - finishing * attained
        if i1 < n:
            spent += (n - i1) * delta
        return (finishing / alive) / (spent / alive) if spent > 0 else math.inf
