"""Runs for the report tests: a tiny hand-checkable run, small realistic ones (with and without
a tenant tree), and one as gpufleet wrote it before waiting reasons, tenancy and the ledger."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.metrics.tenancy import tenancy_summary
from gpufleet.policy.registry import resolve
from gpufleet.report.files import write_run
from gpufleet.tenancy.loader import load_tenancy
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


# A tenant tree for small-mixed's synthetic tenants: the government groups hold the B200
# cluster, general-01 and -02 hold guarantees the other general tenants borrow (so reclaim
# preempts them), general-20 has a grant. Names are the workload's (`<group>-NN`).
SMALL_TREE = """preemption: {reclaim: true, grace: 5m}
tree:
  - name: fleet
    children:
      - name: government
        sites: [gov-cloud]
        children:
          - {name: national-ai-projects, guarantee: {B200: 32}, tenants: {count: 20}}
          - {name: industry-sme-startups, guarantee: {B200: 16}, tenants: {count: 60}}
          - {name: academia-research, guarantee: {B200: 8}, tenants: {count: 80}}
      - name: general
        children:
          - {name: general-01, guarantee: {GB200: 72, RTXPRO6000: 32}}
          - {name: general-02, guarantee: {GB200: 36}}
          - {name: general-20, grants: [{name: award, flavor: any, gpus: 16, end: 30d}]}
""" + "".join(f"          - {{name: general-{k:02d}}}\n" for k in range(3, 20))


def _small(out: Path, policy: str, tree: str = "") -> Path:
    fleet = load_fleet("small-mixed")
    tenancy = None
    if tree:
        path = out.parent / f"{out.name}.tenancy.yaml"
        path.write_text(tree, encoding="utf-8")
        tenancy = load_tenancy(path, fleet)
    jobs = generate(fleet, days=3, seed=0)
    rec = simulate(fleet, jobs, resolve(policy), window=3 * 86400.0, seed=0, tenancy=tenancy)
    metrics = summarize(rec)
    if tenancy is not None:
        metrics["tenancy"] = tenancy_summary(rec, tenancy)
    write_run(rec, metrics, out, scenario="small-mixed", workload="synthetic")
    return out


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """small-mixed, 3 days of the synthetic workload, fifo+easy."""
    return _small(tmp_path_factory.mktemp("runs") / "fifo", "fifo+easy")


@pytest.fixture(scope="session")
def small_run_sjf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same workload under sjf+easy, to compare with `small_run`."""
    return _small(tmp_path_factory.mktemp("runs") / "sjf", "sjf+easy")


@pytest.fixture(scope="session")
def tree_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`small_run`'s workload under SMALL_TREE (quotas, reclaim, a grant), fifo+easy."""
    return _small(tmp_path_factory.mktemp("runs") / "tree-fifo", "fifo+easy", SMALL_TREE)


@pytest.fixture(scope="session")
def tree_run_sjf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same under sjf+easy."""
    return _small(tmp_path_factory.mktemp("runs") / "tree-sjf", "sjf+easy", SMALL_TREE)


@pytest.fixture(scope="session")
def old_run(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`small_run` as gpufleet wrote it before waiting reasons, tenancy and the ledger:
    queue.parquet with time, pending and running only, no ledger.parquet, no tenancy block."""
    out = tmp_path_factory.mktemp("runs") / "old"
    shutil.copytree(small_run, out)
    queue = pq.read_table(out / "queue.parquet", columns=["time", "pending_jobs", "running_jobs"])
    pq.write_table(queue, out / "queue.parquet")
    (out / "ledger.parquet").unlink()
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    metrics.pop("tenancy", None)
    (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return out
