"""Long-running inference services as the twin sees them: who serves, on what, for what demand.

A service is a set of identical replicas (each a gang of GPUs) of one tenant, scaled between a
minimum and a maximum by an autoscaler that looks at offered demand every decision interval.
Demand is a diurnal curve in tokens per second: a cosine between a trough and a peak with its
maximum at the peak hour, multiplied on weekend days by a weekly factor. The curve is a pure
function of time so that metrics can integrate it on any grid the run did not use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DAY_S = 86400.0
WEEK_DAYS = 7
# t = 0 is a Monday at midnight local time [A]; days 5 and 6 of each week are the weekend.
WEEKEND = (5, 6)
THROUGHPUT, LATENCY = "throughput", "latency"
OBJECTIVES = (THROUGHPUT, LATENCY)


@dataclass(frozen=True, slots=True)
class Demand:
    """Offered load in tokens per second: `trough` at peak_hour + 12 h, `peak` at peak_hour,
    times `weekend` on Saturdays and Sundays, plus `steps` (at seconds t: tokens/s added from
    then on; hand-made cases and what-ifs)."""

    peak: float
    trough: float
    peak_hour: float
    weekend: float = 1.0
    steps: tuple[tuple[float, float], ...] = ()

    def at(self, t: np.ndarray) -> np.ndarray:
        """Tokens per second offered at times `t` (seconds)."""
        t = np.asarray(t, dtype=np.float64)
        hour = (t % DAY_S) / 3600.0
        mid = (self.peak + self.trough) / 2.0
        amp = (self.peak - self.trough) / 2.0
        x = mid + amp * np.cos(2.0 * math.pi * (hour - self.peak_hour) / 24.0)
        day = (t // DAY_S).astype(np.int64) % WEEK_DAYS
        x = np.where(np.isin(day, WEEKEND), x * self.weekend, x)
        for at, add in self.steps:
            x = x + np.where(t >= at, add, 0.0)
        return np.asarray(np.maximum(x, 0.0))

    def value(self, t: float) -> float:
        return float(self.at(np.array([t]))[0])


@dataclass(frozen=True, slots=True)
class Objective:
    """What a service must achieve. `throughput`: serve the offered tokens/s. `latency`: a
    proxy, keep the utilization per replica (offered / capacity) at or below `target`."""

    kind: str = THROUGHPUT
    target: float = 1.0


@dataclass(frozen=True, slots=True)
class Autoscale:
    """Decisions every `interval` s; a scale-down only after the lower target has held for
    `down_delay` s (the larger of the recommendations in that window wins)."""

    interval: float = 300.0
    down_delay: float = 1800.0


@dataclass(frozen=True, slots=True)
class Service:
    """One inference service. `tokens_per_s` maps each allowed GPU model to the tokens/s a
    replica of `gpus` GPUs of that model serves; `models` lists them in order of preference."""

    name: str
    tenant: str
    models: tuple[str, ...]
    gpus: int
    min_replicas: int
    max_replicas: int
    demand: Demand
    tokens_per_s: dict[str, float]
    objective: Objective = Objective()
    autoscale: Autoscale = Autoscale()
    sites: tuple[str, ...] = ()
    topology: str = "domain"
    priority: int = 0
    carve_from: str | None = None  # tree node whose guarantee gives up max_gpus

    @property
    def planning_capacity(self) -> float:
        """Tokens/s the autoscaler counts per replica: the slowest allowed model's, so the
        service meets its demand wherever its replicas land."""
        return min(self.tokens_per_s[m] for m in self.models)

    @property
    def max_gpus(self) -> int:
        return self.max_replicas * self.gpus


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the services' tenant node goes in the tenant tree: a node `node` under `parent`
    (None: the first root), one leaf per service below it. Each service's `carve_from` names
    the node whose guarantee gives up its GPUs, so that guarantees stay within the fleet."""

    node: str = "inference"
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceSet:
    """The services of a run and where their tenant node sits."""

    services: tuple[Service, ...]
    placement: Placement = Placement()
    source: str = ""
