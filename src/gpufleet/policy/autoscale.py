"""Autoscaling of inference services: how many replicas a demand calls for, and when.

`target_replicas` is the pure rule (demand, replicas, capacity per replica) -> replicas, as
Kubernetes' Horizontal Pod Autoscaler computes it: ceil(current x metric / target), with the
metric here the utilization offered / (replicas x capacity), which reduces to ceil(offered /
(capacity x target utilization)) [S144]. `schedule` applies it at every decision time, clamps
to [min, max] and holds scale-downs for the delay with HPA's stabilization window: the
largest recommendation of the last `down_delay` seconds wins [S144].
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from gpufleet.workload.services import LATENCY, Objective, Service

# Demand within this share of a replica boundary does not add a replica: float noise only.
_EPS = 1e-9


def target_replicas(demand: float, replicas: int, per_replica: float, objective: Objective) -> int:
    """Replicas needed to serve `demand` tokens/s with `per_replica` tokens/s each under
    `objective`, unclamped. `replicas` is the current count: with no demand and no capacity
    information (per_replica <= 0) the service keeps what it has."""
    if per_replica <= 0:
        return replicas
    usable = per_replica * (objective.target if objective.kind == LATENCY else 1.0)
    return max(0, math.ceil(demand / usable - _EPS))


def schedule(service: Service, horizon: float) -> list[tuple[float, int]]:
    """The service's replica count over [0, horizon): (time, replicas) at each change.

    Decisions at 0, interval, 2 x interval, ...; the first one sets the count directly and is
    always listed. The count always lies in [min_replicas, max_replicas].
    """
    a = service.autoscale
    lo, hi = service.min_replicas, service.max_replicas
    cap = service.planning_capacity
    window: deque[tuple[float, int]] = deque()  # recent (time, clamped recommendation)
    out: list[tuple[float, int]] = []
    current = 0
    times = np.arange(0.0, horizon, a.interval)
    for t, offered in zip(times.tolist(), service.demand.at(times).tolist(), strict=True):
        want = target_replicas(offered, current, cap, service.objective)
        want = min(hi, max(lo, want))
        window.append((t, want))
        while window and window[0][0] < t - a.down_delay:
            window.popleft()
        # up at once; down to the largest recommendation of the delay window
        new = want if not out or want > current else min(current, max(w for _, w in window))
        if new != current or not out:
            out.append((t, new))
            current = new
    return out
