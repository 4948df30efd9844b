"""Metrics and the ledger, computed a slice of rows at a time, give exactly the figures of
one pass over all rows: the same sums in the same order, the same percentiles."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from gpufleet.accounting.ledger import ledger_of
from gpufleet.cli.twin import _load_workload, _realism, _services, _with_replicas
from gpufleet.engine import record
from gpufleet.engine.record import COMPLETED, RunRecord
from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.metrics.tenancy import tenancy_summary
from gpufleet.policy.registry import resolve
from gpufleet.tenancy.loader import resolve_tenancy
from gpufleet.tenancy.model import Tenancy


@pytest.fixture(scope="module")
def run() -> tuple[RunRecord, Tenancy]:
    """4,000 jobs of a day of korea-2025 with its tenant tree, inference and failures, plus
    runs cut short added by hand (several for one job) and a large completed job, so that
    every sum over runs and every ETTR path has something to add."""
    fleet = load_fleet("korea-2025")
    tree = resolve_tenancy("auto", "korea-2025", fleet)
    services, tree = _services("auto", "korea-2025", fleet, tree)
    jobs = _load_workload("synthetic", fleet, 1.0, 0, 0.85, 4000)
    jobs, plan = _with_replicas(jobs, services, 1.0)
    rec = simulate(
        fleet,
        jobs,
        resolve("fifo+easy"),
        window=86400.0,
        seed=0,
        tenancy=tree,
        realism=_realism("on", None, "off"),
        cancels=plan.cancels,
    )
    assert tree is not None and rec.failed
    done = np.flatnonzero(np.frombuffer(rec.state, np.int8) == COMPLETED)
    big = int(done[len(done) // 2])
    rec.jobs.gpus[big] = 2048
    for k, i in enumerate([int(done[3]), big, int(done[-5]), big, int(done[3])]):
        s = rec.start[i] - 1000.0 * (k + 1) / 3.0
        rec.preempted.append((i, s, s + 700.0 / 7.0, rec.cluster[i]))
        rec.failed.append((i, s - 50.0, s - 10.0 / 3.0, rec.cluster[i]))
        rec.lost_gpu_s[i] = rec.lost_gpu_s.get(i, 0.0) + 1.0 / 3.0
    return rec, tree


def _figures(rec: RunRecord, tree: Tenancy) -> tuple[str, Any]:
    metrics = {"summary": summarize(rec), "tenancy": tenancy_summary(rec, tree)}
    metrics["summary"].pop("wall_seconds")
    return json.dumps(metrics, sort_keys=True), ledger_of(rec)


@pytest.mark.parametrize("rows", [7, 1000])
def test_slices_give_the_figures_of_one_pass(
    run: tuple[RunRecord, Tenancy], monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    rec, tree = run
    assert len(rec.jobs) < record.SLICE_ROWS  # by default: one slice
    metrics, ledger = _figures(rec, tree)
    monkeypatch.setattr(record, "SLICE_ROWS", rows)
    sliced_metrics, sliced_ledger = _figures(rec, tree)
    assert sliced_metrics == metrics
    assert sliced_ledger.equals(ledger)
    assert json.loads(metrics)["summary"]["realism"]["ettr_large"]["jobs"] == 1
