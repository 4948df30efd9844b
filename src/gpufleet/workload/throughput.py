"""How fast a training job progresses at a placement: the Pollux artifact's model, from profiles.

A job trains for a number of epochs; epoch e ends when its progress reaches
`profile.epoch_end(e)`. At a placement (GPUs per node) and batch size its progress rate, the
goodput, is the statistical gain of its batch size over the time of one step (Pollux, OSDI'21,
section 3, as its artifact simulates it):

    scale     = batch_size / init_batch_size
    gain      = (grad_var + grad_sqr) / (grad_var / scale + grad_sqr)   # this epoch's statistics
    step_time = step + accum_steps * (step - sync)                      # measured at the placement
    goodput   = gain / step_time                                        # progress per second

A fixed-GPU job (the Tiresias baseline) keeps the batch size it asked for: each replica takes
`ceil(batch / replicas)` samples, split into gradient-accumulation steps when that exceeds the
largest local batch the GPU holds. The time to finish an epoch is rounded to whole seconds, as
the artifact does, so replays agree second for second.

Step times come from the placement's own measurements when it has 1-4 nodes (interpolated
linearly in the local batch size), else from the measured shapes (nodes, replicas), see
`step_time`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from gpufleet.errors import ConfigError
from gpufleet.workload.profiles import AppProfile, Curve, Placement, canonical

# The artifact clamps node counts to the 16 nodes its scalability runs measured.
MAX_PROFILED_NODES = 16
_EPS = 1e-8  # the artifact's guard against float noise in ceil(batch / replicas)


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """How a batch is cut: replicas x accumulation steps x atomic (per-step, per-GPU) batch."""

    replicas: int
    atomic_bsz: int
    accum_steps: int

    @property
    def batch_size(self) -> int:
        return self.replicas * self.atomic_bsz * (self.accum_steps + 1)


def fixed_batch(profile: AppProfile, batch_size: int, replicas: int) -> BatchConfig:
    """A fixed batch size on `replicas` GPUs, cut as the artifact cuts it for Tiresias jobs.

    A single GPU asked for more than the application's initial batch always accumulates at
    least once (the artifact's rule: one GPU would not hold it in one step).
    """
    if replicas < 1 or batch_size < 1:
        raise ConfigError(f"{profile.name}: need replicas >= 1 and batch size >= 1")
    local = math.ceil(batch_size / replicas - _EPS)
    accum = math.ceil(local / profile.max_local_bsz - _EPS) - 1
    if replicas == 1 and batch_size > profile.init_batch_size:
        accum = max(1, accum)
    atomic = math.ceil(local / (accum + 1) - _EPS)
    atomic = min(atomic, int(profile.max_batch_size / (replicas * (accum + 1))))
    return BatchConfig(replicas, atomic, accum)


def step_time(profile: AppProfile, placement: Placement, local_bsz: float) -> tuple[float, float]:
    """(step, sync) seconds of one step at `placement` with `local_bsz` samples per GPU.

    A placement measured in placements.csv (any rotation) is interpolated in the local batch
    size only. Otherwise (5 or more nodes) the artifact interpolates over all measured
    (nodes, replicas, local batch) points with a Delaunay triangulation; here the shape's own
    curve is used when (nodes, replicas) was measured, else the nearest measured node counts
    and replica counts are interpolated linearly ([A]: the same data, a simpler rule; see
    docs/validation-pollux.md for how often it matters).
    """
    p = canonical(placement)
    if not p:
        raise ConfigError(f"{profile.name}: an empty placement has no step time")
    curve = profile.placements.get(p)
    if curve is not None:
        return _at(curve, local_bsz, profile.name, p)
    nodes, reps = min(len(p), MAX_PROFILED_NODES), sum(p)
    curve = profile.shapes.get((nodes, reps))
    if curve is not None:
        return _at(curve, local_bsz, profile.name, p)
    return _between_shapes(profile, nodes, reps, local_bsz)


def grad_stats(profile: AppProfile, batch_size: float, epoch: int) -> tuple[float, float]:
    """(grad_sqr, grad_var) during `epoch`, linear between the validated batch sizes."""
    vals = profile.validations
    sizes = [v.batch_size for v in vals]
    if not sizes[0] <= batch_size <= sizes[-1]:
        raise ConfigError(
            f"{profile.name}: batch size {batch_size:g} outside the validated range "
            f"{sizes[0]}-{sizes[-1]}"
        )
    i = bisect_left(sizes, batch_size)
    hi = vals[i]
    if hi.batch_size == batch_size:
        return hi.grad_sqr[epoch], hi.grad_var[epoch]
    lo = vals[i - 1]
    w = (batch_size - lo.batch_size) / (hi.batch_size - lo.batch_size)
    sqr = lo.grad_sqr[epoch] + w * (hi.grad_sqr[epoch] - lo.grad_sqr[epoch])
    var = lo.grad_var[epoch] + w * (hi.grad_var[epoch] - lo.grad_var[epoch])
    return sqr, var


class ThroughputModel:
    """Goodput of one application, memoized per (placement, batch config, epoch).

    Replays ask the same few questions thousands of times; the answers never change.
    """

    __slots__ = ("_memo", "profile")

    def __init__(self, profile: AppProfile) -> None:
        self.profile = profile
        self._memo: dict[tuple[Placement, BatchConfig, int], float] = {}

    def goodput(self, placement: Placement, config: BatchConfig, epoch: int) -> float:
        """Progress per second during `epoch` (see the module docstring)."""
        key = (canonical(placement), config, epoch)
        rate = self._memo.get(key)
        if rate is None:
            prof = self.profile
            step, sync = step_time(prof, key[0], config.atomic_bsz)
            sqr, var = grad_stats(prof, config.batch_size, epoch)
            scale = config.batch_size / prof.init_batch_size
            gain = (var + sqr) / (var / scale + sqr)
            rate = gain / (step + (step - sync) * config.accum_steps)
            if not rate > 0:
                raise ConfigError(f"{prof.name}: no progress at placement {key[0]}")
            self._memo[key] = rate
        return rate


class Training:
    """One fixed-batch training job's progress: the epoch it is in and the progress so far.

    `remaining` and `advance` apply the artifact's rule that each epoch's last stretch is
    rounded to whole seconds, so an uninterrupted run ends exactly when `remaining` said.
    """

    __slots__ = ("batch_size", "epoch", "model", "progress")

    def __init__(self, model: ThroughputModel, batch_size: int) -> None:
        self.model = model
        self.batch_size = batch_size
        self.epoch = 0
        self.progress = 0.0

    @property
    def done(self) -> bool:
        return self.epoch >= self.model.profile.max_epochs

    def config(self, placement: Placement) -> BatchConfig:
        return fixed_batch(self.model.profile, self.batch_size, sum(placement))

    def remaining(self, placement: Placement) -> float:
        """Seconds of training at `placement` until the last epoch ends."""
        prof = self.model.profile
        cfg = self.config(placement)
        total = 0
        progress = self.progress
        for e in range(self.epoch, prof.max_epochs):
            end = prof.epoch_end(e)
            total += round((end - progress) / self.model.goodput(placement, cfg, e))
            progress = end
        return float(total)

    def advance(self, placement: Placement, seconds: float) -> None:
        """Train for `seconds` at `placement` (whole epochs first, then part of one)."""
        prof = self.model.profile
        cfg = self.config(placement)
        while seconds > 0 and not self.done:
            rate = self.model.goodput(placement, cfg, self.epoch)
            end = prof.epoch_end(self.epoch)
            if self.progress + rate * seconds < end:
                self.progress += rate * seconds
                return
            seconds -= round((end - self.progress) / rate)
            self.progress = end
            self.epoch += 1


def _at(curve: Curve, x: float, app: str, placement: Placement) -> tuple[float, float]:
    xs, steps, syncs = curve
    if not xs[0] - _EPS <= x <= xs[-1] + _EPS:
        raise ConfigError(
            f"{app}: local batch {x:g} at placement {placement} outside the profiled "
            f"range {xs[0]:g}-{xs[-1]:g}"
        )
    return _lerp(xs, steps, x), _lerp(xs, syncs, x)


def _lerp(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """Piecewise-linear y(x), clamped at the ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect_left(xs, x)
    if xs[i] == x:
        return ys[i]
    w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[i - 1] + w * (ys[i] - ys[i - 1])


def _between_shapes(profile: AppProfile, nodes: int, reps: int, bsz: float) -> tuple[float, float]:
    """Linear in node count between the nearest measured node counts, each linear in the
    replica count (clamped to that node count's measured replicas) and in the local batch."""
    levels = sorted({n for n, _ in profile.shapes})
    below = [n for n in levels if n <= nodes]
    above = [n for n in levels if n >= nodes]
    lo = below[-1] if below else above[0]
    hi = above[0] if above else below[-1]
    a = _at_level(profile, lo, reps, bsz)
    if hi == lo:
        return a
    b = _at_level(profile, hi, reps, bsz)
    w = (nodes - lo) / (hi - lo)
    return a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1])


def _at_level(profile: AppProfile, nodes: int, reps: int, bsz: float) -> tuple[float, float]:
    counts = sorted(r for n, r in profile.shapes if n == nodes)
    r = min(max(reps, counts[0]), counts[-1])
    i = bisect_left(counts, r)
    hi_r = counts[i]
    lo_r = counts[i - 1] if hi_r != r else r
    s_hi = _curve_at(profile.shapes[(nodes, hi_r)], bsz)
    if lo_r == hi_r:
        return s_hi
    s_lo = _curve_at(profile.shapes[(nodes, lo_r)], bsz)
    w = (r - lo_r) / (hi_r - lo_r)
    return s_lo[0] + w * (s_hi[0] - s_lo[0]), s_lo[1] + w * (s_hi[1] - s_lo[1])


def _curve_at(curve: Curve, x: float) -> tuple[float, float]:
    xs, steps, syncs = curve
    return _lerp(xs, steps, x), _lerp(xs, syncs, x)
