"""Generate a seeded synthetic national workload with tenant groups and job mix from the research.

How a trace is built (source tags [Sn] refer to docs/sources.md; [A] = assumption, [D] = derived):

1. Pools. Every site of the fleet falls into one pool by its owner and program (`_pool_of`):
   the government pool (MSIT tranches, national centers), KISTI, Samsung, SK, Hyundai, NAVER,
   or "general" for anything else. A pool's weight is the GPU count of its clusters, computed
   from the fleet, so a fleet without these owners (a two-node test fleet) gets one generic
   stream and still works.
2. Streams. A pool is shared among tenant groups (a group's slice of a pool is a `Stream`):
   the government pool 50/30/20 among national AI projects, industry and academia [S27]; the
   sovereign foundation-model teams lease a fixed slice out of the NAVER and SK pools [S33][S34].
   A stream's share of the offered GPU-hours is its GPU capacity over the fleet's.
3. Mix. Each stream splits its GPU-hours over job kinds by one of domain.md's
   `workload_mix_defaults` (Acme Seren and Kalos [S124], a commercial forecast [S126], an
   industrial assumption [A]); each kind has a size and run-time distribution (`_PROFILES`).
4. Sites and clusters. A stream's jobs may run only at the sites of its pool (the lease: at
   its lessors' sites), so captive fleets stay captive: Samsung's, SK's, Hyundai's and NAVER's
   groups run only at their owner's sites, government groups only at government-program
   sites. A stream whose pool spans every site with GPUs (the generic stream of a fleet
   without these owners) leaves `sites` empty, which means the same: anywhere. Each kind's
   GPU-hours are split over the pool's clusters it may use by their GPUs, and a job's size is
   drawn for one cluster, clipped to what that cluster holds (and, for the government pool,
   to its model's per-project cap): every job fits where it was drawn for, so the work only a
   set of clusters can run is at most what the set is offered (`_targets`).
5. Jobs. Arrivals are one Poisson process modulated by hour of day and day of week [A]; each
   arrival picks a (stream, kind) cell with probability proportional to its job rate, then a
   tenant, a size, a run time and a time limit. The rate is set so that the expected GPU-hours
   offered, counted on the GPU model each job was drawn for, is `load` x capacity x time.

Everything random comes from one `random.Random(seed)`, drawn in a fixed order, so a seed
always gives the same list.
"""

from __future__ import annotations

import math
import random
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import overload

from gpufleet.fleet.catalog import CATALOG, GpuModel
from gpufleet.fleet.model import Cluster, Fleet, Site
from gpufleet.workload.job import JOB_KINDS, Job

__all__ = ["Stream", "SyntheticJobs", "draw", "expected_jobs", "generate", "streams"]

_HOUR = 3600.0
_DAY = 86400.0

# ---- Job kinds: sizes (GPUs, weight) and run time (log-uniform seconds on the ref model) ----


@dataclass(frozen=True, slots=True)
class _Profile:
    sizes: tuple[tuple[int, float], ...]
    runtime: tuple[float, float]


_PROFILES: dict[str, _Profile] = {
    # Eval jobs are mostly 1 GPU [S124]; the weights are [A]. Acme's GPU jobs ran 122 s median,
    # 1,414 s mean [S125]; eval runs 2 min - 2 h here [A].
    "eval": _Profile(((1, 0.65), (2, 0.10), (4, 0.10), (8, 0.15)), (120.0, 2 * _HOUR)),
    # SFT and multimodal jobs typically use 1-16 GPUs [S124]; weights [A]; 30 min - 1 day [A].
    "finetune": _Profile(
        ((1, 0.25), (2, 0.10), (4, 0.15), (8, 0.35), (16, 0.15)), (0.5 * _HOUR, _DAY)
    ),
    # Pretrain gangs: median ~128 GPUs on Seren, 256-512 on Kalos, max 1,024 [S124]; weights
    # [A]; days long: 12 h - 7 days [A].
    "pretrain": _Profile(
        ((128, 0.50), (256, 0.25), (512, 0.15), (1024, 0.10)), (12 * _HOUR, 7 * _DAY)
    ),
    # Debug, data processing and simulation: small and hours long [A].
    "batch": _Profile(
        ((1, 0.40), (2, 0.10), (4, 0.15), (8, 0.25), (16, 0.05), (32, 0.05)),
        (600.0, 12 * _HOUR),
    ),
    # Serving replicas: one GPU serves a ~70B model on RTX PRO 6000 [S84]; larger models take
    # a node; weights [A]; deployments live 1 h - 7 days [A].
    "inference": _Profile(((1, 0.40), (2, 0.15), (4, 0.15), (8, 0.30)), (_HOUR, 7 * _DAY)),
}
# Sovereign foundation-model pretraining: ~1,024 GPU-equivalents per team [S34], government
# clusters of >= 2,048 GPUs [S38]; weights [A]. 1-14 days per run [A] (DeepSeek-V3 trained
# ~55 days on 2,048 GPUs [S120], in restarts).
_FOUNDATION_PRETRAIN = _Profile(((512, 0.40), (1024, 0.40), (2048, 0.20)), (_DAY, 14 * _DAY))
# Industrial simulation and digital twins (Omniverse, Isaac Sim, cuLitho farms [S9][S10]) run
# on whole servers and multi-server farms for hours [A]; this replaces the generic batch profile
# for the AI factories' simulation share.
_SIMULATION = _Profile(((8, 0.50), (16, 0.25), (32, 0.15), (64, 0.10)), (_HOUR, 2 * _DAY))

# Higher is more urgent [A]: serving first, then the long gangs, then the rest.
_PRIORITY = {"inference": 3, "pretrain": 2, "finetune": 1, "eval": 0, "batch": 0}  # [A]
_PREEMPTIBLE = frozenset({"eval", "batch"})  # per brief; Meta makes jobs preemptible [S115]

# ---- Mixes: fraction of a stream's GPU-hours per kind (domain.md workload_mix_defaults) ----

# Acme Seren by GPU time [S124]: pretrain 0.70, SFT 0.10 + multimodal 0.09 -> finetune,
# eval 0.06, debug 0.05 -> batch.
_SOVEREIGN_LLM_DEV = {"pretrain": 0.70, "finetune": 0.19, "eval": 0.06, "batch": 0.05}
# Acme Kalos [S124]: pretrain 0.95; other 2.5% + debug 1.6% -> batch 0.04; eval 0.4% -> 0.01.
_FRONTIER_PRETRAIN = {"pretrain": 0.95, "batch": 0.04, "eval": 0.01}
# Inference ~2/3 of AI compute in 2026 [S126]; the training/fine-tune third split [A].
_COMMERCIAL_CLOUD = {
    "inference": 0.66,
    "finetune": 0.17,
    "pretrain": 0.10,
    "eval": 0.04,
    "batch": 0.03,
}
# industrial_physical_ai [A]: simulation/digital twin 0.4 -> batch, training 0.4 split evenly
# into pretrain and finetune [A], inference 0.2.
_INDUSTRIAL = {"batch": 0.40, "pretrain": 0.20, "finetune": 0.20, "inference": 0.20}
# KISTI-6 gives 30% of its capacity to AI [S42]; the other 70% is HPC simulation -> batch [D].
_KISTI = {k: 0.30 * v for k, v in _SOVEREIGN_LLM_DEV.items()} | {
    "batch": 0.70 + 0.30 * _SOVEREIGN_LLM_DEV["batch"]
}

# Omniverse / digital-twin simulation runs on RTX PRO 6000 servers [S9][S11]: industrial batch
# jobs list those first.
_GRAPHICS_MODELS = ("RTXPRO6000",)  # [S9][S11]
# PCIe inference/graphics cards without NVLink [S73][S75] are not used for training [A].
_NOT_FOR_TRAINING = frozenset({"RTXPRO6000", "T4"})  # [A]

# ---- Government caps: per-project B200 <= 128 GPUs, H200 <= 256 GPUs [S29] ----
_GOV_CAP = {"B200": 128, "H200": 256}  # [S29]
_BLACKWELL_TFLOPS = 2000.0  # [A] other models get the B200 cap if Blackwell-class, else H200's

# ---- Pools: site -> pool, and pool -> (group, fraction of the pool, mix, tenants, capped) ----


@dataclass(frozen=True, slots=True)
class _GroupSpec:
    group: str
    fraction: float
    mix: Mapping[str, float]
    n_tenants: int
    capped: bool = False
    graphics_batch: bool = False


_POOL_GROUPS: dict[str, tuple[_GroupSpec, ...]] = {
    # 50/30/20 split of the government pool [S27]; caps [S29]. Tenant counts [A] sized on the
    # 159 projects of the first award [S26].
    "gov": (
        _GroupSpec("national-ai-projects", 0.50, _SOVEREIGN_LLM_DEV, 20, capped=True),
        _GroupSpec("industry-sme-startups", 0.30, _SOVEREIGN_LLM_DEV, 60, capped=True),
        _GroupSpec("academia-research", 0.20, _SOVEREIGN_LLM_DEV, 80, capped=True),
    ),
    # KISTI-6 is free for universities and research institutes [S42][S43]; caps [A] as for
    # the government pool.
    "kisti": (_GroupSpec("academia-research", 1.0, _KISTI, 80, capped=True),),
    "samsung": (_GroupSpec("samsung-fab-ai", 1.0, _INDUSTRIAL, 12, graphics_batch=True),),  # [A]
    "sk": (_GroupSpec("sk-group-gpuaas", 1.0, _INDUSTRIAL, 12, graphics_batch=True),),  # [A]
    "hyundai": (_GroupSpec("hyundai-physical-ai", 1.0, _INDUSTRIAL, 12, graphics_batch=True),),
    "naver": (_GroupSpec("naver-cloud", 1.0, _COMMERCIAL_CLOUD, 40),),  # mix [S126]; tenants [A]
    # Any other owner: the Seren mix [S124], the best-documented general LLM-development mix.
    "general": (_GroupSpec("general", 1.0, _SOVEREIGN_LLM_DEV, 20),),  # tenants [A]
}
# Foundation-model teams lease GPUs from NAVER Cloud and SKT [S33]: H1-2026 LG and Upstage
# ~1,024 each, the added team ~768 [S34], plus 2 special-model teams x 256 B200 [S35]
# -> 3,328 GPUs [D]; at most a quarter of the lessors' capacity on small fleets [A].
_FOUNDATION = _GroupSpec("foundation-model", 1.0, _FRONTIER_PRETRAIN, 5)  # 3 + 2 teams [S34][S35]
_FOUNDATION_LESSORS = ("naver", "sk")  # [S33]
_FOUNDATION_GPUS = 3328  # [D] S34, S35
_FOUNDATION_MAX_FRACTION = 0.25  # [A]

_SK_OWNER = re.compile(r"\bsk\b")


def _pool_of(site: Site) -> str:
    """The pool a site's capacity serves, from its owner and program (case-insensitive)."""
    owner, program = site.owner.lower(), site.program.lower()
    if "kisti" in owner:
        return "kisti"
    # Government-funded capacity: MSIT tranches [S19][S37], national centers [S39].
    if site.kind == "national_center" or any(
        w in program for w in ("msit", "tranche", "government")
    ):
        return "gov"
    for pool, word in (("samsung", "samsung"), ("hyundai", "hyundai"), ("naver", "naver")):
        if word in owner:
            return pool
    if _SK_OWNER.search(owner):
        return "sk"
    return "general"


# ---- Arrivals: Poisson, modulated by hour of day and day of week [A] ----
# t = 0 is a Monday 00:00 local time [A]. Daytime peak at 14:00 with +-30% swing [A];
# weekends at 60% of weekdays [A]. Normalised to a mean of 1 over a week.
_DIURNAL_AMPLITUDE = 0.30  # [A]
_PEAK_HOUR = 14.0  # [A]
_WEEKEND_FACTOR = 0.60  # [A]


def _week_profile() -> tuple[float, ...]:
    raw = [
        (1.0 + _DIURNAL_AMPLITUDE * math.cos(2 * math.pi * (h % 24 + 0.5 - _PEAK_HOUR) / 24))
        * (_WEEKEND_FACTOR if h // 24 >= 5 else 1.0)
        for h in range(168)
    ]
    mean = sum(raw) / len(raw)
    return tuple(r / mean for r in raw)


_WEEK = _week_profile()

# ---- Time limits as users request them [A] ----
_ORACLE_FRACTION = 0.10  # [A] jobs whose true run time is known (time_limit None)
# Limits are in ref_model seconds, like `runtime` [A]: request = run time x U(1, 2).
_OVERESTIMATE = (1.0, 2.0)  # [A]
_OVERESTIMATE_SPAN = _OVERESTIMATE[1] - _OVERESTIMATE[0]
_SHORT_ROUNDING = 900.0  # [A] requests under an hour round up to 15 minutes
_LONG_ROUNDING = _HOUR  # [A] longer requests round up to whole hours


# ---- Streams: what the fleet's capacity implies ----


@dataclass(frozen=True, slots=True)
class Stream:
    """One tenant group's slice of one pool.

    `share` is the stream's fraction of the fleet's offered GPU-hours; `mix` gives each kind's
    fraction of the stream's GPU-hours; `models` are the pool's GPU models, fastest first;
    `ref_model` is the pool's most plentiful model, on which run times are drawn. `sites` are
    the pool's sites in fleet order, which every job of the stream carries (one shared tuple);
    empty when the pool spans every site with GPUs.
    """

    group: str
    pool: str
    share: float
    mix: tuple[tuple[str, float], ...]
    models: tuple[str, ...]
    ref_model: str
    capped: bool
    sites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _ModelStats:
    """One GPU model inside one pool: capacity and the largest cluster, block and domain."""

    gpus: int
    cluster: int
    block: int
    domain: int


def _model_stats(clusters: Iterable[Cluster]) -> dict[str, _ModelStats]:
    stats: dict[str, _ModelStats] = {}
    for c in clusters:
        block = c.block_gpus
        s = stats.get(c.gpu_model, _ModelStats(0, 0, 0, 0))
        stats[c.gpu_model] = _ModelStats(
            s.gpus + c.gpus,
            max(s.cluster, c.gpus),
            max(s.block, block),
            max(s.domain, c.domain_gpus),
        )
    return stats


def _pools(fleet: Fleet) -> dict[str, list[Cluster]]:
    site_pool = {s.id: _pool_of(s) for s in fleet.sites}
    pools: dict[str, list[Cluster]] = {}
    for c in fleet.clusters:
        if c.gpus > 0:
            pools.setdefault(site_pool.get(c.site, "general"), []).append(c)
    return pools


def _gpu_model(fleet: Fleet, name: str) -> GpuModel:
    return fleet.models.get(name) or CATALOG[name]


@dataclass(frozen=True, slots=True)
class _StreamPlan:
    stream: Stream
    spec: _GroupSpec
    stats: dict[str, _ModelStats]
    profiles: Mapping[str, _Profile]
    clusters: tuple[Cluster, ...]  # the pool's (the lessors' for the lease), in fleet order


def _plan(fleet: Fleet) -> list[_StreamPlan]:
    pools = _pools(fleet)
    total = sum(c.gpus for cs in pools.values() for c in cs)
    plans: list[_StreamPlan] = []
    if total == 0:
        return plans
    everywhere = frozenset(c.site for cs in pools.values() for c in cs)
    lessors = [c for p in _FOUNDATION_LESSORS for c in pools.get(p, [])]
    lessor_gpus = sum(c.gpus for c in lessors)
    leased = min(float(_FOUNDATION_GPUS), _FOUNDATION_MAX_FRACTION * lessor_gpus)
    for pool, clusters in pools.items():
        gpus = float(sum(c.gpus for c in clusters))
        if pool in _FOUNDATION_LESSORS:
            gpus -= leased * gpus / lessor_gpus
        sites = _sites(fleet, clusters, everywhere)
        for spec in _POOL_GROUPS[pool]:
            share = gpus * spec.fraction / total
            profiles = (_PROFILES | {"batch": _SIMULATION}) if spec.graphics_batch else _PROFILES
            plans.append(_stream_plan(fleet, pool, spec, clusters, sites, share, profiles))
    if leased > 0:
        profiles = _PROFILES | {"pretrain": _FOUNDATION_PRETRAIN}
        sites = _sites(fleet, lessors, everywhere)
        share = leased / total
        plans.append(_stream_plan(fleet, "lease", _FOUNDATION, lessors, sites, share, profiles))
    return plans


def _sites(fleet: Fleet, clusters: list[Cluster], everywhere: frozenset[str]) -> tuple[str, ...]:
    """The clusters' sites in fleet order; () if that is every site with GPUs (= anywhere)."""
    mine = {c.site for c in clusters}
    if mine == everywhere:
        return ()
    order = {s.id: i for i, s in enumerate(fleet.sites)}
    return tuple(sorted(mine, key=lambda s: (order.get(s, len(order)), s)))


def _stream_plan(
    fleet: Fleet,
    pool: str,
    spec: _GroupSpec,
    clusters: list[Cluster],
    sites: tuple[str, ...],
    share: float,
    profiles: Mapping[str, _Profile],
) -> _StreamPlan:
    stats = _model_stats(clusters)
    models = tuple(
        sorted(stats, key=lambda m: (-_gpu_model(fleet, m).bf16_tflops, -stats[m].gpus, m))
    )
    ref = min(stats, key=lambda m: (-stats[m].gpus, -_gpu_model(fleet, m).bf16_tflops, m))
    mix = tuple((k, spec.mix[k]) for k in JOB_KINDS if spec.mix.get(k, 0.0) > 0)
    stream = Stream(spec.group, pool, share, mix, models, ref, spec.capped, sites)
    return _StreamPlan(stream, spec, stats, profiles, tuple(clusters))


def streams(fleet: Fleet) -> tuple[Stream, ...]:
    """The tenant-group streams `generate` draws from, with their shares of GPU-hours."""
    return tuple(p.stream for p in _plan(fleet))


# ---- Cells: one (stream, kind, cluster shape) with its sizes and placement constraints ----


@dataclass(frozen=True, slots=True)
class _Size:
    gpus: int
    models: tuple[str, ...]
    topology: str


@dataclass(frozen=True, slots=True)
class _Cell:
    group: str
    kind: str
    model: str  # the GPU model of the clusters this cell's work is drawn for
    ref_model: str
    priority: int
    preemptible: bool
    tenants: tuple[str, ...]
    tenant_cum: tuple[float, ...]
    data_classes: tuple[str, ...]  # per tenant
    sizes: tuple[_Size, ...]
    size_cum: tuple[float, ...]
    rt_lo: float
    rt_log_span: float
    gpu_seconds: float  # expected GPU-seconds per job, counted on `model`
    share: float  # fraction of offered GPU-hours
    sites: tuple[str, ...]  # the stream's tuple, shared by all its jobs


# ---- Data classes per tenant (domain.md section 6's classes) ----
# Captive industrial fleets hold corporate-confidential data (domain.md section 7 [A]); one
# tenant in ten of the national AI projects is a public-sector project (public_medium) and one
# in ten of NAVER's cloud customers a public agency (public_high; NAVER serves the public sector)
# [A]; one academic tenant in twenty works with personal (e.g. medical) data [A].
_GROUP_CLASS = {
    "samsung-fab-ai": "corporate_confidential",
    "hyundai-physical-ai": "corporate_confidential",
    "sk-group-gpuaas": "corporate_confidential",
}
_EVERY_NTH_CLASS = {
    "national-ai-projects": (10, "public_medium"),
    "naver-cloud": (10, "public_high"),
    "academia-research": (20, "personal"),
}


def _data_class(group: str, k: int) -> str:
    """The data class of the group's tenant number k + 1 (deterministic, no random draw)."""
    if group in _GROUP_CLASS:
        return _GROUP_CLASS[group]
    every = _EVERY_NTH_CLASS.get(group)
    if every is not None and (k + 1) % every[0] == 0:
        return every[1]
    return "open"


def _cumulative(weights: Iterable[float]) -> tuple[float, ...]:
    """Cumulative weights scaled to [0, 1], the last entry raised to 2 so that
    bisect_right(table, u) for u in [0, 1) always lands on a valid index."""
    cum = list(accumulate(weights))
    total = cum[-1]
    return (*(c / total for c in cum[:-1]), 2.0)


def _cap(fleet: Fleet, model: str) -> int:
    if model in _GOV_CAP:
        return _GOV_CAP[model]
    blackwell = _gpu_model(fleet, model).bf16_tflops >= _BLACKWELL_TFLOPS
    return _GOV_CAP["B200"] if blackwell else _GOV_CAP["H200"]


def _kind_models(plan: _StreamPlan, kind: str) -> list[str]:
    """The pool's models this kind may use, in preference order."""
    models = list(plan.stream.models)
    if kind in ("pretrain", "finetune"):
        trainable = [m for m in models if m not in _NOT_FOR_TRAINING]
        models = trainable or models
    if kind == "batch" and plan.spec.graphics_batch:
        models.sort(key=lambda m: m not in _GRAPHICS_MODELS)  # stable: graphics first
    return models


@dataclass(frozen=True, slots=True)
class _Target:
    """Clusters of one GPU model and one shape: where one cell's jobs are drawn for."""

    model: str
    gpus: int  # the clusters' GPUs together
    sizes: tuple[tuple[_Size, float], ...]  # each size with its weight in jobs


def _targets(fleet: Fleet, plan: _StreamPlan, kind: str) -> list[_Target]:
    """Where this kind's work goes: each of the pool's clusters whose model the kind may use,
    with the kind's sizes clipped to what that cluster holds and the project cap of its model.

    Drawing every job for one cluster is what keeps offered work within capacity: a job
    drawn for cluster c fits c, so the jobs that can run only on a set of clusters were all
    drawn for clusters of that set, and their work is at most what the set is offered,
    `load` x its GPUs (a little more where training skips RTX PRO 6000 clusters). (Sizes
    clipped only to the pool's largest limit sent the government pool's 256-GPU gangs, 47% of
    its GPU-hours, to its H200 clusters, 8% of its GPUs.) Clusters with the same model and
    the same size table share one target.
    """
    stats = plan.stats
    models = _kind_models(plan, kind)
    capped = plan.stream.capped
    limit = {
        m: min(stats[m].cluster, _cap(fleet, m)) if capped else stats[m].cluster for m in models
    }
    merged: dict[tuple[str, tuple[tuple[_Size, float], ...]], int] = {}
    for c in plan.clusters:
        if c.gpu_model not in limit:
            continue
        most = min(c.gpus, _cap(fleet, c.gpu_model)) if capped else c.gpus
        block = c.block_gpus
        weights: dict[int, float] = {}
        for gpus, w in plan.profiles[kind].sizes:
            g = min(gpus, most)
            weights[g] = weights.get(g, 0.0) + w
        sized: list[tuple[_Size, float]] = []
        for g, w in weights.items():
            allowed = [m for m in models if limit[m] >= g]
            if g <= c.domain_gpus:
                topology, fits = "domain", [m for m in allowed if stats[m].domain >= g]
            elif g <= block:
                topology, fits = "block", [m for m in allowed if stats[m].block >= g]
            else:
                topology, fits = "any", allowed
            sized.append((_Size(g, tuple(fits), topology), w))
        key = (c.gpu_model, tuple(sized))
        merged[key] = merged.get(key, 0) + c.gpus
    return [_Target(model, gpus, sized) for (model, sized), gpus in merged.items()]


def _cells(fleet: Fleet) -> list[_Cell]:
    cells: list[_Cell] = []
    for plan in _plan(fleet):
        spec = plan.spec
        tenants = tuple(f"{spec.group}-{k:02d}" for k in range(1, spec.n_tenants + 1))
        # Tenant k submits in proportion to 1/k (Zipf) [A].
        tenant_cum = _cumulative(1.0 / k for k in range(1, spec.n_tenants + 1))
        data_classes = tuple(_data_class(spec.group, k) for k in range(len(tenants)))
        ref_tf = _gpu_model(fleet, plan.stream.ref_model).bf16_tflops
        for kind, fraction in plan.stream.mix:
            lo, hi = plan.profiles[kind].runtime
            mean_rt = (hi - lo) / math.log(hi / lo)  # mean of a log-uniform [D]
            targets = _targets(fleet, plan, kind)
            kind_gpus = sum(t.gpus for t in targets)
            for target in targets:
                # run times are drawn on the ref model; on the target's model they scale by speed
                speed = ref_tf / _gpu_model(fleet, target.model).bf16_tflops
                total_w = sum(w for _, w in target.sizes)
                mean_gpus = sum(w * s.gpus for s, w in target.sizes) / total_w
                cells.append(
                    _Cell(
                        group=spec.group,
                        kind=kind,
                        model=target.model,
                        ref_model=plan.stream.ref_model,
                        priority=_PRIORITY[kind],
                        preemptible=kind in _PREEMPTIBLE,
                        tenants=tenants,
                        tenant_cum=tenant_cum,
                        data_classes=data_classes,
                        sizes=tuple(s for s, _ in target.sizes),
                        size_cum=_cumulative(w for _, w in target.sizes),
                        rt_lo=lo,
                        rt_log_span=math.log(hi / lo),
                        gpu_seconds=mean_gpus * speed * mean_rt,
                        share=plan.stream.share * fraction * target.gpus / kind_gpus,
                        sites=plan.stream.sites,
                    )
                )
    return cells


def _job_rate(cells: list[_Cell], fleet: Fleet, load: float) -> tuple[float, tuple[float, ...]]:
    """Jobs per second over all cells, and the cumulative cell-choice table."""
    rates = [load * fleet.total_gpus * c.share / c.gpu_seconds for c in cells]
    return sum(rates), _cumulative(rates)


def expected_jobs(fleet: Fleet, *, days: float, load: float = 0.85) -> float:
    """The expected number of jobs `generate` draws over `days` (before any `max_jobs` cap).

    `generate(..., max_jobs=n)` returns exactly n jobs when this is comfortably above n
    (by more than a few times sqrt(n), the Poisson spread); raise `days` until it is.
    """
    cells = _cells(fleet)
    if not cells or days <= 0 or load <= 0:
        return 0.0
    rate, _ = _job_rate(cells, fleet, load)
    return rate * _modulated_seconds(days * _DAY)


def _modulated_seconds(horizon: float) -> float:
    """The integral of the weekly arrival profile from 0 to `horizon` seconds."""
    week = len(_WEEK) * _HOUR
    weeks, rest = divmod(horizon, week)
    total = weeks * week  # the profile averages 1 over a week
    for factor in _WEEK:
        if rest <= 0:
            break
        step = min(rest, _HOUR)
        total += factor * step
        rest -= step
    return total


def generate(
    fleet: Fleet, *, days: float, seed: int, load: float = 0.85, max_jobs: int | None = None
) -> list[Job]:
    """`draw`'s workload as a list of Jobs (small runs, tests; a year is better drawn)."""
    return list(draw(fleet, days=days, seed=seed, load=load, max_jobs=max_jobs))


def draw(
    fleet: Fleet, *, days: float, seed: int, load: float = 0.85, max_jobs: int | None = None
) -> SyntheticJobs:
    """Draw a synthetic workload for `fleet` over `days`, sorted by (submit, id), ids 0..n-1.

    The job rate makes the expected offered GPU-hours (on the model each job is drawn for)
    equal `load` x fleet GPUs x time. Generation runs in submit order and stops at
    `max_jobs` if given: the trace is then the first `max_jobs` jobs and ends before `days`.
    To get exactly n jobs, pass a `days` for which `expected_jobs` is well above n
    (korea-2025 at load 0.85 draws ~145,000 jobs on a weekday, ~47 million a year, so
    days=365 gives 1,000,000 jobs after ~8 days of submissions; a 16-GPU fleet draws only
    ~20 a day).
    """
    if days < 0 or load < 0 or (max_jobs is not None and max_jobs < 0):
        raise ValueError("days, load and max_jobs must be >= 0")
    cells = _cells(fleet)
    out = SyntheticJobs(cells)
    if not cells or days == 0 or load == 0 or max_jobs == 0:
        return out
    rate, cell_cum = _job_rate(cells, fleet, load)
    week_max = max(_WEEK)
    mean_gap = 1.0 / (rate * week_max)  # thinning: draw at the peak rate, keep m(t)/max
    horizon = days * _DAY
    limit = max_jobs if max_jobs is not None else math.inf
    rand = random.Random(seed).random
    log, exp, ceil = math.log, math.exp, math.ceil
    submit, cell_of, tenant_of, size_of = out.submit, out.cell, out.tenant, out.size
    runtime_of, limit_of = out.runtime, out.limit
    n = 0
    t = 0.0
    while n < limit:
        t -= log(1.0 - rand()) * mean_gap
        if t >= horizon:
            break
        if rand() * week_max >= _WEEK[int(t // _HOUR) % 168]:
            continue
        # one job: its cell, then tenant, size, run time and time limit, drawn in that order
        ci = bisect_right(cell_cum, rand())
        cell = cells[ci]
        submit.append(t)
        cell_of.append(ci)
        tenant_of.append(bisect_right(cell.tenant_cum, rand()))
        size_of.append(bisect_right(cell.size_cum, rand()))
        runtime = round(cell.rt_lo * exp(rand() * cell.rt_log_span))
        runtime_of.append(runtime)
        if rand() >= _ORACLE_FRACTION:
            request = runtime * (_OVERESTIMATE[0] + _OVERESTIMATE_SPAN * rand())
            step = _SHORT_ROUNDING if request < _HOUR else _LONG_ROUNDING
            limit_of.append(int(ceil(request / step) * step))
        else:
            limit_of.append(_NO_LIMIT)
        n += 1
    return out


# A drawn time limit is a whole number of 15-minute or 1-hour steps, never 0: 0 marks none.
_NO_LIMIT = 0


class SyntheticJobs(Sequence[Job]):
    """A drawn workload held as its draws in compact columns; Jobs are built as they are read.

    A year of the national fleet is ~47 million jobs, ~12 GB as Job objects before the run
    starts; as columns (submit time, cell, tenant and size numbers, run time and limit in
    whole seconds) it is 21 bytes a job, and the twin reads it in submit order, building
    each Job as its submit time comes. Run times and limits are whole seconds by
    construction (rounded, or a whole number of rounding steps), so the uint32 columns are
    exact. Job i has id i.
    """

    __slots__ = ("_cells", "cell", "limit", "runtime", "size", "submit", "tenant")

    def __init__(self, cells: Sequence[_Cell]) -> None:
        self._cells = tuple(cells)
        self.submit: array[float] = array("d")
        self.cell: array[int] = array("H")
        self.tenant: array[int] = array("H")
        self.size: array[int] = array("B")
        self.runtime: array[int] = array("I")
        self.limit: array[int] = array("I")

    def __len__(self) -> int:
        return len(self.submit)

    @overload
    def __getitem__(self, i: int) -> Job: ...
    @overload
    def __getitem__(self, i: slice) -> list[Job]: ...
    def __getitem__(self, i: int | slice) -> Job | list[Job]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        k = range(len(self))[i]  # negative indices, and IndexError past the end
        return _job(
            k,
            self.submit[k],
            self._cells[self.cell[k]],
            self.tenant[k],
            self.size[k],
            self.runtime[k],
            self.limit[k],
        )

    def __iter__(self) -> Iterator[Job]:
        cells = self._cells
        columns = zip(
            self.submit, self.cell, self.tenant, self.size, self.runtime, self.limit, strict=True
        )
        for i, (t, c, k, s, rt, lim) in enumerate(columns):
            yield _job(i, t, cells[c], k, s, rt, lim)


def _job(job_id: int, t: float, cell: _Cell, k: int, s: int, runtime: int, limit: int) -> Job:
    """Job `job_id` of `cell` submitted at `t`: tenant k, size s, run time and limit in s."""
    size = cell.sizes[s]
    return Job(
        id=job_id,
        tenant=cell.tenants[k],
        submit=t,
        gpus=size.gpus,
        runtime=float(runtime),
        ref_model=cell.ref_model,
        models=size.models,
        priority=cell.priority,
        kind=cell.kind,
        topology=size.topology,
        preemptible=cell.preemptible,
        time_limit=float(limit) if limit != _NO_LIMIT else None,
        group=cell.group,
        sites=cell.sites,
        data_class=cell.data_classes[k],
    )
