"""Read a run directory written by `write_run` into the arrays a report needs, and its fleet.

Bad input (no such directory, a missing or unreadable file, a fleet that no longer matches the
run) raises ConfigError naming the file and what is expected. What older runs lack (the waiting
reasons in queue.parquet, ledger.parquet) comes back as None, so their report omits it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gpufleet.errors import ConfigError, GpufleetError
from gpufleet.fleet.loader import load_fleet
from gpufleet.fleet.model import Fleet
from gpufleet.scheduler.why import CODES

_JOB_COLUMNS = ("tenant", "group", "gpus", "submit", "start", "end", "state", "site", "gpu_model")
_RAN = ("completed", "timeout")
# Ledger columns the report sums per tenant group (docs/accounting.md).
LEDGER_SUMS = ("gpu_seconds", "cost_market_krw", "cost_charged_krw", "energy_kwh", "co2_kg")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """How the run was made (run.json); older runs without it get what metrics.json knows."""

    scenario: str
    policy: str
    placement: str
    seed: int | None
    workload: str
    days: float
    version: str


@dataclass(frozen=True, slots=True, eq=False)
class RunDir:
    """One run's files as arrays: jobs (one entry per job) and the sampled time series."""

    path: Path
    info: RunInfo
    metrics: dict[str, Any]
    fleet: Fleet
    # jobs
    groups: tuple[str, ...]  # group names; `group` holds indices into it
    group: np.ndarray
    gpus: np.ndarray
    submit: np.ndarray
    start: np.ndarray  # NaN: never started
    end: np.ndarray
    ran: np.ndarray  # completed or timed out
    place: np.ndarray  # index into `keys` of where the job ran; -1: it never started
    # samples
    sample_time: np.ndarray  # (T,)
    keys: tuple[tuple[str, str], ...]  # (site, GPU model): columns of busy, values of place
    key_gpus: np.ndarray  # (K,)
    busy: np.ndarray  # (T, K) busy GPUs
    queue_time: np.ndarray
    pending: np.ndarray
    running: np.ndarray
    # waiting jobs per reason code (columns in CODES order) and free GPUs no waiting job could
    # use, at the queue samples; None for runs written before queue.parquet had them
    waiting: np.ndarray | None = None
    unusable: np.ndarray | None = None
    # ledger.parquet summed per tenant group: {group: {column in LEDGER_SUMS: total}}; None
    # for runs written before the ledger
    ledger: dict[str, dict[str, float]] | None = None


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"{path}: missing; expected a run directory written by --out")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_need(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def _read_parquet(path: Path, columns: tuple[str, ...]) -> pa.Table:
    try:
        return pq.read_table(_need(path), columns=list(columns))
    except (OSError, pa.ArrowException) as e:
        raise ConfigError(f"{path}: cannot read Parquet file: {e}") from None


def _floats(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _codes(col: pa.ChunkedArray) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct strings (sorted) and each row's index into them; nulls get -1."""
    enc = pc.dictionary_encode(col.combine_chunks())
    names = enc.dictionary.to_pylist()
    order = sorted(range(len(names)), key=lambda i: names[i])
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    idx = enc.indices.to_numpy(zero_copy_only=False)
    idx = np.where(np.isnan(idx.astype(np.float64)), -1, idx).astype(np.int64)
    codes = np.where(idx >= 0, remap[np.maximum(idx, 0)], -1) if len(names) else idx
    return tuple(names[i] for i in order), codes


def _info(path: Path, metrics: dict[str, Any]) -> RunInfo:
    run_json = path / "run.json"
    if run_json.exists():
        raw = _read_json(run_json)
    else:  # runs written before run.json: the built-in scenario name is all we know
        raw = {"scenario": metrics.get("scenario"), "workload": "unknown", "version": "unknown"}
    try:
        return RunInfo(
            scenario=str(raw["scenario"]),
            policy=str(raw.get("policy", metrics.get("policy", ""))),
            placement=str(raw.get("placement", metrics.get("placement", ""))),
            seed=raw.get("seed", metrics.get("seed")),
            workload=str(raw.get("workload", "unknown")),
            days=float(raw.get("days", metrics.get("window_days", 0.0))),
            version=str(raw.get("version", "unknown")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{run_json}: expected scenario, policy, seed, days: {e}") from None


def _fleet(path: Path, info: RunInfo, metrics: dict[str, Any]) -> Fleet:
    try:
        fleet = load_fleet(info.scenario)
    except GpufleetError as e:
        raise ConfigError(f"{path}: cannot load the run's scenario: {e}") from None
    if metrics.get("fleet_gpus") not in (None, fleet.total_gpus):
        raise ConfigError(
            f"{path}: scenario {info.scenario!r} now has {fleet.total_gpus:,} GPUs but the run "
            f"had {metrics['fleet_gpus']:,}; the report needs the fleet the run used"
        )
    return fleet


def read_run_dir(path: Path) -> RunDir:
    """Read RUN_DIR's metrics, run.json, jobs and samples, and load its fleet."""
    if not path.is_dir():
        raise ConfigError(f"{path}: not a run directory (write one with `simulate --out DIR`)")
    metrics = _read_json(path / "metrics.json")
    info = _info(path, metrics)
    fleet = _fleet(path, info, metrics)
    jobs = _read_parquet(path / "jobs.parquet", _JOB_COLUMNS)
    group_col = pc.if_else(
        pc.fill_null(pc.equal(jobs["group"], ""), True), jobs["tenant"], jobs["group"]
    )
    groups, group = _codes(group_col)
    util = _read_parquet(
        path / "utilization.parquet", ("time", "site", "gpu_model", "busy_gpus", "total_gpus")
    )
    queue = _read_queue(path / "queue.parquet")
    sample_time, keys, key_gpus, busy = _samples(path, util)
    place_names, place = _codes(
        pc.binary_join_element_wise(jobs["site"], jobs["gpu_model"], "\x1f")
    )
    index = {k: i for i, k in enumerate(keys)}
    unknown = [k for k in map(_split_key, place_names) if k not in index]
    if unknown:
        raise ConfigError(
            f"{path / 'jobs.parquet'}: jobs ran on {unknown[0]} (site, GPU model), which "
            "utilization.parquet does not list"
        )
    remap = np.array([index[_split_key(k)] for k in place_names] + [-1], dtype=np.int64)
    return RunDir(
        path=path,
        info=info,
        metrics=metrics,
        fleet=fleet,
        groups=groups,
        group=group,
        gpus=_floats(jobs["gpus"]),
        submit=_floats(jobs["submit"]),
        start=_floats(jobs["start"]),
        end=_floats(jobs["end"]),
        ran=np.isin(jobs["state"].to_numpy(zero_copy_only=False), _RAN),
        place=remap[place],  # -1 (never started) picks the trailing -1
        sample_time=sample_time,
        keys=keys,
        key_gpus=key_gpus,
        busy=busy,
        queue_time=_floats(queue["time"]),
        pending=_floats(queue["pending_jobs"]),
        running=_floats(queue["running_jobs"]),
        waiting=_waiting(queue),
        unusable=_floats(queue["unusable_free_gpus"]) if _has_reasons(queue) else None,
        ledger=_ledger(path / "ledger.parquet"),
    )


_REASONS = tuple(f"waiting_{c}" for c in CODES)


def _has_reasons(queue: pa.Table) -> bool:
    return all(c in queue.column_names for c in (*_REASONS, "unusable_free_gpus"))


def _read_queue(path: Path) -> pa.Table:
    """queue.parquet with the waiting reasons and unusable free GPUs when the run wrote them."""
    try:
        names = pq.read_schema(_need(path)).names
    except (OSError, pa.ArrowException) as e:
        raise ConfigError(f"{path}: cannot read Parquet file: {e}") from None
    extra = (*_REASONS, "unusable_free_gpus")
    wanted = ("time", "pending_jobs", "running_jobs")
    return _read_parquet(path, wanted + (extra if all(c in names for c in extra) else ()))


def _waiting(queue: pa.Table) -> np.ndarray | None:
    if not _has_reasons(queue):
        return None
    return np.column_stack([_floats(queue[c]) for c in _REASONS]).reshape(-1, len(_REASONS))


def _ledger(path: Path) -> dict[str, dict[str, float]] | None:
    """ledger.parquet summed per tenant group; None when the run has no ledger."""
    if not path.is_file():
        return None
    table = _read_parquet(path, ("group", *LEDGER_SUMS))
    sums = table.group_by("group").aggregate([(c, "sum") for c in LEDGER_SUMS]).to_pydict()
    return {
        str(g): {c: float(sums[f"{c}_sum"][i]) for c in LEDGER_SUMS}
        for i, g in enumerate(sums["group"])
    }


def _split_key(joined: str) -> tuple[str, str]:
    site, _, model = joined.partition("\x1f")
    return site, model


def _samples(
    path: Path, util: pa.Table
) -> tuple[np.ndarray, tuple[tuple[str, str], ...], np.ndarray, np.ndarray]:
    """The long utilization table as (times, keys, GPUs per key, busy matrix times x keys)."""
    joined = pc.binary_join_element_wise(util["site"], util["gpu_model"], "\x1f")
    names, key = _codes(joined)
    times, row = np.unique(_floats(util["time"]), return_inverse=True)
    if not names or (key < 0).any() or times.size * len(names) != util.num_rows:
        raise ConfigError(
            f"{path / 'utilization.parquet'}: expected one row per (time, site, GPU model)"
        )
    busy = np.zeros((times.size, len(names)))
    busy[row, key] = _floats(util["busy_gpus"])
    totals = np.zeros(len(names))
    totals[key] = _floats(util["total_gpus"])
    return times, tuple(_split_key(k) for k in names), totals, busy
