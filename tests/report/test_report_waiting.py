"""Reductions of the new report sections: waiting reasons, free GPUs, tree costs, charts."""

from __future__ import annotations

import numpy as np
import pytest

from gpufleet.report.charts import figure
from gpufleet.report.reduce import MAX_POINTS
from gpufleet.report.tenant_tree import krw_text, tenancy_view, tree_costs
from gpufleet.report.waiting import (
    free_gpus,
    reduce_waiting,
    sample_hours,
    waiting_charts,
    waiting_figures,
)
from gpufleet.scheduler.why import CODES


def test_sample_hours_is_the_usual_spacing() -> None:
    assert sample_hours(np.arange(0.0, 10 * 3600.0, 3600.0)) == 1.0
    assert sample_hours(np.array([0.0, 1800.0, 3600.0, 9000.0])) == 0.5
    assert sample_hours(np.array([42.0])) == 1.0  # a lone sample stands for an hour


def test_reduce_waiting_equals_loops() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(500) * 3600.0
    waiting = rng.integers(0, 50, (500, len(CODES))).astype(float)
    free = rng.integers(0, 1000, 500).astype(float)
    unusable = np.minimum(free, rng.integers(0, 300, 500))
    w = reduce_waiting(t, waiting, free, unusable)
    for k in range(len(CODES)):
        assert w.job_hours[k] == sum(waiting[i, k] * 1.0 for i in range(500))
        assert w.mean_jobs[k] == pytest.approx(sum(waiting[:, k]) / 500)
    assert w.mean_free == pytest.approx(free.mean())
    assert w.mean_unusable == pytest.approx(unusable.mean())


def test_reasons_rank_by_job_hours_then_code_order() -> None:
    waiting = np.zeros((2, len(CODES)))
    waiting[:, CODES.index("topology")] = 5
    waiting[:, CODES.index("priority")] = 5
    waiting[:, CODES.index("new")] = 9
    w = reduce_waiting(np.array([0.0, 3600.0]), waiting, np.zeros(2), np.zeros(2))
    ranked = [CODES[k] for k in w.ranked]
    assert ranked[:3] == ["new", "topology", "priority"]  # ties keep CODES order
    assert ranked[3:] == ["quota", "grant", "resources"]


def test_free_gpus_are_gpus_minus_busy_at_the_queue_samples() -> None:
    t = np.array([0.0, 3600.0, 7200.0])
    busy = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 8.0]])  # two (site, model) columns
    assert free_gpus(t, t, busy, 16.0).tolist() == [13.0, 9.0, 8.0]
    assert free_gpus(np.array([1800.0]), t, busy, 16.0).tolist() == [11.0]  # interpolated


def test_waiting_charts_are_stacked_bounded_and_keep_the_mean() -> None:
    n = 8760
    t = np.arange(n) * 3600.0
    waiting = np.ones((n, len(CODES))) * np.arange(1, len(CODES) + 1)
    free = np.full(n, 100.0)
    unusable = np.full(n, 25.0)
    w = reduce_waiting(t, waiting, free, unusable)
    reasons, totals, frag = waiting_charts(t, waiting, free, unusable, w, {"x_title": "days"})
    assert [s.name for s in reasons.series] == list(CODES)
    assert all(s.stack and len(s.x) <= MAX_POINTS for s in reasons.series)
    assert all(tr["stackgroup"] == "stack" for tr in figure(reasons)["data"])
    assert np.allclose(reasons.series[2].y, 3.0)  # resources: 3 jobs in every sample
    assert list(totals.series[0].x) == list(reversed(CODES))  # most job-hours first
    assert list(totals.series[0].y) == [n * k for k in range(len(CODES), 0, -1)]
    assert np.allclose(frag.series[0].y, 100.0) and np.allclose(frag.series[1].y, 25.0)
    keys = [f.key for f in waiting_figures(w)]
    assert keys[-1] == "queue.unusable_free_gpus.mean" and len(keys) == len(CODES) + 2


def test_tree_costs_take_their_own_group_else_sum_their_children() -> None:
    rows = [("root", 0), ("gov", 1), ("a", 2), ("b", 2), ("c", 1), ("orphan", 1), ("x", 2)]
    ledger = {
        "a": {"cost_market_krw": 10.0, "cost_charged_krw": 1.0},
        "b": {"cost_market_krw": 20.0, "cost_charged_krw": 0.0},
        "c": {"cost_market_krw": 5.0, "cost_charged_krw": 5.0},
        "zz": {"cost_market_krw": 99.0, "cost_charged_krw": 99.0},  # in no tree row
    }
    got = tree_costs(rows, ledger)
    assert got == [(35.0, 6.0), (30.0, 1.0), (10.0, 1.0), (20.0, 0.0), (5.0, 5.0), None, None]
    assert tree_costs(rows, None) == [None] * len(rows)


def test_tenancy_view_reads_the_metrics_block() -> None:
    row = {
        "group": "g", "depth": 0, "jobs": 3, "gpu_hours": 2.0, "share": 1.0,
        "entitlement": 0.5, "wait_p50_s": 1.0, "wait_p95_s": 9.0, "preempted_jobs": 1,
        "lost_gpu_hours": 0.25, "pending": 0, "rejected": 1,
    }  # fmt: skip
    grant = {
        "tenant": "t", "grant": "award", "flavor": "any", "award_gpu_hours": 10.0,
        "used_gpu_hours": 2.5, "used_fraction": 0.25,
    }  # fmt: skip
    block = {"groups": [row], "grants": [grant], "preempted_runs": 2, "lost_gpu_hours": 0.25}
    v = tenancy_view(block, {"g": {"cost_market_krw": 7.0, "cost_charged_krw": 0.0}})
    assert v.rows[0].entitlement == 0.5 and v.rows[0].cost == (7.0, 0.0)
    assert v.grants[0].used_fraction == 0.25 and v.preempted_runs == 2


def test_krw_text() -> None:
    assert krw_text(269_381.4) == "269,381 KRW"
    assert krw_text(4.9e6) == "4.9 M KRW" and krw_text(2.345e9) == "2.35 B KRW"
