"""Reductions that keep reports small: size classes, downsampling, CDF points, GPU-hours."""

from __future__ import annotations

import numpy as np
import pytest

from gpufleet.report.reduce import (
    SIZE_CLASSES,
    busy_seconds,
    cdf_points,
    cumulative_gpu_hours,
    downsample,
    size_class,
)


def test_size_classes_at_their_edges() -> None:
    gpus = np.array([1, 2, 8, 9, 64, 65, 512, 513, 100_000])
    assert size_class(gpus).tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert [label for label, _, _ in SIZE_CLASSES] == [
        "1 GPU",
        "2-8 GPUs",
        "9-64 GPUs",
        "65-512 GPUs",
        ">512 GPUs",
    ]


def test_downsample_keeps_short_series() -> None:
    t = np.arange(5.0)
    tt, yy = downsample(t, t * 2, max_points=5)
    assert tt.tolist() == t.tolist() and yy.tolist() == (t * 2).tolist()


def test_downsample_means_and_maxes_runs_of_equal_count() -> None:
    t = np.arange(10.0)
    y = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=float)
    tt, mean = downsample(t, y, max_points=3)  # runs of 4: [0..3], [4..7], [8, 9]
    assert tt.tolist() == [0.0, 4.0, 8.0]
    assert mean.tolist() == [1.5, 5.5, 8.5]
    _, peak = downsample(t, y, max_points=3, how="max")
    assert peak.tolist() == [3.0, 7.0, 9.0]
    _, cols = downsample(t, np.column_stack([y, -y]), max_points=3)
    assert cols.shape == (3, 2) and cols[:, 1].tolist() == [-1.5, -5.5, -8.5]
    with pytest.raises(ValueError, match="mean"):
        downsample(t, y, max_points=3, how="median")


def test_downsample_keeps_the_area_of_an_hourly_year() -> None:
    t = np.arange(8760.0) * 3600
    y = np.random.default_rng(0).random(8760)
    tt, yy = downsample(t, y)
    assert len(tt) <= 1000
    # Equal runs except the last: the mean of means weighted by run length is the mean.
    size = -(-8760 // 1000)
    weights = np.diff(np.append(np.arange(0, 8760, size), 8760))
    assert np.average(yy, weights=weights) == pytest.approx(y.mean())


def test_cdf_points_exact_for_few_values() -> None:
    x, p = cdf_points(np.array([3.0, 1.0, 2.0, 2.0, np.nan]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert p.tolist() == [0.25, 0.75, 1.0]


def test_cdf_points_of_many_values_are_few_and_exact_where_drawn() -> None:
    rng = np.random.default_rng(1)
    v = np.concatenate([np.zeros(60_000), rng.lognormal(5, 2, 40_000)])
    x, p = cdf_points(v, max_points=500)
    assert len(x) <= 500
    assert x[0] == 0.0 and p[0] == pytest.approx(0.6)  # the zero waits are one point
    assert p[-1] == 1.0 and x[-1] == v.max()
    assert np.all(np.diff(x) > 0) and np.all(np.diff(p) > 0)
    sv = np.sort(v)
    assert np.allclose(p, np.searchsorted(sv, x, side="right") / v.size)  # p = F(x)


def test_cdf_points_of_nothing() -> None:
    x, p = cdf_points(np.array([]))
    assert x.size == 0 and p.size == 0


def test_busy_seconds_clips_to_the_window_and_skips_jobs_that_never_ran() -> None:
    start = np.array([0.0, 50.0, 150.0, np.nan])
    end = np.array([60.0, 200.0, 300.0, np.nan])
    gpus = np.array([2.0, 1.0, 4.0, 8.0])
    assert busy_seconds(start, end, gpus, until=100.0).tolist() == [120.0, 50.0, 0.0, 0.0]


def test_cumulative_gpu_hours_equals_a_loop_over_jobs() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    start = rng.uniform(0, 100_000, n)
    end = start + rng.exponential(20_000, n)
    start[:10] = np.nan  # never started
    gpus = rng.integers(1, 64, n).astype(float)
    at = np.linspace(0, 200_000, 37)
    got = cumulative_gpu_hours(start, end, gpus, at)
    ok = ~np.isnan(start)
    want = [
        float(np.sum(gpus[ok] * np.clip(np.minimum(end[ok], t) - start[ok], 0, None))) / 3600
        for t in at
    ]
    assert np.allclose(got, want)
