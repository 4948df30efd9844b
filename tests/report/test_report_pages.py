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

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from browser import chromium
from gpufleet.report.build import write_comparison, write_report
from gpufleet.report.compare import build_comparison
from gpufleet.report.energy import Energy
from gpufleet.report.figures import FIGURES, figure_text, figure_value
from gpufleet.report.run_report import build_run_report
from gpufleet.report.rundir import read_run_dir
from gpufleet.scheduler.why import CODES

BASE_FIGURES = {k for k, _ in FIGURES}


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


def _path(data: Any, parts: list[str]) -> float:
    """The value at a metrics.json path whose list items are named by their index."""
    for part in parts:
        data = data[int(part)] if isinstance(data, list) else data[part]
    return float(data)


def _tree_cost(metrics: dict[str, Any], ledger: dict[str, float], i: int) -> float:
    """A tree group's cost from the ledger's per-group sums: its own group's, else the sum over
    the nearest rows below it that name a ledger group."""
    rows = metrics["tenancy"]["groups"]
    name, depth = rows[i]["group"], rows[i]["depth"]
    if name in ledger:
        return ledger[name]
    total, skip_below = 0.0, None
    for row in rows[i + 1 :]:
        if row["depth"] <= depth:
            break
        if skip_below is not None and row["depth"] > skip_below:
            continue
        skip_below = row["depth"] if row["group"] in ledger else None
        total += ledger.get(row["group"], 0.0)
    return total


def expected(run_dir: Path, metrics: dict[str, Any], energy: Energy, key: str) -> float:
    """What a `data-metric` key should hold, read from the run's files, not from the report."""
    head, _, rest = key.partition(".")
    if key in BASE_FIGURES or head == "energy":
        return figure_value(metrics, energy, key)
    if head in ("groups", "tenancy"):
        group_key = rest.rsplit(".", 1) if head == "groups" else None
        if group_key:
            return float(metrics["groups"][group_key[0]][group_key[1]])
        return _path(metrics["tenancy"], rest.split("."))
    if head == "queue":
        q = pq.read_table(run_dir / "queue.parquet").to_pydict()
        if rest.startswith("waiting_job_hours."):
            hours = float(np.median(np.diff(q["time"]))) / 3600
            return float(sum(q[f"waiting_{rest.split('.')[1]}"])) * hours
        if rest == "unusable_free_gpus.mean":
            return float(np.mean(q["unusable_free_gpus"]))
        u = pq.read_table(run_dir / "utilization.parquet").to_pydict()
        free = np.zeros(len(q["time"]))
        at = {t: i for i, t in enumerate(q["time"])}
        for t, busy, total in zip(u["time"], u["busy_gpus"], u["total_gpus"], strict=True):
            free[at[t]] += total - busy
        return float(free.mean())
    assert head == "ledger", key
    table = pq.read_table(run_dir / "ledger.parquet")
    parts = rest.split(".")
    if parts[0] == "groups":
        group, column = ".".join(parts[1:-1]), parts[-1]
        return float(pc.sum(table.filter(pc.equal(table["group"], group))[column]).as_py())
    if parts[0] == "tree":
        column = parts[2]
        sums = table.group_by("group").aggregate([(column, "sum")]).to_pydict()
        ledger = dict(zip(sums["group"], sums[f"{column}_sum"], strict=True))
        return _tree_cost(metrics, ledger, int(parts[1]))
    return float(pc.sum(table[parts[0]]).as_py())


def check_numbers(opened: Opened, run_dir: Path, n_figures: int) -> list[dict[str, Any]]:
    """Every number on a run's page equals the value its key names in the run's files."""
    run = read_run_dir(run_dir)
    report = build_run_report(run)
    numbers = opened.numbers("[data-metric]")
    keys = {n["key"] for n in numbers}
    assert {f.key for f in report.figures} <= keys and len(report.figures) == n_figures
    assert {f"groups.{g}.gpu_hours" for g in run.metrics["groups"]} <= keys
    for n in numbers:
        value = float(n["value"])
        assert n["visible"], n
        want = expected(run_dir, run.metrics, report.energy, n["key"])
        assert value == pytest.approx(want, rel=1e-9, abs=1e-9), n
        if n["key"] in BASE_FIGURES:
            assert n["text"] == figure_text(n["key"], value)
    return numbers


def chart_data(opened: Opened, chart_id: str) -> list[dict[str, Any]]:
    """The traces plotly.js drew in a chart (names and values)."""
    return list(
        opened.page.evaluate(
            "id => document.getElementById('chart-' + id).data.map("
            "t => ({name: t.name, x: t.x, y: t.y, stack: t.stackgroup || null}))",
            chart_id,
        )
    )


def test_report_page(browser: Any, small_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(small_run, out)
    run = read_run_dir(small_run)
    report = build_run_report(run)
    opened = Opened(browser, out)
    opened.check_clean({c.id for c in report.charts})
    assert {"waiting-reasons", "waiting-totals", "fragmentation"} <= {c.id for c in report.charts}
    check_numbers(opened, small_run, len(FIGURES) + len(CODES) + 2)
    reasons = chart_data(opened, "waiting-reasons")
    assert [t["name"] for t in reasons] == list(CODES) and all(t["stack"] for t in reasons)
    totals = chart_data(opened, "waiting-totals")[0]
    assert report.waiting is not None
    for code, y in zip(totals["x"], totals["y"], strict=True):
        want = expected(small_run, run.metrics, report.energy, f"queue.waiting_job_hours.{code}")
        assert y == pytest.approx(want, rel=1e-5)
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
            "compare-waiting-totals",
            "compare-unusable",
        }
    )
    values: dict[tuple[str, int], float] = {}
    for n in opened.numbers("[data-metric]"):
        i = int(n["run"])
        value = float(n["value"])
        want = expected(runs[i].path, runs[i].metrics, reports[i].energy, n["key"])
        assert value == pytest.approx(want, rel=1e-9, abs=1e-9), n
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


def test_tree_report_page(browser: Any, tree_run: Path, tmp_path: Path) -> None:
    """A run with a tenant tree and a ledger: the tree table, grants, costs and the energy
    views, every number equal to metrics.json or the Parquet files."""
    out = tmp_path / "report.html"
    write_report(tree_run, out)
    run = read_run_dir(tree_run)
    report = build_run_report(run)
    opened = Opened(browser, out)
    opened.check_clean({c.id for c in report.charts})
    numbers = check_numbers(opened, tree_run, len(FIGURES) + len(CODES) + 4)
    keys = {n["key"] for n in numbers}
    block = run.metrics["tenancy"]
    for i in range(len(block["groups"])):
        assert {f"tenancy.groups.{i}.share", f"tenancy.groups.{i}.entitlement"} <= keys
        assert f"ledger.tree.{i}.cost_charged_krw" in keys
    assert {"tenancy.grants.0.award_gpu_hours", "tenancy.grants.0.used_gpu_hours"} <= keys
    assert {"ledger.energy_kwh", "ledger.cost_market_krw", "ledger.cost_charged_krw"} <= keys
    depths = opened.page.eval_on_selector_all(
        "#tenancy-table tr[data-depth]",
        "rows => rows.map(r => [r.dataset.depth, getComputedStyle(r.cells[0]).paddingLeft])",
    )
    assert [int(d) for d, _ in depths] == [g["depth"] for g in block["groups"]]
    pads = [float(p.removesuffix("px")) for _, p in depths]
    assert pads[2] > pads[1] > pads[0]  # deeper groups are indented further
    share = chart_data(opened, "tenancy-share")
    assert share[0]["y"] == pytest.approx([g["share"] for g in block["groups"]], rel=1e-5)
    assert opened.page.locator("[data-omitted]").count() == 0
    opened.page.close()


def test_old_run_page(browser: Any, old_run: Path, tmp_path: Path) -> None:
    """A run written before waiting reasons, tenancy and the ledger: a clean page that says
    what it leaves out, where it would be."""
    out = tmp_path / "report.html"
    write_report(old_run, out)
    report = build_run_report(read_run_dir(old_run))
    opened = Opened(browser, out)
    opened.check_clean({c.id for c in report.charts})
    check_numbers(opened, old_run, len(FIGURES))
    notes = opened.page.eval_on_selector_all(
        "[data-omitted]", "els => els.map(e => [e.closest('section').id, e.offsetParent !== null])"
    )
    assert notes == [["queue", True], ["shares", True], ["tenancy", True]]
    opened.page.close()


def test_tree_comparison_page(
    browser: Any, tree_run: Path, tree_run_sjf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare.html"
    write_comparison([tree_run, tree_run_sjf], out)
    runs = [read_run_dir(p) for p in (tree_run, tree_run_sjf)]
    reports = [build_run_report(r) for r in runs]
    opened = Opened(browser, out)
    ids = {c.id for c in build_comparison(reports).charts}
    opened.check_clean(ids)
    assert "compare-tenancy-share" in ids
    figures = {f.key for f in reports[0].figures}
    shares: dict[tuple[str, int], float] = {}
    for n in opened.numbers("[data-metric]"):
        i = int(n["run"])
        want = expected(runs[i].path, runs[i].metrics, reports[i].energy, n["key"])
        assert float(n["value"]) == pytest.approx(want, rel=1e-9, abs=1e-9), n
        if n["key"].endswith(".share"):
            row = runs[i].metrics["tenancy"]["groups"][int(n["key"].split(".")[2])]
            shares[row["group"], i] = float(n["value"])
    assert {"tenancy.preempted_runs", "queue.unusable_free_gpus.mean"} <= figures
    diffs = opened.numbers("[data-diff^='tenancy.share.']")
    assert len(diffs) == len(runs[0].metrics["tenancy"]["groups"])
    for d in diffs:
        group = d["key"].removeprefix("tenancy.share.")
        assert float(d["value"]) == shares[group, 1] - shares[group, 0]
    figure_diffs = {d["key"]: float(d["value"]) for d in opened.numbers("td[data-diff]")}
    a, b = (r.metrics["tenancy"]["preempted_runs"] for r in runs)
    assert figure_diffs["tenancy.preempted_runs"] == b - a
    opened.page.close()
