"""The run report and the comparison: what they hold, how big they get, what they refuse."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from gpufleet.errors import ConfigError
from gpufleet.report.build import write_comparison, write_report
from gpufleet.report.charts import Series
from gpufleet.report.compare import build_comparison
from gpufleet.report.figures import FIGURES, figure_value
from gpufleet.report.html import plotly_js
from gpufleet.report.reduce import CDF_POINTS, MAX_POINTS, busy_seconds
from gpufleet.report.run_report import build_run_report, cdf_chart, time_axis
from gpufleet.report.rundir import read_run_dir


def test_run_json_says_how_the_run_was_made(tiny_run: Path) -> None:
    info = json.loads((tiny_run / "run.json").read_text())
    assert info["policy"] == "fifo" and info["seed"] == 0 and info["workload"] == "hand-made"
    assert info["days"] == pytest.approx(7200 / 86400)
    assert Path(info["scenario"]).is_absolute() and info["version"]


def test_key_figures_are_the_metrics(small_run: Path) -> None:
    run = read_run_dir(small_run)
    r = build_run_report(run)
    keys = [f.key for f in r.figures]
    assert keys[: len(FIGURES)] == [k for k, _ in FIGURES]
    assert all(k.startswith("queue.") for k in keys[len(FIGURES) :])  # no tree: no tenancy.*
    for f in r.figures[: len(FIGURES)]:
        if not f.key.startswith("energy."):
            assert f.value == figure_value(run.metrics, r.energy, f.key)
    assert sum(g.gpu_hours for g in r.groups) == pytest.approx(run.metrics["gpu_hours"])


def test_cumulative_gpu_hours_end_at_the_metrics(small_run: Path) -> None:
    r = build_run_report(read_run_dir(small_run))
    chart = next(c for c in r.charts if c.id == "gpu-hours-time")
    for s in chart.series:
        assert s.y[-1] == pytest.approx(r.metrics["groups"][s.name]["gpu_hours"])


def test_energy_counts_the_busy_gpu_seconds_that_make_the_utilization(small_run: Path) -> None:
    run = read_run_dir(small_run)
    window = run.metrics["window_days"] * 86400
    busy = busy_seconds(run.start, run.end, run.gpus, window)
    assert run.key_gpus.sum() == run.metrics["fleet_gpus"]
    assert busy.sum() / (run.key_gpus.sum() * window) == pytest.approx(run.metrics["utilization"])
    assert (run.place[busy > 0] >= 0).all()  # every busy job has a (site, model) to bill
    assert build_run_report(run).energy.hours == pytest.approx(window / 3600)


def test_series_are_bounded_whatever_the_job_count(small_run: Path) -> None:
    r = build_run_report(read_run_dir(small_run))
    for chart in r.charts:
        for s in chart.series:
            limit = CDF_POINTS + 1 if chart.x_duration else MAX_POINTS
            assert len(s.x) == len(s.y) <= limit, (chart.id, s.name)


def test_size_class_cdfs_cover_the_jobs_that_ran(small_run: Path) -> None:
    run = read_run_dir(small_run)
    r = build_run_report(run)
    waits = next(c for c in r.charts if c.id == "wait-size")
    assert all(s.y[-1] == 1.0 and s.y[0] == 0.0 for s in waits.series)
    assert {s.name for s in waits.series} <= {"1 GPU", "2-8 GPUs", "9-64 GPUs", "65-512 GPUs"}


def test_html_page_is_self_contained(small_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    write_report(small_run, out)
    page = out.read_text(encoding="utf-8")
    assert page.count("<script") == 3  # plotly.js, chart data, boot
    assert plotly_js() in page
    ours = page.replace(plotly_js(), "")  # plotly.js itself names its home page in strings
    assert not re.search(r"https?:", ours)
    data = page.split('id="gpufleet-charts">')[1].split("</script>")[0]
    charts = json.loads(data.replace("<\\/", "</"))
    assert set(charts) == {c.id for c in build_run_report(read_run_dir(small_run)).charts}
    assert len(page) - len(plotly_js()) < 1_000_000


def test_comparison_differences(small_run: Path, small_run_sjf: Path) -> None:
    a, b = (build_run_report(read_run_dir(p)) for p in (small_run, small_run_sjf))
    c = build_comparison([a, b])
    assert c.labels == ("A: fifo", "B: sjf")
    row = next(f for f in c.figures if f.key == "wait_s.p95")
    assert row.values == (a.metrics["wait_s"]["p95"], b.metrics["wait_s"]["p95"])
    assert row.diff(1) == row.values[1] - row.values[0]
    policy = dict(c.info)["policy"]
    assert policy == ("fifo+easy", "sjf+easy")


def test_comparison_needs_two_runs(small_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least two"):
        write_comparison([small_run], tmp_path / "c.html")


def test_png_per_chart(small_run: Path, small_run_sjf: Path, tmp_path: Path) -> None:
    paths = write_comparison([small_run, small_run_sjf], tmp_path / "c.html", tmp_path / "png")
    pngs = [p for p in paths if p.suffix == ".png"]
    assert len(pngs) == 10  # 8, and job-hours by reason and unusable GPUs of both runs
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "metrics.json").unlink(), "metrics.json: missing"),
        (lambda d: (d / "metrics.json").write_text("{"), "metrics.json: cannot read JSON"),
        (lambda d: (d / "jobs.parquet").write_bytes(b"nope"), "jobs.parquet: cannot read"),
        (lambda d: (d / "queue.parquet").unlink(), "queue.parquet: missing"),
        (
            lambda d: (d / "run.json").write_text('{"scenario": "nowhere.yaml"}'),
            "cannot load the run's scenario",
        ),
    ],
)
def test_damaged_run_dir(small_run: Path, tmp_path: Path, damage: object, message: str) -> None:
    d = tmp_path / "run"
    shutil.copytree(small_run, d)
    damage(d)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_run_dir(d)


def test_run_without_run_json_uses_the_scenario_in_metrics(small_run: Path, tmp_path: Path) -> None:
    d = tmp_path / "old-run"
    shutil.copytree(small_run, d)
    (d / "run.json").unlink()
    run = read_run_dir(d)
    assert run.info.scenario == "small-mixed" and run.info.workload == "unknown"


def test_fleet_that_changed_since_the_run(tiny_run: Path) -> None:
    info = json.loads((tiny_run / "run.json").read_text())
    Path(info["scenario"]).write_text(
        Path(info["scenario"]).read_text().replace("gpus: 8", "gpus: 16")
    )
    with pytest.raises(ConfigError, match="the report needs the fleet the run used"):
        read_run_dir(tiny_run)


def test_series_values_are_finite(small_run: Path) -> None:
    r = build_run_report(read_run_dir(small_run))
    for chart in r.charts:
        for s in chart.series:
            assert np.isfinite(np.asarray(s.y, dtype=float)).all(), chart.id


def test_time_charts_open_on_the_arrivals_when_the_drain_is_long() -> None:
    long = time_axis(3.0, 55.8, "hourly")
    assert long["x_range"] == (0.0, 6.0) and long["x_mark"] == 3.0
    assert long["note"].startswith("hourly ") and "day 55.8" in long["note"]
    short = time_axis(30.0, 41.0)
    assert "x_range" not in short and short["note"] == ""


def test_cdf_axis_starts_high_only_when_every_curve_does() -> None:
    high = (Series("a", [1, 1, 9], [0, 0.974, 1], kind="step"),)
    assert cdf_chart("w", "Wait", "Wait", high).y_from == 0.95
    low = (*high, Series("b", [1, 1, 9], [0, 0.3, 1], kind="step"))
    assert cdf_chart("w", "Wait", "Wait", low).y_from is None
