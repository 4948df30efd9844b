"""The report and comparison pages in a real headless Chromium (Debian's `chromium` package).

Opened as a person would, from the file, with no network: no console errors, no request but
the file itself, every chart drawn by plotly.js, and the numbers on the page equal to the run's
metrics.json. Without Chromium or Playwright the tests skip, except under CI=true, where they
fail: CI must install `chromium` (apt) and the `test` extra (pip).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import chromium
from gpufleet.report.build import write_comparison, write_report
from gpufleet.report.figures import figure_text, figure_value
from gpufleet.report.run_report import build_run_report
from gpufleet.report.rundir import read_run_dir


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Opened:
    """A page loaded from a file, with what went wrong and what it asked the network for."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-charts-rendered]", timeout=60_000)

    def charts(self) -> list[dict[str, Any]]:
        return list(
            self.page.eval_on_selector_all(
                "[data-chart]",
                """els => els.map(e => ({id: e.dataset.chart, rendered: e.dataset.rendered,
                    svgs: e.querySelectorAll('.main-svg').length,
                    traces: e.querySelectorAll('.trace').length,
                    width: e.getBoundingClientRect().width}))""",
            )
        )

    def numbers(self, selector: str) -> list[dict[str, Any]]:
        return list(
            self.page.eval_on_selector_all(
                selector,
                """els => els.map(e => ({key: e.dataset.metric || e.dataset.diff,
                    run: e.dataset.run, value: e.dataset.value, text: e.textContent,
                    visible: e.offsetParent !== null}))""",
            )
        )

    def check_clean(self, chart_ids: set[str]) -> None:
        assert self.problems == []
        assert self.requests == [self.url]  # offline: nothing fetched but the file
        charts = self.charts()
        assert {c["id"] for c in charts} == chart_ids
        for c in charts:
            assert c["rendered"] == "true" and c["svgs"] >= 1, c
            assert c["traces"] >= 1 and c["width"] > 300, c


def test_report_page(browser: Any, small_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(small_run, out)
    run = read_run_dir(small_run)
    report = build_run_report(run)
    opened = Opened(browser, out)
    opened.check_clean({c.id for c in report.charts})
    numbers = opened.numbers("[data-metric]")
    keys = {n["key"] for n in numbers}
    assert {f.key for f in report.figures} <= keys
    assert {f"groups.{g}.gpu_hours" for g in run.metrics["groups"]} <= keys
    for n in numbers:
        value = float(n["value"])
        assert n["visible"], n
        if n["key"].startswith("groups."):
            _, group, field = n["key"].split(".")
            assert value == run.metrics["groups"][group][field]
            continue
        assert value == figure_value(run.metrics, report.energy, n["key"])
        assert n["text"] == figure_text(n["key"], value)
    info = dict(
        opened.page.eval_on_selector_all(
            "[data-info]", "els => els.map(e => [e.dataset.info, e.textContent])"
        )
    )
    assert info["scenario"] == "small-mixed" and info["policy"] == "fifo+easy"
    assert info["seed"] == "0" and info["workload"] == "synthetic"
    opened.page.close()


def test_comparison_page(
    browser: Any, small_run: Path, small_run_sjf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare.html"
    write_comparison([small_run, small_run_sjf], out)
    runs = [read_run_dir(p) for p in (small_run, small_run_sjf)]
    reports = [build_run_report(r) for r in runs]
    opened = Opened(browser, out)
    opened.check_clean(
        {
            "compare-utilization",
            "compare-queue",
            "compare-wait",
            "compare-jct",
            "compare-wait-p95-group",
            "compare-gpu-hours",
            "compare-power",
            "compare-energy",
        }
    )
    values: dict[tuple[str, int], float] = {}
    for n in opened.numbers("[data-metric]"):
        i = int(n["run"])
        value = float(n["value"])
        assert value == figure_value(runs[i].metrics, reports[i].energy, n["key"])
        values[n["key"], i] = value
    assert len(values) == 2 * len(reports[0].figures)
    diffs = opened.numbers("[data-diff]")
    assert len(diffs) == len(reports[0].figures)
    for d in diffs:
        assert float(d["value"]) == values[d["key"], 1] - values[d["key"], 0]
    policy = opened.page.eval_on_selector_all(
        "[data-info='policy']", "els => els.map(e => e.textContent)"
    )
    assert policy == ["fifo+easy", "sjf+easy"]
    opened.page.close()
