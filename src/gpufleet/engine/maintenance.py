"""Planned maintenance of the twin: the waves of rolling drains that sites declare.

Pure: the whole run's schedule follows from the fleet and the arrival window, so it is
computed before the run, like the build-out. `engine/faults.py` carries it out: a wave's
domains stop taking new work at `start`, running jobs are checkpointed and requeued at
`deadline`, and the domains come back at `end`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from gpufleet.fleet.model import Fleet


@dataclass(frozen=True, slots=True)
class Wave:
    """One drain of some NVLink domains of one cluster."""

    start: float  # no new starts on these domains from here
    deadline: float  # jobs still running are checkpointed and requeued
    end: float  # the domains are back in service
    domains: tuple[int, ...]


def waves(fleet: Fleet, window: float, seed: int | None = None) -> list[Wave]:
    """Every wave that starts inside [0, window), in time order (ties by domain).

    Each cluster of a site with `maintenance` drains ceil(fraction x its domains) domains
    per wave, taking the next ones in turn (wrapping), so every domain is serviced once in
    each 1 / fraction waves. With `stagger`, each cluster's waves are shifted by its own
    `offset` (from `seed`), so a site's clusters do not all drain at the same instant.
    """
    sites = {s.id: s for s in fleet.sites}
    out: list[Wave] = []
    for ci, c in enumerate(fleet.clusters):
        m = sites[c.site].maintenance
        if m is None:
            continue
        doms = fleet.cluster_domains(ci)
        n = len(doms)
        size = min(n, math.ceil(m.fraction * n - 1e-9))
        pos = 0
        t = m.start_s + (offset(seed, c.id, m.every_s) if m.stagger else 0.0)
        while t < window:
            take = tuple(doms[(pos + k) % n] for k in range(size))
            pos = (pos + size) % n
            out.append(Wave(t, t + m.drain_s, t + m.drain_s + m.down_s, take))
            t += m.every_s
    out.sort(key=lambda w: (w.start, w.domains[0]))
    return out


def offset(seed: int | None, cluster: str, every_s: float) -> float:
    """How far into each period `cluster`'s waves come: uniform in [0, every_s), drawn from
    the run's seed and the cluster's id alone, so adding or reordering clusters moves no
    other cluster's waves, and the same seed always gives the same schedule."""
    return random.Random(f"gpufleet-maintenance-{seed}-{cluster}").random() * every_s
