"""Runs for the report tests: a tiny hand-checkable run and a small realistic one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.policy.registry import resolve
from gpufleet.report.files import write_run
from gpufleet.workload.job import Job
from gpufleet.workload.synthetic import generate

# One 8-GPU HGX B200 node (TDP 1,000 W) at a site with PUE 1.5 and a 20 kW budget.
TINY_SCENARIO = """\
name: tiny
description: one HGX B200 node
sites:
  - id: s1
    owner: test
    kind: ai_factory
    region: test
    power_budget_mw: 0.02
    pue: 1.5
    source: "[A] test"
    clusters:
      - id: c1
        gpu_model: B200
        gpus: 8
        domain: hgx8
        source: "[A] test"
"""
TINY_WINDOW = 7200.0


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    """Job 0: 4 GPUs for 0-1 h (group g1); job 1: all 8 GPUs, submitted at 0.5 h, waits for
    job 0 and runs 1-1.5 h (group g2). Window 2 h: busy 28,800 of 57,600 GPU-seconds."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY_SCENARIO, encoding="utf-8")
    fleet = load_fleet(str(scenario))
    jobs = [
        Job(0, "t1", 0.0, 4, 3600.0, ref_model="B200", group="g1"),
        Job(1, "t2", 1800.0, 8, 1800.0, ref_model="B200", group="g2"),
    ]
    rec = simulate(fleet, jobs, resolve("fifo"), window=TINY_WINDOW, seed=0)
    out = tmp_path / "tiny-run"
    write_run(rec, summarize(rec), out, scenario=str(scenario), workload="hand-made")
    return out


def _small(out: Path, policy: str) -> Path:
    fleet = load_fleet("small-mixed")
    jobs = generate(fleet, days=3, seed=0)
    rec = simulate(fleet, jobs, resolve(policy), window=3 * 86400.0, seed=0)
    write_run(rec, summarize(rec), out, scenario="small-mixed", workload="synthetic")
    return out


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """small-mixed, 3 days of the synthetic workload, fifo+easy."""
    return _small(tmp_path_factory.mktemp("runs") / "fifo", "fifo+easy")


@pytest.fixture(scope="session")
def small_run_sjf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same workload under sjf+easy, to compare with `small_run`."""
    return _small(tmp_path_factory.mktemp("runs") / "sjf", "sjf+easy")
