"""The synthetic national workload: determinism, mix, feasibility, sites and the government caps."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest

from gpufleet.engine.sim import simulate
from gpufleet.fleet.model import Cluster, Fleet, Site
from gpufleet.metrics.summary import summarize
from gpufleet.policy.registry import resolve
from gpufleet.workload import synthetic as syn
from gpufleet.workload.job import JOB_KINDS, TOPOLOGIES, Job
from gpufleet.workload.synthetic import draw, expected_jobs, generate, streams

GOV_GROUPS = ("national-ai-projects", "industry-sme-startups", "academia-research")


def _offered(fleet: Fleet, **kw: float) -> list[tuple[Job, float]]:
    """Each drawn job with its GPU-seconds on the GPU model it was drawn for (the generator's
    target: run time on the ref model scaled by the two models' speeds)."""
    drawn = draw(fleet, **kw)  # type: ignore[arg-type]
    cells = syn._cells(fleet)
    out = []
    for job, ci in zip(drawn, drawn.cell, strict=True):
        speed = fleet.models[job.ref_model].bf16_tflops / fleet.models[cells[ci].model].bf16_tflops
        out.append((job, job.gpus * job.runtime * speed))
    return out


# ---- determinism and shape ----


def test_same_seed_same_jobs_and_other_seed_other_jobs(korea: Fleet) -> None:
    a = generate(korea, days=1, seed=11, max_jobs=20_000)
    assert a == generate(korea, days=1, seed=11, max_jobs=20_000)
    assert a != generate(korea, days=1, seed=12, max_jobs=20_000)


def test_ids_follow_submit_order_within_the_window(scenario: Fleet) -> None:
    days = 2.0
    jobs = generate(scenario, days=days, seed=3, max_jobs=50_000)
    assert jobs
    assert [j.id for j in jobs] == list(range(len(jobs)))
    assert jobs == sorted(jobs, key=lambda j: (j.submit, j.id))
    assert all(0 <= j.submit < days * 86400 for j in jobs)


def test_max_jobs_gives_exactly_that_many(korea: Fleet) -> None:
    assert expected_jobs(korea, days=365) > 1_000_000  # so the benchmark count is reachable
    assert len(generate(korea, days=365, seed=1, max_jobs=30_000)) == 30_000


def test_job_count_tracks_expected_jobs(lab: Fleet) -> None:
    n = len(generate(lab, days=10, seed=4))
    expected = expected_jobs(lab, days=10)
    assert abs(n - expected) < 5 * expected**0.5


def test_degenerate_arguments(lab: Fleet) -> None:
    assert generate(lab, days=0, seed=1) == []
    assert generate(lab, days=1, seed=1, max_jobs=0) == []
    with pytest.raises(ValueError):
        generate(lab, days=-1, seed=1)
    with pytest.raises(ValueError):
        generate(lab, days=1, seed=1, load=-0.5)


# ---- groups, kinds and load ----


def test_streams_cover_the_fleet(mini_national: Fleet, korea: Fleet) -> None:
    for fleet in (mini_national, korea):
        ss = streams(fleet)
        assert sum(s.share for s in ss) == pytest.approx(1.0)
        assert all(sum(f for _, f in s.mix) == pytest.approx(1.0) for s in ss)
        groups = {s.group for s in ss}
        assert set(GOV_GROUPS) | {"foundation-model", "naver-cloud"} <= groups
        assert {"samsung-fab-ai", "sk-group-gpuaas", "hyundai-physical-ai"} <= groups
        gov = {s.group: s.share for s in ss if s.pool == "gov"}
        assert gov["national-ai-projects"] / gov["academia-research"] == pytest.approx(2.5)
        assert gov["industry-sme-startups"] / gov["academia-research"] == pytest.approx(1.5)


def test_generic_fleet_gets_the_generic_mix(lab: Fleet) -> None:
    (only,) = streams(lab)
    assert (only.group, only.models, only.share, only.sites) == ("general", ("H100",), 1.0, ())


def test_offered_shares_match_the_plan(mini_national: Fleet) -> None:
    """GPU-hours by group and kind follow `streams`, and their total follows `load`.

    Each sum is of a compound Poisson process, so its standard error is sqrt(sum of squares)
    over the sum; every share must lie within four of them (plus 2%) of the plan. Pretrain
    gangs are few and huge (a few dozen per group here), so the group checks leave them out.
    """
    days, load = 30.0, 0.7
    by_group: defaultdict[str, float] = defaultdict(float)
    by_kind: defaultdict[str, float] = defaultdict(float)
    squares: defaultdict[str, float] = defaultdict(float)
    for j, gs in _offered(mini_national, days=days, seed=21, load=load):
        by_kind[j.kind] += gs
        squares[j.kind] += gs * gs
        if j.kind != "pretrain":
            by_group[j.group] += gs
            squares[j.group] += gs * gs
    want_group: defaultdict[str, float] = defaultdict(float)
    want_kind: defaultdict[str, float] = defaultdict(float)
    for s in streams(mini_national):
        for kind, fraction in s.mix:
            want_kind[kind] += s.share * fraction
            if kind != "pretrain":
                want_group[s.group] += s.share * fraction
    rest, want_rest = sum(by_group.values()), sum(want_group.values())
    capacity_seconds = mini_national.total_gpus * days * 86400
    assert rest / capacity_seconds == pytest.approx(load * want_rest, rel=0.05)

    def within(name: str, got: float, of: float, want: float) -> None:
        error = math.sqrt(squares[name]) / got
        assert got / of == pytest.approx(want, rel=4 * error + 0.02), (name, error)

    for group, want in want_group.items():
        within(group, by_group[group], rest, want / want_rest)
    total = sum(by_kind.values())
    for kind, want in want_kind.items():
        within(kind, by_kind[kind], total, want)


def test_generic_mix_looks_like_acme_seren(lab: Fleet) -> None:
    """~54% of jobs on 1 GPU, ~97% on <= 8, jobs >= 256 GPUs ~half the GPU time [S124]."""
    jobs = generate(lab, days=30, seed=8)
    n = len(jobs)
    assert 0.45 < sum(j.gpus == 1 for j in jobs) / n < 0.70
    assert sum(j.gpus <= 8 for j in jobs) / n > 0.95
    gpu_time = sum(j.gpus * j.runtime for j in jobs)
    big = sum(j.gpus * j.runtime for j in jobs if j.gpus >= 256)
    assert 0.3 < big / gpu_time < 0.75
    evals = [j for j in jobs if j.kind == "eval"]
    assert Counter(j.gpus for j in evals).most_common(1)[0][0] == 1
    assert max(j.runtime for j in evals) <= 2 * 3600
    assert min(j.runtime for j in jobs if j.kind == "pretrain") >= 12 * 3600


# ---- every job can run somewhere it is allowed to ----


def _check_feasible(fleet: Fleet, jobs: list[Job]) -> None:
    """Every model a job lists has a cluster at the job's sites that holds its gang."""
    # (model, site) -> the largest gang one cluster holds within a domain, a block, anywhere
    largest: defaultdict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"domain": 0, "block": 0, "any": 0}
    )
    for c in fleet.clusters:
        most = largest[c.gpu_model, c.site]
        most["domain"] = max(most["domain"], c.domain_gpus)
        most["block"] = max(most["block"], c.block_gpus)
        most["any"] = max(most["any"], c.gpus)
    all_sites = tuple(s.id for s in fleet.sites)
    for j in jobs:
        assert j.models, j
        assert j.ref_model in fleet.models
        assert set(j.sites) <= set(all_sites), j
        assert j.kind in JOB_KINDS and j.topology in TOPOLOGIES
        assert j.runtime > 0 and j.gpus > 0
        assert j.preemptible == (j.kind in ("eval", "batch"))
        assert 0 <= j.priority <= 3
        assert j.time_limit is None or j.time_limit >= j.runtime
        for m in j.models:
            fits = max(largest[m, s][j.topology] for s in j.sites or all_sites)
            assert j.gpus <= fits, (j, m)


def test_all_jobs_are_feasible(scenario: Fleet) -> None:
    _check_feasible(scenario, generate(scenario, days=3, seed=5, max_jobs=60_000))


def test_all_jobs_are_feasible_on_every_pool(mini_national: Fleet) -> None:
    _check_feasible(mini_national, generate(mini_national, days=20, seed=6))


def _holds(cluster: Cluster, gpus: int, topology: str) -> bool:
    if topology == "domain":
        return gpus <= cluster.domain_gpus
    if topology == "block":
        return gpus <= cluster.block_gpus
    return gpus <= cluster.gpus


def _confined_work(fleet: Fleet, load: float) -> dict[frozenset[int], float]:
    """Expected work offered per second, by the set of clusters that can run it (its models
    at its sites, holding its gang), counted on the set's fastest model: the least it needs.
    Computed from the generator's cells and rates, not by sampling."""
    cells = syn._cells(fleet)
    rates = [load * fleet.total_gpus * c.share / c.gpu_seconds for c in cells]
    tflops = [fleet.models[c.gpu_model].bf16_tflops for c in fleet.clusters]
    work: defaultdict[frozenset[int], float] = defaultdict(float)
    for cell, rate in zip(cells, rates, strict=True):
        mean_runtime = cell.rt_lo * math.expm1(cell.rt_log_span) / cell.rt_log_span
        probs = [
            b - a
            for a, b in zip((0.0, *cell.size_cum[:-1]), (*cell.size_cum[:-1], 1.0), strict=True)
        ]
        ref = fleet.models[cell.ref_model].bf16_tflops
        for size, p in zip(cell.sizes, probs, strict=True):
            where = frozenset(
                i
                for i, c in enumerate(fleet.clusters)
                if c.gpu_model in size.models
                and (not cell.sites or c.site in cell.sites)
                and _holds(c, size.gpus, size.topology)
            )
            assert where, (cell, size)
            fastest = max(tflops[i] for i in where)
            work[where] += rate * p * size.gpus * mean_runtime * ref / fastest
    return work


@pytest.mark.parametrize("load", [0.85, 1.0])
def test_no_set_of_clusters_is_offered_more_than_load(
    korea: Fleet, mini_national: Fleet, load: float
) -> None:
    """For every set of clusters, the work that only that set can run is at most `load` x its
    GPUs: no cluster, model or site gets a backlog that grows without end at a load the fleet
    as a whole can carry. (The government's 256-GPU gangs, which fit only its H200 clusters,
    once offered those clusters about six times what they hold.)"""
    for fleet in (korea, mini_national):
        work = _confined_work(fleet, load)
        for where in work:
            confined = sum(w for other, w in work.items() if other <= where)
            gpus = sum(fleet.clusters[i].gpus for i in where)
            assert confined <= load * gpus * (1 + 1e-9), sorted(fleet.clusters[i].id for i in where)


def test_models_come_from_the_groups_pools(korea: Fleet) -> None:
    pool_models: defaultdict[str, set[str]] = defaultdict(set)
    for s in streams(korea):
        pool_models[s.group] |= set(s.models)
    jobs = generate(korea, days=2, seed=9, max_jobs=100_000)
    assert {j.group for j in jobs} >= set(GOV_GROUPS) | {"naver-cloud", "samsung-fab-ai"}
    for j in jobs:
        assert set(j.models) <= pool_models[j.group], j


# ---- sites: captive fleets stay captive ----


def _government(site: Site) -> bool:
    return site.kind == "national_center" or "MSIT" in site.program


def test_groups_run_only_at_their_owners_sites(korea: Fleet) -> None:
    """Samsung's, SK's, Hyundai's and NAVER's groups name only their owner's own (not
    government-funded) sites; government groups only government-program sites; academia also
    KISTI's; the foundation-model lease only NAVER's and SK's own sites [S33]."""
    site = {s.id: s for s in korea.sites}
    owners = {
        "samsung-fab-ai": ("Samsung Electronics",),
        "sk-group-gpuaas": ("SK Telecom",),
        "hyundai-physical-ai": ("Hyundai Motor Group",),
        "naver-cloud": ("NAVER Cloud",),
        "foundation-model": ("NAVER Cloud", "SK Telecom"),
    }
    jobs = generate(korea, days=3, seed=14, max_jobs=200_000)
    seen: defaultdict[str, set[str]] = defaultdict(set)
    for j in jobs:
        assert j.sites, j
        seen[j.group] |= set(j.sites)
        named = [site[s] for s in j.sites]
        if j.group in owners:
            assert all(s.owner in owners[j.group] and not _government(s) for s in named), j
        elif j.group == "academia-research":
            assert all(map(_government, named)) or [s.owner for s in named] == ["KISTI"], j
        else:
            assert j.group in GOV_GROUPS and all(map(_government, named)), j
    assert seen.keys() == set(owners) | set(GOV_GROUPS)
    assert seen["samsung-fab-ai"] == {"samsung-ai-megafactory"}
    assert seen["hyundai-physical-ai"] == {"hyundai-saemangeum"}
    assert seen["sk-group-gpuaas"] == {"skt-gasan-haein", "skt-industrial-ai-cloud", "sk-ulsan"}
    assert "sds-t2-b300" in seen["national-ai-projects"]  # Samsung SDS's MSIT tranche is public


def test_sites_tuples_are_shared_per_stream(korea: Fleet, lab: Fleet) -> None:
    jobs = generate(korea, days=1, seed=15, max_jobs=50_000)
    assert len({id(j.sites) for j in jobs}) <= len(streams(korea))
    assert all(j.sites == () for j in generate(lab, days=5, seed=15))


def test_the_twin_accepts_every_generated_job(korea: Fleet) -> None:
    """Two days on korea-2025: the core rejects no job (every site known, every gang fits at
    its sites) and starts each job at one of its sites."""
    jobs = generate(korea, days=2, seed=0)
    rec = simulate(korea, jobs, resolve("fifo+easy"))
    assert summarize(rec)["rejected"] == 0
    # a drawn workload is in submit order, so record rows are the list's order
    for j, ci in zip(jobs, rec.cluster, strict=True):
        assert ci >= 0 and korea.clusters[ci].site in j.sites, j


def test_government_caps(korea: Fleet, mini_national: Fleet) -> None:
    """Per project: B200 <= 128 GPUs, H200 <= 256 GPUs [S29]."""
    cap = {"B200": 128, "H200": 256}
    for fleet in (korea, mini_national):
        jobs = generate(fleet, days=10, seed=2, max_jobs=300_000)
        gov = [j for j in jobs if j.group in GOV_GROUPS]
        assert any(j.gpus == 256 for j in gov) and any(j.gpus == 128 for j in gov)
        for j in gov:
            assert j.gpus <= 256
            for m in j.models:
                assert j.gpus <= cap.get(m, 256), (j, m)


def test_foundation_teams_run_large_gangs(single: Callable[..., Fleet]) -> None:
    """Foundation-model teams lease from NAVER/SK [S33] and pretrain on 512-2,048 GPUs [S34]."""
    sk = single("SK Telecom", "GB300", 2304)
    (lease,) = [s for s in streams(sk) if s.group == "foundation-model"]
    assert lease.share == pytest.approx(0.25)  # capped at a quarter of a small lessor
    jobs = [j for j in generate(sk, days=200, seed=13) if j.group == "foundation-model"]
    gangs = [j for j in jobs if j.kind == "pretrain"]
    assert len(gangs) > 5
    assert all(512 <= j.gpus <= 2048 and j.runtime >= 86400 for j in gangs)
    assert {j.topology for j in gangs} <= {"block", "any"}


def test_drawn_columns_give_the_generated_jobs(mini_national: Fleet) -> None:
    """Read lazily, by index or from the end, the columns give the same Jobs, ids 0..n-1."""
    drawn = draw(mini_national, days=3, seed=4)
    jobs = generate(mini_national, days=3, seed=4)
    assert len(drawn) == len(jobs) > 100
    assert list(drawn) == jobs
    assert drawn[-1] == jobs[-1] and drawn[5] == jobs[5] and drawn[2:4] == jobs[2:4]
    assert [j.id for j in jobs] == list(range(len(jobs)))
    assert any(j.time_limit is None for j in jobs) and any(j.time_limit for j in jobs)
    with pytest.raises(IndexError):
        drawn[len(jobs)]


def test_a_drawn_workload_needs_no_jobs_list_to_simulate(mini_national: Fleet) -> None:
    """The twin reads the drawn columns as a stream: the record equals the list's."""
    drawn = draw(mini_national, days=1, seed=2)
    policy = resolve("fifo+easy")
    a = simulate(mini_national, drawn, policy, window=86400.0)
    b = simulate(mini_national, list(drawn), policy, window=86400.0)
    assert list(a.start) == list(b.start) and list(a.jobs) == list(b.jobs)


def _eager(fleet: Fleet, days: float, seed: int, load: float) -> list[Job]:
    """The generator as it was before its draws went into columns: one Job per arrival,
    built on the spot from the same draws in the same order (the oracle for `draw`)."""
    cells = syn._cells(fleet)
    rate, cell_cum = syn._job_rate(cells, fleet, load)
    week_max = max(syn._WEEK)
    rand = random.Random(seed).random
    jobs: list[Job] = []
    t = 0.0
    while True:
        t -= math.log(1.0 - rand()) * (1.0 / (rate * week_max))
        if t >= days * 86400.0:
            return jobs
        if rand() * week_max >= syn._WEEK[int(t // 3600.0) % 168]:
            continue
        cell = cells[bisect_right(cell_cum, rand())]
        k = bisect_right(cell.tenant_cum, rand())
        size = cell.sizes[bisect_right(cell.size_cum, rand())]
        runtime = float(round(cell.rt_lo * math.exp(rand() * cell.rt_log_span)))
        limit = None
        if rand() >= syn._ORACLE_FRACTION:
            request = runtime * (1.0 + rand())
            step = 900.0 if request < 3600.0 else 3600.0
            limit = math.ceil(request / step) * step
        jobs.append(
            Job(
                id=len(jobs),
                tenant=cell.tenants[k],
                submit=t,
                gpus=size.gpus,
                runtime=runtime,
                ref_model=cell.ref_model,
                models=size.models,
                priority=cell.priority,
                kind=cell.kind,
                topology=size.topology,
                preemptible=cell.preemptible,
                time_limit=limit,
                group=cell.group,
                sites=cell.sites,
                data_class=cell.data_classes[k],
            )
        )


@pytest.mark.parametrize("seed", [0, 5])
def test_drawn_columns_are_exact(mini_national: Fleet, seed: int) -> None:
    """Run times and limits stored as whole seconds in uint32 give back every Job of the
    eager generator, float for float."""
    assert list(draw(mini_national, days=4, seed=seed, load=0.9)) == _eager(
        mini_national, 4, seed, 0.9
    )
