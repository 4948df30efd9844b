"""Why jobs wait, fragmentation, the tenant tree and the ledger in reports: equal to the run's
files, and left out with a note for runs written before them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from gpufleet.report.build import write_comparison, write_report
from gpufleet.report.compare import build_comparison
from gpufleet.report.figures import FIGURES
from gpufleet.report.run_report import NO_LEDGER, NO_TENANCY, NO_WAITING, build_run_report
from gpufleet.report.rundir import LEDGER_SUMS, read_run_dir
from gpufleet.scheduler.why import CODES

NEW_CHARTS = {"waiting-reasons", "waiting-totals", "fragmentation"}


def test_old_run_still_reports_and_says_what_it_lacks(old_run: Path, tmp_path: Path) -> None:
    run = read_run_dir(old_run)
    assert run.waiting is None and run.unusable is None and run.ledger is None
    r = build_run_report(run)
    assert r.waiting is None and r.tenancy is None and r.ledger is None
    assert [f.key for f in r.figures] == [k for k, _ in FIGURES]
    assert not NEW_CHARTS & {c.id for c in r.charts}
    assert r.omitted == (NO_WAITING, NO_TENANCY, NO_LEDGER)
    page = write_report(old_run, tmp_path / "r.html")[0].read_text(encoding="utf-8")
    for sid, _ in r.omitted:
        assert f'data-omitted="{sid}"' in page
    assert "<table id='waiting-table'>" not in page and "<table id='tenancy-table'>" not in page


def test_waiting_totals_are_the_queue_file(small_run: Path) -> None:
    r = build_run_report(read_run_dir(small_run))
    assert r.waiting is not None and r.omitted == (NO_TENANCY,)
    q = pq.read_table(small_run / "queue.parquet").to_pydict()
    hours = float(np.median(np.diff(q["time"]))) / 3600
    for k, code in enumerate(CODES):
        assert r.waiting.job_hours[k] == pytest.approx(sum(q[f"waiting_{code}"]) * hours)
    assert r.waiting.mean_unusable == pytest.approx(np.mean(q["unusable_free_gpus"]))
    u = pq.read_table(small_run / "utilization.parquet").to_pydict()
    free: dict[float, float] = {}
    for t, busy, total in zip(u["time"], u["busy_gpus"], u["total_gpus"], strict=True):
        free[t] = free.get(t, 0.0) + total - busy
    assert r.waiting.mean_free == pytest.approx(np.mean([free[t] for t in q["time"]]))
    assert np.all(np.asarray(q["unusable_free_gpus"]) <= [free[t] for t in q["time"]])


def test_ledger_sums_are_the_ledger_file(tree_run: Path) -> None:
    run = read_run_dir(tree_run)
    table = pq.read_table(tree_run / "ledger.parquet")
    assert run.ledger is not None and set(run.ledger) == set(table["group"].to_pylist())
    for g, sums in run.ledger.items():
        rows = table.filter(pc.equal(table["group"], g))
        for col in LEDGER_SUMS:
            assert sums[col] == pytest.approx(pc.sum(rows[col]).as_py())
    r = build_run_report(run)
    assert r.ledger_total("gpu_seconds") == pytest.approx(pc.sum(table["gpu_seconds"]).as_py())
    for g in r.groups:
        assert g.cost == (
            run.ledger[g.group]["cost_market_krw"],
            run.ledger[g.group]["cost_charged_krw"],
        )


def test_tree_rows_are_the_metrics_with_rolled_up_costs(tree_run: Path) -> None:
    r = build_run_report(read_run_dir(tree_run))
    block = r.metrics["tenancy"]
    assert r.tenancy is not None and r.omitted == ()
    assert block["preempted_runs"] > 0  # the tree makes reclaim happen
    assert [(t.group, t.depth) for t in r.tenancy.rows] == [
        ("fleet", 0),
        ("government", 1),
        ("national-ai-projects", 2),
        ("industry-sme-startups", 2),
        ("academia-research", 2),
        ("general", 1),
    ]
    for t, m in zip(r.tenancy.rows, block["groups"], strict=True):
        assert (t.share, t.entitlement, t.preempted_jobs) == (
            m["share"],
            m["entitlement"],
            m["preempted_jobs"],
        )
    cost = {t.group: t.cost for t in r.tenancy.rows}
    led = r.ledger or {}
    gov = ("national-ai-projects", "industry-sme-startups", "academia-research")
    assert cost["government"] == pytest.approx(
        (sum(led[g]["cost_market_krw"] for g in gov), sum(led[g]["cost_charged_krw"] for g in gov))
    )
    assert cost["fleet"] == pytest.approx(
        (r.ledger_total("cost_market_krw"), r.ledger_total("cost_charged_krw"))
    )
    figures = {f.key: f.value for f in r.figures}
    assert figures["tenancy.preempted_runs"] == block["preempted_runs"]
    share = next(c for c in r.charts if c.id == "tenancy-share")
    assert list(share.series[1].y) == [m["entitlement"] for m in block["groups"]]


def test_comparison_with_an_old_run_keeps_what_all_runs_have(
    tree_run: Path, tree_run_sjf: Path, old_run: Path, tmp_path: Path
) -> None:
    reports = [build_run_report(read_run_dir(p)) for p in (tree_run, tree_run_sjf, old_run)]
    c = build_comparison(reports)
    assert [f.key for f in c.figures] == [k for k, _ in FIGURES]
    assert [t.group for t in c.tree][:2] == ["fleet", "government"]
    assert np.isnan(c.tree[0].share[2])  # the old run had no tree
    both = build_comparison(reports[:2])
    keys = [f.key for f in both.figures]
    assert "queue.unusable_free_gpus.mean" in keys and "tenancy.preempted_runs" in keys
    ids = {ch.id for ch in both.charts}
    assert {"compare-waiting-totals", "compare-unusable", "compare-tenancy-share"} <= ids
    page = write_comparison([tree_run, old_run], tmp_path / "c.html")[0].read_text("utf-8")
    assert page.count('data-omitted="queue"') == 1 and 'data-omitted="tenancy"' in page
