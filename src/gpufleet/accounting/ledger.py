"""The accounting ledger: GPU-seconds, cost, energy and CO2 by tenant, group, site, model, day.

Each segment (a run of a job on one cluster) is cut at UTC day boundaries, day 0 starting at
t = 0, and its pieces are summed per (tenant, group, site, GPU model, day), all in numpy.
Per row, with h = gpu_seconds / 3600:

    cost_market_krw  = h x market KRW per GPU-hour of the model       (prices.py)
    cost_charged_krw = cost_market_krw x co-pay of the tenant group   (prices.py, [S29])
    energy_kwh       = h x TDP kW x JOB_POWER_SHARE x site PUE
    co2_kg           = energy_kwh x grid emission factor              (report/energy.py, [S109])

Only the GPUs a job holds are charged energy: idle GPUs belong to no tenant (the report's
fleet energy counts them), and host CPUs and switches are left out, as in the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpufleet.accounting.prices import PriceTable
from gpufleet.accounting.segments import Segments, record_segments
from gpufleet.engine.record import RunRecord
from gpufleet.errors import InvariantError
from gpufleet.fleet.model import Fleet
from gpufleet.report.energy import TCO2E_PER_MWH

DAY_SECONDS = 86400.0
# A GPU running a job draws this share of its TDP on average [A]. Large training jobs sit near
# TDP, while data loading, checkpoints, communication waits and small evaluation jobs pull the
# mean down; no source gives a fleet-wide figure. It lies between report/energy.py's IDLE_SHARE
# (0.2 [A]) and 1, the report's busy-GPU draw (an upper bound).
JOB_POWER_SHARE = 0.8
# t CO2e per MWh is kg CO2e per kWh [D].
KG_CO2_PER_KWH = TCO2E_PER_MWH

KEYS = ("tenant", "group", "site", "gpu_model", "day")
SUMS = ("jobs", "gpu_seconds", "cost_market_krw", "cost_charged_krw", "energy_kwh", "co2_kg")
SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("group", pa.string()),
        ("site", pa.string()),
        ("gpu_model", pa.string()),
        ("day", pa.int32()),
        ("jobs", pa.int64()),
        ("gpu_seconds", pa.float64()),
        ("cost_market_krw", pa.float64()),
        ("cost_charged_krw", pa.float64()),
        ("energy_kwh", pa.float64()),
        ("co2_kg", pa.float64()),
    ]
)


def split_days(
    start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut intervals [start, end) at day boundaries.

    Returns, per piece: the interval it came from, its day, its seconds, and whether it is the
    interval's first piece. A zero-length interval gives one piece of 0 s on its start day.
    """
    first = np.floor(start / DAY_SECONDS).astype(np.int64)
    last = np.ceil(end / DAY_SECONDS).astype(np.int64) - 1  # day holding the end (exclusive)
    n = np.maximum(last - first + 1, 1)
    owner = np.repeat(np.arange(start.size), n)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(n) - n, n)
    day = first[owner] + offset
    lo = np.maximum(start[owner], day * DAY_SECONDS)
    hi = np.minimum(end[owner], (day + 1) * DAY_SECONDS)
    return owner, day, np.maximum(hi - lo, 0.0), offset == 0


def build_ledger(seg: Segments | Iterable[Segments], prices: PriceTable) -> pa.Table:
    """The ledger of `seg` (or of its chunks, which share their name tuples): one row per
    (tenant, group, site, GPU model, day) with GPU time.

    `jobs` counts the segments that start on the row's day: a job crossing midnight counts
    once, on its first day; a job preempted and re-queued counts once per run. Each row's
    GPU-seconds are added in segment order, chunk after chunk, as one pass would add them.
    """
    chunks = [seg] if isinstance(seg, Segments) else seg
    sums = _Sums()
    named: Segments | None = None  # any chunk: they all carry the same names
    for named in chunks:
        if len(named):
            sums.add(named)
    if named is None or sums.rows.size == 0:
        return SCHEMA.empty_table()
    seg = named
    rows, gpu_seconds, jobs = sums.rows, sums.gpu_seconds, sums.jobs
    tenant, group, place, day_of = np.unravel_index(rows, sums.dims(seg))
    tdp_kw = np.array([p.tdp_w / 1000.0 for p in seg.places])[place]
    pue = np.array([p.pue for p in seg.places])[place]
    energy_kwh = gpu_seconds / 3600.0 * tdp_kw * JOB_POWER_SHARE * pue
    table = pa.table(
        {
            "tenant": _names(seg.tenants, tenant),
            "group": _names(seg.groups, group),
            "site": _names(tuple(p.site for p in seg.places), place),
            "gpu_model": _names(tuple(p.gpu_model for p in seg.places), place),
            "day": pa.array(day_of - DAY_OFFSET, pa.int32()),
            "jobs": pa.array(jobs, pa.int64()),
            "gpu_seconds": pa.array(gpu_seconds, pa.float64()),
            "cost_market_krw": pa.array(np.zeros(rows.size), pa.float64()),
            "cost_charged_krw": pa.array(np.zeros(rows.size), pa.float64()),
            "energy_kwh": pa.array(energy_kwh, pa.float64()),
            "co2_kg": pa.array(energy_kwh * KG_CO2_PER_KWH, pa.float64()),
        }
    )
    return price_ledger(table, prices)


# Days are keyed from this offset, so that a key orders rows by (tenant, group, place, day)
# without knowing the run's first and last days before the first chunk: 2^20 days (~2,900
# years) either side of t = 0, and keys fit in int64 up to 2^42 (tenant, group, place)s.
DAY_OFFSET = 1 << 20


class _Sums:
    """Ledger rows met so far (sorted keys) with their GPU-seconds and segment counts."""

    def __init__(self) -> None:
        self.rows = np.zeros(0, np.int64)
        self.gpu_seconds = np.zeros(0)
        self.jobs = np.zeros(0, np.int64)

    @staticmethod
    def dims(seg: Segments) -> tuple[int, int, int, int]:
        return (len(seg.tenants), len(seg.groups), len(seg.places), 2 * DAY_OFFSET)

    def add(self, seg: Segments) -> None:
        owner, day, seconds, first = split_days(seg.start, seg.end)
        if day.min() < -DAY_OFFSET or day.max() >= DAY_OFFSET:
            raise InvariantError(f"ledger: days {day.min()}..{day.max()} out of range")
        key = np.ravel_multi_index(
            (seg.tenant[owner], seg.group[owner], seg.place[owner], day + DAY_OFFSET),
            self.dims(seg),
        )
        keys, inverse = np.unique(key, return_inverse=True)
        at = np.searchsorted(self.rows, keys)
        known = self.rows[np.minimum(at, self.rows.size - 1)] == keys if self.rows.size else at < 0
        if not known.all():  # new rows, moved in among the old in key order with their sums
            rows = np.sort(np.concatenate([self.rows, keys[~known]]), kind="stable")
            old = np.searchsorted(rows, self.rows)
            gpu_seconds, jobs = np.zeros(rows.size), np.zeros(rows.size, np.int64)
            gpu_seconds[old], jobs[old] = self.gpu_seconds, self.jobs
            self.rows, self.gpu_seconds, self.jobs = rows, gpu_seconds, jobs
            at = np.searchsorted(self.rows, keys)
        at = at[inverse]
        # one piece after another, as np.bincount over all the pieces at once would add them
        np.add.at(self.gpu_seconds, at, seconds * seg.gpus[owner])
        np.add.at(self.jobs, at, first.astype(np.int64))


def _names(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, pa.int32()), pa.array(names, pa.string())
    ).cast(pa.string())


def price_ledger(table: pa.Table, prices: PriceTable) -> pa.Table:
    """The ledger with its two cost columns (re)computed from `prices`.

    Cost is linear in GPU-seconds and each row has one model and one group, so a stored ledger
    can be re-priced exactly without the run.
    """
    models, model = _codes(table["gpu_model"])
    groups, group = _codes(table["group"])
    market = np.array([prices.market_krw(m) for m in models], np.float64)[model]
    copay = np.array([prices.copay_of(g) for g in groups], np.float64)[group]
    hours = np.asarray(table["gpu_seconds"].to_numpy(), np.float64) / 3600.0
    cost = hours * market
    table = table.set_column(
        SCHEMA.get_field_index("cost_market_krw"), "cost_market_krw", pa.array(cost)
    )
    return table.set_column(
        SCHEMA.get_field_index("cost_charged_krw"), "cost_charged_krw", pa.array(cost * copay)
    )


def _codes(col: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    enc = pc.dictionary_encode(col.combine_chunks())
    idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return list(enc.dictionary.to_pylist()), idx


def prices_for(fleet: Fleet, prices: PriceTable | None) -> PriceTable:
    """`prices` (or the built-in table) with a derived price for each of the fleet's GPU
    models it lacks (a scenario's own models)."""
    used = {c.gpu_model for c in fleet.clusters}
    return (prices or PriceTable()).with_models(fleet.models[m] for m in sorted(used))


def ledger_of(rec: RunRecord, prices: PriceTable | None = None) -> pa.Table:
    """The ledger of a run record, priced with `prices` or the built-in table."""
    return build_ledger(record_segments(rec), prices_for(rec.fleet, prices))


def rollup(table: pa.Table, by: Sequence[str]) -> pa.Table:
    """Sum the ledger's numbers over the key columns not in `by`, sorted by `by`."""
    if not by:
        sums = {c: [pc.sum(table[c]).as_py() or 0] for c in SUMS}
        return pa.table(sums).cast(pa.schema([SCHEMA.field(c) for c in SUMS]))
    out = table.group_by(list(by), use_threads=False).aggregate([(c, "sum") for c in SUMS])
    out = out.rename_columns([c.removesuffix("_sum") for c in out.column_names])
    return out.select([*by, *SUMS]).sort_by([(k, "ascending") for k in by])
