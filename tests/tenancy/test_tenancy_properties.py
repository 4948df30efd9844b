"""Invariants of quotas, reclaim and data classes over random fleets, trees and workloads."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpufleet.engine.record import PENDING, REJECTED, RUNNING
from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Fleet
from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.tenancy.model import ANY, Node, PreemptionConfig, Tenancy
from gpufleet.tenancy.sovereignty import site_allows
from gpufleet.workload.job import Job
from strategies import fleets, sites_fleet, workloads

LEAVES = ("t0", "t1", "t2")


@st.composite
def trees(draw: st.DrawFn) -> Tenancy:
    """A root over two groups; t0 and t1 under g0, t2 under g1; random guarantees and limits."""

    def amounts() -> dict[str, int]:
        return draw(
            st.dictionaries(
                st.sampled_from(["H100", "B200", "GB200", ANY]), st.integers(0, 160), max_size=2
            )
        )

    nodes = [Node(0, "root", -1, children=(1, 4))]
    nodes.append(Node(1, "g0", 0, guarantee=amounts(), limit=amounts(), children=(2, 3)))
    for nid, name in ((2, "t0"), (3, "t1")):
        nodes.append(
            Node(nid, name, 1, guarantee=amounts(), limit=amounts(), borrow=draw(st.booleans()))
        )
    nodes.append(Node(4, "g1", 0, guarantee=amounts(), children=(5,)))
    nodes.append(Node(5, "t2", 4, limit=amounts()))
    grace = draw(st.sampled_from([0.0, 5.0, 60.0]))
    return Tenancy.build(nodes, preemption=PreemptionConfig(draw(st.booleans()), grace))


def _checker(tenancy: Tenancy) -> object:
    def check(core: Scheduler, now: float) -> None:
        core.check()
        q = core.quota
        assert q is not None
        used: Counter[tuple[int, str]] = Counter()
        for run in core.running.values():
            model = core.fleet.clusters[run.allocation.cluster].gpu_model
            leaf = tenancy.leaf[run.job.tenant]
            for n in tenancy.path[leaf]:
                used[(n, model)] += run.job.gpus
                used[(n, ANY)] += run.job.gpus
        for node in tenancy.nodes:
            for flavor, fi in q.fid.items():
                assert q.used[node.id][fi] == used[(node.id, flavor)]
                # no tenant ever runs above its limit (a node that may not borrow: its guarantee)
                cap = node.limit.get(flavor)
                if cap is not None:
                    assert used[(node.id, flavor)] <= cap
                if not node.borrow and flavor in node.guarantee:
                    assert used[(node.id, flavor)] <= node.guarantee[flavor]

    return check


@settings(deadline=None)
@given(
    fleets(),
    workloads(),
    trees(),
    st.sampled_from(["fifo", "fifo+easy", "sjf+easy", "fairshare", "fairshare+easy"]),
)
def test_quota_invariants_and_every_job_ends_once(
    fleet: Fleet, jobs: list[Job], tenancy: Tenancy, policy: str
) -> None:
    rec = simulate(fleet, jobs, resolve(policy), tenancy=tenancy, check=_checker(tenancy))
    for i, job in enumerate(jobs):
        state = rec.state[i]
        if state == REJECTED:
            assert math.isnan(rec.start[i])
            continue
        # a job parked on its quota forever never started; every other accepted job ended
        assert state not in (RUNNING,)
        if state == PENDING:
            assert math.isnan(rec.start[i])
        else:
            assert rec.end[i] >= rec.start[i] >= job.submit
    # each preempted run ended before the job's last start, and the GPU time adds up
    for i, s, e, _ in rec.preempted:
        assert s <= e <= rec.start[i] or math.isnan(rec.start[i])


@settings(deadline=None)
@given(fleets(), workloads(), trees())
def test_same_seed_same_record(fleet: Fleet, jobs: list[Job], tenancy: Tenancy) -> None:
    a = simulate(fleet, jobs, resolve("fifo+easy"), tenancy=tenancy, seed=1)
    b = simulate(fleet, jobs, resolve("fifo+easy"), tenancy=tenancy, seed=1)
    assert a.start.tobytes() == b.start.tobytes()  # byte-identical, NaN included
    assert a.end.tobytes() == b.end.tobytes()
    assert list(a.cluster) == list(b.cluster)
    assert a.preempted == b.preempted


@settings(deadline=None)
@given(
    workloads(),
    st.lists(st.sampled_from(["open", "public_high", "public_medium", "personal"]), min_size=3),
)
def test_never_placed_where_the_data_class_forbids(jobs: list[Job], classes: list[str]) -> None:
    from dataclasses import replace

    fleet = sites_fleet()
    tenancy = Tenancy.build(
        [
            Node(0, "root", -1, children=(1, 2, 3)),
            Node(1, "t0", 0, data_class=classes[0]),
            Node(2, "t1", 0, data_class=classes[1], owner="Fab Co"),
            Node(3, "t2", 0, data_class=classes[2]),
        ]
    )
    jobs = [replace(j, gpus=min(j.gpus, 8), models=()) for j in jobs]
    rec = simulate(fleet, jobs, resolve("fifo+easy"), tenancy=tenancy)
    for i, job in enumerate(jobs):
        ci = rec.cluster[i]
        if ci < 0:
            continue
        site = next(s for s in fleet.sites if s.id == fleet.clusters[ci].site)
        leaf = tenancy.leaf[job.tenant]
        assert site_allows(site, tenancy.data_class(leaf), tenancy.owners(leaf)) is None


@st.composite
def arrivals(
    draw: st.DrawFn, borrowers: tuple[str, ...], sizes: tuple[int, ...], a_runtime: int, most: int
) -> list[Job]:
    """Jobs in submit order: `a` asks for 8 GPUs at a time (run times up to `a_runtime` s),
    the `borrowers` for one of `sizes` (up to 2,000 s)."""
    jobs: list[Job] = []
    t = 0.0
    for i in range(draw(st.integers(1, most))):
        t += draw(st.sampled_from([0.0, 1.0, 10.0, 100.0]))
        who = draw(st.sampled_from(("a", *borrowers)))
        if who == "a":
            jobs.append(Job(i, "a", t, 8, float(draw(st.integers(1, a_runtime)))))
        else:
            gpus = draw(st.sampled_from(sizes))
            jobs.append(Job(i, who, t, gpus, float(draw(st.integers(1, 2000)))))
    return jobs


def owner_and_borrower() -> st.SearchStrategy[list[Job]]:
    """b (no guarantee) floods the cluster; a (16 GPUs guaranteed) asks for 8 at a time."""
    return arrivals(("b",), (1, 2, 4, 8, 16), 500, 30)


@settings(deadline=None)
@given(owner_and_borrower(), st.sampled_from([0.0, 30.0, 300.0]), st.booleans())
def test_guaranteed_capacity_is_reached_within_the_grace_period(
    jobs: list[Job], grace: float, easy: bool
) -> None:
    """Whenever `a` has a job waiting while it runs at most 8 of its 16 guaranteed GPUs, that
    lasts no longer than the grace period: borrowed GPUs are reclaimed for it, and no other
    tenant's borrowing job ahead in the queue holds it back."""
    from strategies import make_fleet

    fleet = make_fleet(("c", "H100", 32, 8, 8, 4))
    tenancy = Tenancy.build(
        [
            Node(0, "root", -1, children=(1, 2)),
            Node(1, "a", 0, guarantee={ANY: 16}, borrow=False),
            Node(2, "b", 0),
        ],
        preemption=PreemptionConfig(True, grace),
    )
    since: list[float] = []  # when the current episode of "a waits with room" began
    seen: set[int] = set()  # a's jobs seen running

    def check(core: Scheduler, now: float) -> None:
        core.check()
        q = core.quota
        assert q is not None
        started = {j for j, run in core.running.items() if run.job.tenant == "a"} - seen
        seen.update(started)
        waits = any(job.tenant == "a" for job in core.pending.values())
        if waits and q.used[1][q.any] <= 8:
            if not since or started:  # a new episode, or one of a's jobs just started
                since[:] = [now]
            assert now - since[0] <= grace + 1e-6, (since[0], now)
        else:
            since.clear()

    policy = resolve("fifo+easy" if easy else "fifo")
    rec = simulate(fleet, jobs, policy, tenancy=tenancy, check=check)
    for i, job in enumerate(jobs):
        if job.tenant == "a":
            assert not math.isnan(rec.start[i])


# ---- reclaim's victim search: the per-leaf bound and memo decide what a plain walk decides ----


def _plain_victims(core: Scheduler, job: Job, ci: int) -> object:
    """Reclaim's victim search as a plain walk of the cluster's borrowers in victim order,
    asking each one's line afresh (the oracle for `tenants.victims_for`). It leaves the
    free GPUs as it found them, and the cluster's count of returns too: the search it checks
    remembers answers until GPUs come back, and the oracle's trials must not make it forget."""
    q = core.quota
    assert q is not None
    returns = core.state.cluster_returns[ci]
    model = core.fleet.clusters[ci].gpu_model
    fm, fa = q.fid[model], q.any
    order = sorted(e for by_leaf in core._borrowers[ci].values() for e in by_leaf)
    claimed = set().union(*core._claims.values()) if core._claims else set()
    leaving = [e for e in order if e[3] in core._evicting and e[3] not in claimed]
    less: dict[tuple[int, int], int] = {}
    taken: list[int] = []
    found = None
    for _, _, _, v in [*leaving, *order]:
        if v in taken or (v in core._evicting and v in claimed):
            continue
        c = core.running[v].charge
        assert c is not None
        if v not in core._evicting and not q.over_guarantee(c.line.leaf, model, less):
            continue
        for n in c.line.path:
            less[(n, fm)] = less.get((n, fm), 0) + c.gpus
            less[(n, fa)] = less.get((n, fa), 0) + c.gpus
        core.state.release(v)
        taken.append(v)
        found = core.policy.placement(job.gpus, job.topology, (ci,), core.state, None)
        if found is not None:
            break
    for v in taken:
        core.state.take(v, core.running[v].allocation)
    core.state.cluster_returns[ci] = returns
    return (taken, found) if found is not None else None


def _reclaims(
    jobs: list[Job],
    grace: float,
    fleet: Fleet | None = None,
    held: tuple[int, int] = (8, 8),
    probes: tuple[tuple[int, str], ...] = (),
) -> tuple[int, int]:
    """Simulate `a` (16 GPUs guaranteed) against b1 (4) and b2 in a group holding `held[0]`
    (8), and c (`held[1]`, 8), on 32 GPUs (or `fleet`): each victim search is checked
    against the plain walk. Borrowers whose lines fell back within their guarantees stay on
    the cluster, unreclaimable. After every event a waiting job also asks, on every cluster,
    for the (GPUs, topology) of `probes`, so that what the searches remember is asked about
    in states the scheduler's own searches would not reach. Returns (searches, searches
    that found victims)."""
    from unittest.mock import patch

    from gpufleet.scheduler import tenants
    from strategies import make_fleet

    if fleet is None:
        fleet = make_fleet(("c", "H100", 32, 8, 8, 4))
    tenancy = Tenancy.build(
        [
            Node(0, "root", -1, children=(1, 2, 5)),
            Node(1, "a", 0, guarantee={ANY: 16}, borrow=False),
            Node(2, "g", 0, guarantee={ANY: held[0]}, children=(3, 4)),
            Node(3, "b1", 2, guarantee={ANY: 4}),
            Node(4, "b2", 2),
            Node(5, "c", 0, guarantee={ANY: held[1]}),
        ],
        preemption=PreemptionConfig(True, grace),
    )
    fast = tenants.victims_for
    counts = [0, 0]

    def one(core: Scheduler, job: Job, ci: int) -> object:
        want = _plain_victims(core, job, ci)
        got = fast(core, job, ci)
        assert got == want, (job, ci)
        counts[0] += 1
        counts[1] += got is not None
        return got

    def probe(core: Scheduler, t: float) -> None:
        core.check()
        waiting = list(core.pending.values())
        if waiting:
            for gpus, topology in probes:
                for ci in range(len(fleet.clusters)):
                    one(core, replace(waiting[0], gpus=gpus, topology=topology), ci)

    with patch.object(tenants, "victims_for", one):
        simulate(fleet, jobs, resolve("fifo+easy"), tenancy=tenancy, check=probe)
    return counts[0], counts[1]


@pytest.mark.source_only
@settings(deadline=None)
@given(arrivals(("b1", "b2", "c"), (1, 2, 4, 8), 2000, 40), st.sampled_from([0.0, 30.0]))
def test_victim_search_decides_what_a_plain_walk_decides(jobs: list[Job], grace: float) -> None:
    _reclaims(jobs, grace)


@st.composite
def spread_arrivals(draw: st.DrawFn) -> list[Job]:
    """Every tenant, any of the three topologies, sizes up to a block: on two clusters of
    one model, usage on one moves the lines reclaim walks on the other."""
    jobs: list[Job] = []
    t = 0.0
    for i in range(draw(st.integers(1, 120))):
        t += draw(st.sampled_from([0.0, 1.0, 2.0, 10.0, 100.0]))
        who = draw(st.sampled_from(("a", "a", "b1", "b2", "b2", "c")))
        gpus = draw(st.sampled_from((8, 16) if who == "a" else (1, 3, 4, 8, 12)))
        topology = draw(st.sampled_from(("domain", "block", "any")))
        if topology == "domain":
            gpus = min(gpus, 8)
        runtime = float(draw(st.integers(1, 2000)))
        jobs.append(Job(i, who, t, gpus, runtime, topology=topology))
    return jobs


@pytest.mark.source_only
@settings(deadline=None)
@given(spread_arrivals(), st.sampled_from([0.0, 30.0]))
def test_victim_search_matches_the_plain_walk_across_clusters_and_topologies(
    jobs: list[Job], grace: float
) -> None:
    from strategies import make_fleet

    fleet = make_fleet(("c1", "H100", 48, 8, 8, 2), ("c2", "H100", 16, 8, 8, 1))
    probes = ((4, "domain"), (8, "domain"), (12, "block"), (16, "block"), (16, "any"))
    _reclaims(jobs, grace, fleet, (24, 24), probes)


@pytest.mark.source_only
def test_victim_search_finds_the_borrowers_of_a_full_cluster() -> None:
    """b1 and b2 fill the cluster (those beyond their group's 8 GPUs borrow); two end; `a`
    asks for 8 GPUs twice: the first start takes the free GPUs, the second a reclaim."""
    jobs = [Job(i, ("b1", "b2")[i % 2], 0.0, 4, 50.0 if i < 2 else 5000.0) for i in range(8)]
    jobs += [Job(8, "a", 100.0, 8, 100.0), Job(9, "a", 100.0, 8, 100.0)]
    searches, found = _reclaims(jobs, 30.0)
    assert (searches, found) == (1, 1)


# ---- what a failed victim walk remembers is forgotten when more could be taken ----


def _probed(jobs: list[Job], grace: float, probe: tuple[int, str]) -> dict[float, bool]:
    """Run `jobs` on c1 (16 H100, two 8-GPU domains) and c2 (8 B200) for a (8 GPUs
    guaranteed on any model), c (8), f (8) and d (none), asking after every event, with a
    waiting job's tenant, for victims of the `probe` (GPUs, topology) on c1, and checking
    every search against the plain walk. Returns, per event time, whether the probe found."""
    from unittest.mock import patch

    from gpufleet.scheduler import tenants
    from strategies import make_fleet

    fleet = make_fleet(("c1", "H100", 16, 8, 8, 2), ("c2", "B200", 8, 8, 8, 1))
    tenancy = Tenancy.build(
        [
            Node(0, "root", -1, children=(1, 2, 3, 4)),
            Node(1, "a", 0, guarantee={ANY: 8}),
            Node(2, "c", 0, guarantee={ANY: 8}),
            Node(3, "d", 0),
            Node(4, "f", 0, guarantee={ANY: 8}),
        ],
        preemption=PreemptionConfig(True, grace),
    )
    fast = tenants.victims_for
    seen: dict[float, bool] = {}

    def one(core: Scheduler, job: Job, ci: int) -> object:
        got = fast(core, job, ci)
        assert got == _plain_victims(core, job, ci), (job, ci)
        return got

    def check(core: Scheduler, t: float) -> None:
        core.check()
        waiting = [j for j in core.pending.values() if j.tenant == "a"]
        if waiting:
            gpus, topology = probe
            seen[t] = one(core, replace(waiting[0], gpus=gpus, topology=topology), 0) is not None

    with patch.object(tenants, "victims_for", one):
        simulate(fleet, jobs, resolve("fifo+easy"), tenancy=tenancy, check=check)
    return seen


def _jobs(*rows: tuple[object, ...]) -> list[Job]:
    """Jobs numbered in order from (tenant, submit, GPUs, run time, "model ...", topology?)."""
    out = []
    for i, (tenant, submit, gpus, runtime, models, *topology) in enumerate(rows):
        assert isinstance(tenant, str) and isinstance(models, str)
        assert isinstance(submit, float) and isinstance(gpus, int) and isinstance(runtime, float)
        topo = str(topology[0]) if topology else "any"
        out.append(
            Job(i, tenant, submit, gpus, runtime, models=tuple(models.split()), topology=topo)
        )
    return out


@pytest.mark.source_only
def test_a_failed_walk_is_redone_when_usage_rises_elsewhere() -> None:
    """c runs 8 B200 GPUs (its guarantee) and borrows 4 H100s beside d's 4 in c1's first
    domain; f and d share the second. At 10 s the B200 job ends: c is back within its
    guarantee and its H100 job cannot be taken, so at 20 s the walk takes d's two jobs and
    frees no whole domain for `a`. At 30 s c starts 8 B200s again, nothing on c1 having
    moved: c is over by 4 and the walk now frees the first domain (d's job and c's)."""
    jobs = _jobs(
        ("c", 0.0, 8, 10.0, "B200"),
        ("c", 0.0, 4, 1000.0, "H100"),
        ("d", 0.0, 4, 1000.0, "H100"),
        ("f", 0.0, 4, 1000.0, "H100"),
        ("d", 0.0, 4, 1000.0, "H100"),
        ("a", 20.0, 8, 100.0, "H100", "domain"),
        ("c", 30.0, 8, 100.0, "B200"),
    )
    seen = _probed(jobs, 0.0, (8, "domain"))
    assert (seen[20.0], seen[30.0]) == (False, True)


@pytest.mark.source_only
def test_a_failed_walk_is_redone_when_a_claim_ends() -> None:
    """d fills c1 with two 4-GPU jobs beside f's 8 and c2 with an 8-GPU job. At 10 s `a`'s
    first job (either model) claims d's two H100 jobs (300 s grace); at 20 s its second
    (H100 only) finds nothing to take, as they leave for the claim. When c2 frees, the
    first job starts there and its claim ends: d's jobs still leave and are free to take.
    (c2 frees before 50 s: B200s run the job faster than the H100 it is sized for.)"""
    jobs = _jobs(
        ("d", 0.0, 4, 1000.0, "H100"),
        ("d", 0.0, 4, 1000.0, "H100"),
        ("f", 0.0, 8, 1000.0, "H100"),
        ("d", 0.0, 8, 50.0, "B200"),
        ("a", 10.0, 8, 100.0, "H100 B200"),
        ("a", 20.0, 8, 100.0, "H100"),
    )
    seen = _probed(jobs, 300.0, (8, "any"))
    freed = min(t for t in seen if t > 20.0)
    assert freed < 50.0
    assert (seen[10.0], seen[20.0], seen[freed]) == (False, False, True)
