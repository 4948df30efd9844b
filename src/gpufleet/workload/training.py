"""Pollux workload rows as training jobs: which application, how many GPUs, which batch size.

The trace reader (`traces.pollux`) turns these files into `Job`s with a given run time and
drops the application and batch size; a throughput replay needs exactly those two, because
the run time follows from them and from the placement (gpufleet.workload.throughput).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gpufleet.errors import TraceError
from gpufleet.workload.profiles import AppProfile

COLUMNS = ("name", "time", "application", "num_replicas", "batch_size")


@dataclass(frozen=True, slots=True)
class TrainingJob:
    """One workload row; `id` is its 0-based position among the data rows."""

    id: int
    name: str
    submit: float
    application: str
    gpus: int
    batch_size: int


def read_training_jobs(path: Path, profiles: Mapping[str, AppProfile]) -> list[TrainingJob]:
    """Every row of a Pollux `workload-N.csv`; each application must have a profile."""
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise TraceError(
                    f"{path}: header, column {missing[0]!r}: missing required column "
                    f"(a Pollux workload needs {', '.join(COLUMNS)})"
                )
            jobs = [_row(path, reader.line_num, i, r, profiles) for i, r in enumerate(reader)]
    except OSError as e:
        raise TraceError(f"{path}: cannot read ({e.strerror})") from e
    return jobs


def _row(
    path: Path, line: int, i: int, r: Mapping[str, str], profiles: Mapping[str, AppProfile]
) -> TrainingJob:
    def whole(col: str, least: int) -> int:
        try:
            v = float(r[col])
        except (TypeError, ValueError):
            v = float("nan")
        if not (v >= least and v.is_integer()):
            raise TraceError(
                f"{path}: line {line}, column {col!r}: expected a whole number >= {least}, "
                f"got {r[col]!r}"
            )
        return int(v)

    app = r["application"]
    if app not in profiles:
        raise TraceError(
            f"{path}: line {line}, column 'application': expected one of "
            f"{', '.join(sorted(profiles))} (the profiled applications), got {app!r}"
        )
    return TrainingJob(
        id=i,
        name=r["name"],
        submit=float(whole("time", 0)),
        application=app,
        gpus=whole("num_replicas", 1),
        batch_size=whole("batch_size", 1),
    )
