"""Readers of public GPU-cluster traces, chosen by name from one table (docs/traces.md).

    FORMATS                              name -> reader(path, **options) -> TraceRead
    read_trace(fmt, path, **options)     -> list[Job], sorted by (submit, id), first submit 0
    load_trace(fmt, path, **options)     -> TraceRead: the jobs and an account of every row
    guess_format(path)                   -> a format name from the file's name and header
    load_any(path, fmt=None)             -> TraceRead, also for gpufleet's own job files

Options a reader may take: `ref_model` (all), `fractional` ("round-up" | "skip"; openb, pai),
`durations` (seconds or name -> seconds; pollux workloads, openb), `job_table` (pai).
An unknown format or an option the format does not take is a ConfigError naming the choices.
"""

from __future__ import annotations

import csv
import inspect
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.job import Job
from gpufleet.workload.traces import acme, helios, openb, pai, philly, pollux, sacct, tiresias
from gpufleet.workload.traces.frame import TraceRead
from gpufleet.workload.units import parse_duration

__all__ = [
    "FORMATS",
    "SUMMARIES",
    "TraceRead",
    "durations_option",
    "guess_format",
    "load_any",
    "load_trace",
    "read_trace",
]

Reader = Callable[..., TraceRead]

FORMATS: dict[str, Reader] = {
    "openb": openb.read,
    "pollux": pollux.read,
    "tiresias": tiresias.read,
    "helios": helios.read,
    "acme": acme.read,
    "philly": philly.read,
    "pai": pai.read,
    "sacct": sacct.read,
}
SUMMARIES: dict[str, str] = {
    "openb": "Alibaba GPU 2023 pod list CSV (FGD, ATC'23)",
    "pollux": "Pollux OSDI'21 workload CSV, or its Philly-derived job table",
    "tiresias": "Tiresias NSDI'19 job CSV",
    "helios": "SenseTime Helios cluster_log.csv (SC'21)",
    "acme": "Shanghai AI Lab Acme trace_seren.csv / trace_kalos.csv (NSDI'24)",
    "philly": "Microsoft Philly cluster_job_log JSON (ATC'19)",
    "pai": "Alibaba PAI 2020 pai_task_table (+ pai_job_table beside it)",
    "sacct": "Slurm `sacct --parsable2` export with a header line",
}
JOBS = "jobs"  # gpufleet's own job files (workload.store): .parquet, or CSV with its columns


def load_trace(fmt: str, path: str | PathLike[str], **options: Any) -> TraceRead:
    """Read `path` with format `fmt`; options left as None are not passed."""
    reader = FORMATS.get(fmt)
    if reader is None:
        raise ConfigError(f"unknown trace format {fmt!r}; expected one of {', '.join(FORMATS)}")
    accepted = [
        p.name
        for p in inspect.signature(reader).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    given = {k: v for k, v in options.items() if v is not None}
    for name in given:
        if name not in accepted:
            raise ConfigError(
                f"option {name!r} does not apply to the {fmt} format "
                f"(it takes: {', '.join(accepted) or 'no options'})"
            )
    return reader(Path(path), **given)


def read_trace(fmt: str, path: str | PathLike[str], **options: Any) -> list[Job]:
    """The jobs of trace `path` in format `fmt`, sorted by (submit, id), first submit at 0."""
    return load_trace(fmt, path, **options).jobs


def load_any(path: str | PathLike[str], fmt: str | None = None, **options: Any) -> TraceRead:
    """A trace in `fmt` (guessed when None), or a gpufleet job file (.parquet or its CSV)."""
    p = Path(path)
    fmt = fmt or guess_format(p)
    if fmt is None:
        raise TraceError(
            f"{p}: cannot tell the trace format from the file name and header; "
            f"pass --format (one of {', '.join(FORMATS)})"
        )
    if fmt != JOBS:
        return load_trace(fmt, p, **options)
    from gpufleet.workload import store

    jobs = store.read_parquet(p) if p.suffix == ".parquet" else store.read_csv(p)
    return TraceRead(JOBS, p, jobs, len(jobs), {}, {}, 0.0)


def guess_format(path: Path) -> str | None:
    """The format `path` looks like, from its name and first line; None if unsure."""
    if path.is_dir():
        return "pai" if (path / pai.TASK_FILE).is_file() else None
    if path.suffix == ".parquet":
        return JOBS
    if path.suffix in (".json", ".jsonl"):
        return "philly"
    if path.name.startswith("pai_task_table"):
        return "pai"
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline()
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TraceError(f"{path}: cannot read file: {e}") from None
    if "|" in first and "JobID" in first:
        return "sacct"
    header = {h.strip() for h in next(csv.reader([first]), [])}
    rules: list[tuple[str, set[str]]] = [
        (JOBS, {"id", "submit", "gpus", "runtime"}),
        ("openb", {"num_gpu", "gpu_milli"}),
        ("pollux", {"num_replicas"}),
        ("pollux", {"timestamp", "num_gpus"}),
        ("tiresias", {"num_gpu", "submit_time", "duration"}),
        ("helios", {"gpu_num", "vc"}),
        ("acme", {"gpu_num", "type"}),
    ]
    return next((fmt for fmt, needs in rules if needs <= header), None)


def durations_option(text: str) -> float | dict[str, float]:
    """Parse a `durations` option: a duration ("3600", "90m", "2h") for every job, or a CSV
    file whose first column is a job name or application and second a duration."""
    p = Path(text)
    if not p.is_file():
        try:
            return parse_duration(text)
        except ValueError as e:
            raise ConfigError(f"durations: {e}; or give a CSV file of name,duration") from None
    out: dict[str, float] = {}
    try:
        with p.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise TraceError(f"{p}: cannot read file: {e}") from None
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise TraceError(f"{p}: line {line}: expected name,duration, got {','.join(row)!r}")
        try:
            out[row[0].strip()] = parse_duration(row[1])
        except ValueError as e:
            raise TraceError(f"{p}: line {line}, column 2: {e}") from None
    return out
