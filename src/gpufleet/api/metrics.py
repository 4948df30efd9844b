"""Prometheus metrics of the live control plane, in a registry of the app's own.

Queue depth and running jobs and GPUs by site are read from the engine at scrape time;
decisions are counted and their pass latency observed as the engine makes them. Decisions per
second: `rate(gpufleet_decisions_total[1m])`, or the gauge over the last minute.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gpufleet.engine.live import Snapshot

WINDOW_S = 60.0


class Metrics:
    """The control plane's metrics; `observe` is the engine's pass observer."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "gpufleet_decisions",
            "Decisions of the scheduler core: jobs started and jobs rejected",
            registry=self.registry,
        )
        self.latency = Histogram(
            "gpufleet_decision_seconds",
            "Wall time of one scheduling pass",
            buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
            registry=self.registry,
        )
        self._recent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self.registry.register(_EngineCollector(snapshot, self.per_second))

    def observe(self, decisions: int, seconds: float) -> None:
        self.decisions.inc(decisions)
        self.latency.observe(seconds)
        now = time.monotonic()
        with self._lock:
            self._recent.append((now, decisions))
            self._trim(now)

    def per_second(self) -> float:
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            return sum(n for _, n in self._recent) / WINDOW_S

    def _trim(self, now: float) -> None:
        while self._recent and self._recent[0][0] < now - WINDOW_S:
            self._recent.popleft()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _EngineCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot], rate: Callable[[], float]) -> None:
        self.snapshot = snapshot
        self.rate = rate

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        yield GaugeMetricFamily("gpufleet_queue_depth", "Pending jobs", value=snap.pending)
        jobs = GaugeMetricFamily("gpufleet_running_jobs", "Running jobs by site", labels=["site"])
        gpus = GaugeMetricFamily(
            "gpufleet_running_gpus", "GPUs held by running jobs", labels=["site"]
        )
        for site in sorted(snap.running_jobs):
            jobs.add_metric([site], snap.running_jobs[site])
            gpus.add_metric([site], snap.running_gpus.get(site, 0))
        yield jobs
        yield gpus
        yield GaugeMetricFamily(
            "gpufleet_decisions_per_second",
            f"Decisions per second over the last {WINDOW_S:g} s",
            value=self.rate(),
        )
