"""Invariants of the core under random fleets, workloads and policies (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gpufleet.engine.record import COMPLETED, REJECTED, TIMEOUT
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.policy.ordering import ORDERINGS
from gpufleet.policy.placement import PLACEMENTS
from gpufleet.policy.registry import resolve
from gpufleet.report.files import records_table
from gpufleet.scheduler.core import Scheduler
from gpufleet.workload.job import Job
from strategies import fleets, workloads

# fair share needs a tenant tree: tests/tenancy covers it
policies = st.sampled_from([o + b for o in ORDERINGS if o != "fairshare" for b in ("", "+easy")])
placements = st.sampled_from(sorted(PLACEMENTS))


def _check(s: Scheduler, t: float) -> None:
    s.check()


@given(fleets(), workloads(), policies, placements)
def test_every_job_ends_exactly_once_and_capacity_holds(
    fleet: Fleet, jobs: list[Job], policy: str, placement: str
) -> None:
    rec = simulate(fleet, jobs, resolve(policy, placement), check=_check)
    events: list[tuple[float, int, int, int]] = []
    for i, j in enumerate(rec.jobs):
        if rec.state[i] == REJECTED:
            assert math.isnan(rec.start[i]) and math.isnan(rec.end[i])
            continue
        assert rec.state[i] in (COMPLETED, TIMEOUT), "an accepted job did not end"
        assert j.submit <= rec.start[i] <= rec.end[i]
        assert rec.n_domains[i] >= 1
        events.append((rec.start[i], 1, rec.cluster[i], j.gpus))
        events.append((rec.end[i], 0, rec.cluster[i], -j.gpus))
    used = [0] * len(fleet.clusters)
    for _, _, ci, delta in sorted(events):
        used[ci] += delta
        assert used[ci] <= fleet.clusters[ci].gpus, "more GPUs in use than the cluster has"


@given(fleets(), workloads(), policies)
def test_same_input_same_record(fleet: Fleet, jobs: list[Job], policy: str) -> None:
    a = records_table(simulate(fleet, jobs, resolve(policy)))
    b = records_table(simulate(fleet, list(reversed(jobs)), resolve(policy)))
    assert a.equals(b)


@given(fleets(), workloads())
def test_backfill_never_delays_the_reserved_head(fleet: Fleet, jobs: list[Job]) -> None:
    """Under FIFO+EASY every reserved job starts by the shadow time it was promised."""
    promised: dict[int, float] = {}

    def watch(s: Scheduler, t: float) -> None:
        s.check()
        resv = s._resv
        if resv is not None and resv.job_id in s.pending:
            promised[resv.job_id] = min(promised.get(resv.job_id, math.inf), resv.shadow)

    rec = simulate(fleet, jobs, resolve("fifo+easy"), check=watch)
    index = {j.id: i for i, j in enumerate(rec.jobs)}
    for jid, shadow in promised.items():
        assert rec.start[index[jid]] <= shadow + 1e-6, f"job {jid} started after its shadow"


@given(fleets(), workloads())
def test_gangs_get_exactly_what_they_ask_within_topology(fleet: Fleet, jobs: list[Job]) -> None:
    allocations = {}

    def grab(s: Scheduler, t: float) -> None:
        for jid, run in s.running.items():
            allocations[jid] = run.allocation

    simulate(fleet, jobs, resolve("fifo+easy"), check=grab)
    by_id = {j.id: j for j in jobs}
    for jid, alloc in allocations.items():
        job = by_id[jid]
        assert alloc.gpus == job.gpus
        assert len({d for d, _ in alloc.parts}) == len(alloc.parts)
        blocks = {fleet.domain_block[d] for d, _ in alloc.parts}
        if job.topology == "domain":
            assert len(alloc.parts) == 1
        if job.topology == "block":
            assert len(blocks) == 1
        if job.models:
            assert fleet.clusters[alloc.cluster].gpu_model in job.models
