"""Numeric reductions that keep a report small: downsampled series, CDF points, size classes.

Pure numpy functions of arrays; no files, no fleet. A report embeds only their outputs, never
per-job rows, so its size does not grow with the number of jobs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_POINTS = 1000  # points per time series in a report
CDF_POINTS = 500  # points per CDF

# Job size classes by GPU count: (label, smallest, largest).
SIZE_CLASSES: tuple[tuple[str, int, float], ...] = (
    ("1 GPU", 1, 1),
    ("2-8 GPUs", 2, 8),
    ("9-64 GPUs", 9, 64),
    ("65-512 GPUs", 65, 512),
    (">512 GPUs", 513, float("inf")),
)


def size_class(gpus: np.ndarray) -> np.ndarray:
    """Index into SIZE_CLASSES of each GPU count (counts below 1 land in the first class)."""
    uppers = np.array([hi for _, _, hi in SIZE_CLASSES[:-1]])
    return np.searchsorted(uppers, np.asarray(gpus), side="left").astype(np.int64)


def downsample(
    t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS, how: str = "mean"
) -> tuple[np.ndarray, np.ndarray]:
    """Cut samples into at most `max_points` runs of equal count; one point per run.

    `t` has shape (n,), `y` shape (n,) or (n, k). A run's time is its first sample's; its
    value is the mean (keeps areas: GPU-hours, energy) or the max (keeps peaks: power against
    a budget) of its samples. Short inputs come back unchanged.
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = t.size
    if n <= max_points:
        return t, y
    size = -(-n // max_points)
    starts = np.arange(0, n, size)
    if how == "mean":
        counts = np.diff(np.append(starts, n)).astype(np.float64)
        sums = np.add.reduceat(y, starts, axis=0)
        values = sums / (counts if y.ndim == 1 else counts[:, None])
    elif how == "max":
        values = np.maximum.reduceat(y, starts, axis=0)
    else:
        raise ValueError(f"unknown downsample method {how!r}; expected 'mean' or 'max'")
    return t[starts], values


def cdf_points(values: np.ndarray, max_points: int = CDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF as (x, F(x)) steps from at most `max_points` quantiles.

    Exact when there are few values; otherwise x are the values at evenly spaced probabilities
    (inverted-CDF quantiles, so every x is an observed value). Repeated x keep their highest
    probability, so a mass of zero waits is one point.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return np.zeros(0), np.zeros(0)
    if v.size <= max_points:
        x = np.sort(v)
        p = np.arange(1, v.size + 1, dtype=np.float64) / v.size
    else:
        p = np.linspace(0.0, 1.0, max_points)
        x = np.quantile(v, p, method="inverted_cdf")
        # F(x) at an observed x is the share of values <= x, at least p.
        p = np.searchsorted(np.sort(v), x, side="right") / v.size
    last = np.append(x[1:] != x[:-1], True)
    return x[last], p[last]


def busy_seconds(start: np.ndarray, end: np.ndarray, gpus: np.ndarray, until: float) -> np.ndarray:
    """GPU-seconds each job was busy inside [0, until]; jobs that never started give 0."""
    s = np.where(np.isnan(start), 0.0, start)
    e = np.where(np.isnan(end) | np.isnan(start), s, end)
    return np.asarray(np.clip(np.minimum(e, until) - np.minimum(s, until), 0.0, None) * gpus)


def cumulative_gpu_hours(
    start: np.ndarray, end: np.ndarray, gpus: np.ndarray, at: np.ndarray
) -> np.ndarray:
    """GPU-hours delivered by the jobs in [0, t] for each t in `at`, without per-job loops.

    Busy GPU-seconds up to t are sum_j g_j * (min(t, e_j) - min(t, s_j)); over jobs started by
    t the start part is t * G - sum g s (G = GPUs of those jobs), the end part likewise, so
    sorted starts and ends with prefix sums answer every t in O(log n).
    """
    ok = ~np.isnan(start) & ~np.isnan(end)
    s, e, g = start[ok], end[ok], gpus[ok].astype(np.float64)
    at = np.asarray(at, dtype=np.float64)

    def up_to(times: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        order = np.argsort(times, kind="stable")
        ts = times[order]
        cg = np.concatenate(([0.0], np.cumsum(g[order])))
        cgt = np.concatenate(([0.0], np.cumsum(g[order] * ts)))

        def f(t: np.ndarray) -> np.ndarray:
            k = np.searchsorted(ts, t, side="right")
            return np.asarray(t * cg[k] - cgt[k])

        return f

    return np.asarray((up_to(s)(at) - up_to(e)(at)) / 3600.0)
