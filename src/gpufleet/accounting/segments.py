"""The intervals in which jobs held GPUs (segments), with whom and where each is accounted to.

A job has one segment per run: its last run (start..end in the record; a job still running
when the record stops runs up to the record's last time), plus every run cut short by
preemption (`RunRecord.preempted`) or by a failure (`RunRecord.failed`). Segments are flat
numpy arrays so that a million jobs become a ledger in vectorised steps; a record's come in
chunks of jobs so that a year's (~47 million) never exist at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.engine.record import RunRecord, row_slices
from gpufleet.errors import ConfigError, InvariantError
from gpufleet.fleet.model import Fleet


@dataclass(frozen=True, slots=True)
class Place:
    """GPUs of one model at one site: what a GPU-second there draws."""

    site: str
    gpu_model: str
    tdp_w: float
    pue: float


@dataclass(frozen=True, slots=True, eq=False)
class Segments:
    """One entry per segment; tenant, group and place are codes into the name tuples."""

    tenant: np.ndarray
    group: np.ndarray
    place: np.ndarray
    gpus: np.ndarray  # float64 GPU counts (exact for any realistic count)
    start: np.ndarray
    end: np.ndarray
    tenants: tuple[str, ...]
    groups: tuple[str, ...]
    places: tuple[Place, ...]

    def __len__(self) -> int:
        return int(self.start.size)


def fleet_places(fleet: Fleet) -> tuple[tuple[Place, ...], np.ndarray]:
    """Distinct (site, GPU model) places, sorted, and each cluster's index into them."""
    pue = {s.id: s.pue for s in fleet.sites}
    keys = sorted({(c.site, c.gpu_model) for c in fleet.clusters})
    index = {k: i for i, k in enumerate(keys)}
    places = tuple(Place(s, m, fleet.models[m].tdp_w, pue[s]) for s, m in keys)
    of_cluster = np.array([index[(c.site, c.gpu_model)] for c in fleet.clusters], np.int64)
    return places, of_cluster


def encode(values: pa.Array | pa.ChunkedArray) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct strings, sorted (so codes order like names), and each value's code."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    enc = pc.dictionary_encode(arr)
    names = enc.dictionary.to_pylist()
    order = sorted(range(len(names)), key=lambda i: names[i])
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return tuple(names[i] for i in order), remap[idx]


def record_end(rec: RunRecord) -> float:
    """The record's last time: the latest start, end, preempted end or sample it holds.

    A run stopped early (`simulate(until=...)`) does not store its stop time; this is the
    closest time the record itself proves, so a still-running job is never over-counted.
    """
    times = [
        float(np.nanmax(np.frombuffer(a, np.float64), initial=0.0))
        for a in (rec.start, rec.end)
        if len(a)
    ]
    times += [e for _, _, e, _ in rec.preempted + rec.failed] + rec.sample_time[-1:]
    return max(times, default=0.0)


def _cut_runs(rec: RunRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(job index, start, end, cluster) of every run cut short: by preemption, then by
    failures."""
    n = len(rec.jobs)
    pre = rec.preempted + rec.failed
    p_job = np.array([p[0] for p in pre], np.int64)
    p_start = np.array([p[1] for p in pre], np.float64)
    p_end = np.array([p[2] for p in pre], np.float64)
    p_cluster = np.array([p[3] for p in pre], np.int64)
    bad = (p_job < 0) | (p_job >= n) | (p_cluster < 0) | (p_cluster >= len(rec.fleet.clusters))
    bad |= ~np.isfinite(p_start) | ~(p_end >= p_start)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvariantError(
            f"RunRecord.preempted[{k}] = {pre[k]}: expected (job index, start <= end, cluster)"
        )
    return p_job, p_start, p_end, p_cluster


def record_segments(rec: RunRecord, size: int | None = None) -> Iterator[Segments]:
    """Every segment of a run record, in order, in chunks: each started job's last run (in
    job order, `size` rows of jobs a chunk, SLICE_ROWS by default), then the runs cut short
    by preemption and by failures (one chunk), which are checked before the first chunk."""
    cut = _cut_runs(rec)
    jobs = rec.jobs
    n = len(jobs)
    # tenants and groups as codes into their sorted names (so codes order like names)
    tenants = tuple(sorted(jobs.tenant.words))
    tenant_of = _sorted_codes(jobs.tenant.words)
    acc = jobs.accounts()  # a job without a group is accounted to its tenant, as in metrics
    groups = tuple(sorted(acc.names))
    group_of = _sorted_codes(acc.names)
    places, of_cluster = fleet_places(rec.fleet)
    start = np.frombuffer(rec.start, np.float64) if n else np.zeros(0)
    end = np.frombuffer(rec.end, np.float64) if n else np.zeros(0)
    cluster = np.frombuffer(rec.cluster, np.int32) if n else np.zeros(0, np.int32)
    gpus = np.frombuffer(jobs.gpus, np.int32) if n else np.zeros(0, np.int32)
    tenant = jobs.tenant.code_array()
    last = record_end(rec)  # where a job still running is cut

    def chunk(job: np.ndarray, s: np.ndarray, e: np.ndarray, c: np.ndarray) -> Segments:
        return Segments(
            tenant=tenant_of[tenant[job]],
            group=group_of[acc.codes(jobs, job)],
            place=of_cluster[c],
            gpus=gpus[job].astype(np.float64),
            start=s,
            end=e,
            tenants=tenants,
            groups=groups,
            places=places,
        )

    for rows in row_slices(n, size):
        ran = np.flatnonzero(~np.isnan(start[rows])) + rows.start
        e = end[ran]
        yield chunk(ran, start[ran], np.where(np.isnan(e), last, e), cluster[ran])
    yield chunk(*cut)


def _sorted_codes(words: list[str]) -> np.ndarray:
    """Each word's index in the sorted words."""
    remap = np.empty(len(words), np.int64)
    remap[sorted(range(len(words)), key=lambda i: words[i])] = np.arange(len(words))
    return remap


def table_segments(jobs: pa.Table, fleet: Fleet, where: str) -> Segments:
    """Segments of a jobs.parquet table (runs written before ledger.parquet existed).

    Such a table holds each job's last run only; a job without an end ran until the latest
    time the table holds. `where` names the file in errors.
    """
    ran = pc.is_valid(jobs["start"])
    jobs = jobs.filter(ran)
    start = np.asarray(jobs["start"].to_numpy(zero_copy_only=False), np.float64)
    end = np.asarray(pc.fill_null(jobs["end"], math.nan).to_numpy(zero_copy_only=False))
    last = float(np.nanmax(np.concatenate([start, end]), initial=0.0))
    end = np.where(np.isnan(end), last, end)
    places, _ = fleet_places(fleet)
    index = {(p.site, p.gpu_model): i for i, p in enumerate(places)}
    keys = pc.binary_join_element_wise(jobs["site"], jobs["gpu_model"], "\x1f")
    names, code = encode(keys)
    remap = []
    for name in names:
        site, _, model = name.partition("\x1f")
        if (site, model) not in index:
            raise ConfigError(f"{where}: jobs ran on ({site}, {model}), which the fleet lacks")
        remap.append(index[(site, model)])
    group_col = pc.if_else(
        pc.fill_null(pc.equal(jobs["group"], ""), True), jobs["tenant"], jobs["group"]
    )
    tenants, tenant = encode(jobs["tenant"])
    groups, group = encode(group_col)
    return Segments(
        tenant=tenant,
        group=group,
        place=np.array(remap, np.int64)[code] if remap else code,
        gpus=np.asarray(jobs["gpus"].to_numpy(zero_copy_only=False), np.float64),
        start=start,
        end=end,
        tenants=tenants,
        groups=groups,
        places=places,
    )
