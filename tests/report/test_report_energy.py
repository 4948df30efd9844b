"""Power, energy, cost and CO2, checked by hand; the constants keep their sources."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from gpufleet.report import energy as en
from gpufleet.report.run_report import build_run_report
from gpufleet.report.rundir import read_run_dir

B200 = en.PowerKey("s1", "B200", gpus=8, tdp_w=1000.0, pue=1.5)


def test_constants_cite_their_sources() -> None:
    assert en.KRW_PER_KWH == 182.7
    assert en.TCO2E_PER_MWH == 0.4173
    source = inspect.getsource(en)
    assert "[S105]" in source and "[S109]" in source and "IDLE_SHARE = " in source
    sources = Path(__file__).parents[2] / "docs" / "sources.md"
    text = sources.read_text(encoding="utf-8")
    assert "| S105 |" in text and "| S109 |" in text


def test_power_of_busy_and_idle_gpus() -> None:
    # 4 busy x 1,000 W + 4 idle x 1,000 W x 0.2, all x PUE 1.5 = 7,200 W.
    mw = en.power_mw(np.array([[0.0], [4.0], [8.0]]), [B200])
    assert mw[:, 0].tolist() == pytest.approx([0.0024, 0.0072, 0.012])


def test_energy_cost_and_co2_by_hand() -> None:
    # 2 h of 8 GPUs = 57,600 GPU-s; 28,800 busy, 28,800 idle.
    # (28,800 x 1,000 + 28,800 x 200) J x 1.5 = 51.84 MJ = 14.4 kWh.
    e = en.energy(np.array([28_800.0]), [B200], seconds=7200.0)
    assert e.mwh == pytest.approx(0.0144)
    assert e.krw == pytest.approx(14.4 * 182.7)  # 2,630.88 KRW
    assert e.tco2e == pytest.approx(0.0144 * 0.4173)
    assert e.mean_mw == pytest.approx(0.0072)
    assert e.site_mwh == pytest.approx({"s1": 0.0144})


def test_energy_sums_sites_and_models() -> None:
    keys = [B200, en.PowerKey("s2", "H100", gpus=2, tdp_w=700.0, pue=1.0)]
    e = en.energy(np.array([0.0, 7200.0]), keys, seconds=3600.0)
    # s1 all idle: 8 x 200 W x 1.5 x 1 h = 2.4 kWh; s2 both busy: 2 x 700 W x 1 h = 1.4 kWh.
    assert e.site_mwh == pytest.approx({"s1": 0.0024, "s2": 0.0014})
    assert e.mwh == pytest.approx(0.0038)


def test_tiny_run_energy_through_the_files(tiny_run: Path) -> None:
    report = build_run_report(read_run_dir(tiny_run))
    assert report.metrics["utilization"] == pytest.approx(0.5)
    assert report.energy.mwh == pytest.approx(0.0144)
    assert report.energy.krw == pytest.approx(2630.88)
    assert report.energy.tco2e == pytest.approx(0.00600912)
    power = next(c for c in report.charts if c.id == "power-site")
    draw, budget = power.series
    # Samples at 0 h (nothing running) and 1 h (job 0 still holds 4 GPUs).
    assert list(draw.y) == pytest.approx([0.0024, 0.0072])
    assert list(budget.y) == pytest.approx([0.03, 0.03])  # 20 kW IT budget x PUE 1.5
