"""Read the Pollux (OSDI'21) artifact's per-application profiles into immutable values.

`traces/<application>/` of the artifact holds what a throughput model needs and no run time:

- `placements.csv`: placement (a digit string, GPUs per node, e.g. `24` = 2 GPUs on one node
  and 4 on another), local_bsz, step_time, sync_time (seconds) for placements of 1-4 nodes;
- `scalability.csv`: num_nodes, num_replicas, local_bsz, step_time, sync_time for 6-16 nodes;
- `validation-<batch size>.csv`: one row per epoch, with the training progress reached at its
  end (`progress`) and the gradient statistics during it (`grad_sqr`, `grad_var`).

Bad files raise TraceError naming the file, the line and the column, like the trace readers.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gpufleet.errors import TraceError

Placement = tuple[int, ...]
# (local batch sizes ascending, step times, sync times)
Curve = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class AppSettings:
    """Per-application constants the artifact sets in code, not in the data."""

    max_epochs: int
    max_local_bsz: int | None = None  # None: the largest profiled local batch size


# The artifact's simulator/applications.py (petuum/adaptdl, branch osdi21-artifact): epochs
# to train each application, and the one local batch-size cap it overrides (yolov3: 8).
APP_SETTINGS: Mapping[str, AppSettings] = {
    "bert": AppSettings(max_epochs=2),
    "cifar10": AppSettings(max_epochs=100),
    "ncf": AppSettings(max_epochs=10),
    "imagenet": AppSettings(max_epochs=90),
    "deepspeech2": AppSettings(max_epochs=80),
    "yolov3": AppSettings(max_epochs=50, max_local_bsz=8),
}


@dataclass(frozen=True, slots=True)
class Validation:
    """One validated batch size: per-epoch progress at the epoch's end and gradient stats."""

    batch_size: int
    progress: tuple[float, ...]
    grad_sqr: tuple[float, ...]
    grad_var: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AppProfile:
    """Everything measured about one application, as read from its folder."""

    name: str
    # canonical placement (smallest rotation) -> step/sync curve over local batch size
    placements: Mapping[Placement, Curve]
    # (nodes, replicas) -> curve: means of `placements` by shape, plus scalability.csv rows
    shapes: Mapping[tuple[int, int], Curve]
    validations: tuple[Validation, ...]  # ascending batch size
    init_batch_size: int
    max_batch_size: int
    min_local_bsz: float
    max_local_bsz: float
    max_epochs: int

    def epoch_end(self, epoch: int) -> float:
        """Progress at the end of `epoch` (0-based): the least any batch size needed for it."""
        return min(v.progress[epoch] for v in self.validations)


def canonical(placement: Placement) -> Placement:
    """The smallest rotation of a placement without empty nodes: the artifact's profile key."""
    p = tuple(n for n in placement if n)
    return min((p[i:] + p[:i] for i in range(len(p))), default=())


def load_profile(folder: Path, name: str | None = None) -> AppProfile:
    """Read one application's folder (`traces/cifar10/`, ...)."""
    name = name or folder.name
    if not folder.is_dir():
        raise TraceError(f"{folder}: not a folder of Pollux profile files")
    settings = APP_SETTINGS.get(name, AppSettings(max_epochs=0))
    path = folder / "placements.csv"
    rows = _read(path, ("placement", "local_bsz", "step_time", "sync_time"))
    by_place: dict[Placement, list[tuple[float, float, float]]] = defaultdict(list)
    by_shape: dict[tuple[int, int, float], list[tuple[float, float]]] = defaultdict(list)
    for line, r in rows:
        text = r["placement"]
        if not re.fullmatch(r"[1-9]+", text):
            raise _bad(path, line, "placement", "GPUs per node as digits 1-9 (e.g. 24)", text)
        place = tuple(int(c) for c in text)
        b, s, y = (_num(path, line, r, c) for c in ("local_bsz", "step_time", "sync_time"))
        by_place[canonical(place)].append((b, s, y))
        by_shape[(len(place), sum(place), b)].append((s, y))
    shapes: dict[tuple[int, int], list[tuple[float, float, float]]] = defaultdict(list)
    for (nodes, reps, b), ys in by_shape.items():
        n = len(ys)
        shapes[(nodes, reps)].append((b, sum(s for s, _ in ys) / n, sum(y for _, y in ys) / n))
    cols = ("num_nodes", "num_replicas", "local_bsz", "step_time", "sync_time")
    spath = folder / "scalability.csv"
    for line, r in _read(spath, cols):
        n_f, r_f, b, s, y = (_num(spath, line, r, c) for c in cols)
        if n_f < 1 or r_f < n_f or n_f % 1 or r_f % 1:
            raise _bad(spath, line, "num_replicas", "whole numbers, replicas >= nodes >= 1", r_f)
        shapes[(int(n_f), int(r_f))].append((b, s, y))
    validations = _validations(folder)
    min_rows = min(len(v.progress) for v in validations)
    max_epochs = settings.max_epochs or min_rows
    if max_epochs > min_rows:
        raise TraceError(
            f"{folder}: validation files have {min_rows} epochs, the application needs {max_epochs}"
        )
    bszs = [b for pts in by_place.values() for b, _, _ in pts]
    return AppProfile(
        name=name,
        placements={p: _curve(pts, folder / "placements.csv") for p, pts in by_place.items()},
        shapes={k: _curve(pts, folder / "scalability.csv") for k, pts in shapes.items()},
        validations=validations,
        init_batch_size=validations[0].batch_size,
        max_batch_size=validations[-1].batch_size,
        min_local_bsz=min(bszs),
        max_local_bsz=float(settings.max_local_bsz or max(bszs)),
        max_epochs=max_epochs,
    )


def load_profiles(traces: Path) -> dict[str, AppProfile]:
    """Every application folder under the artifact's `traces/` (those with placements.csv)."""
    if not traces.is_dir():
        raise TraceError(f"{traces}: not a folder of Pollux application profiles")
    apps = sorted(p for p in traces.iterdir() if (p / "placements.csv").is_file())
    if not apps:
        raise TraceError(f"{traces}: no application folder with a placements.csv")
    return {p.name: load_profile(p) for p in apps}


def _validations(folder: Path) -> tuple[Validation, ...]:
    found: list[Validation] = []
    for path in sorted(folder.glob("validation-*.csv")):
        m = re.fullmatch(r"validation-(\d+)\.csv", path.name)
        if m is None or int(m.group(1)) < 1:
            raise TraceError(f"{path}: expected a name validation-<batch size>.csv")
        rows = _read(path, ("progress", "grad_sqr", "grad_var"))
        if not rows:
            raise TraceError(f"{path}: no epochs (no data rows)")
        found.append(
            Validation(
                batch_size=int(m.group(1)),
                progress=tuple(_num(path, n, r, "progress") for n, r in rows),
                grad_sqr=tuple(_num(path, n, r, "grad_sqr") for n, r in rows),
                grad_var=tuple(_num(path, n, r, "grad_var") for n, r in rows),
            )
        )
    if not found:
        raise TraceError(f"{folder}: no validation-<batch size>.csv file")
    return tuple(sorted(found, key=lambda v: v.batch_size))


def _curve(points: list[tuple[float, float, float]], path: Path) -> Curve:
    points.sort()
    bs = tuple(p[0] for p in points)
    if len(set(bs)) != len(bs):
        raise TraceError(f"{path}: a local_bsz appears twice for one placement")
    return bs, tuple(p[1] for p in points), tuple(p[2] for p in points)


def _read(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, text of `columns`) per data row; line 1 is the header, blank lines skipped."""
    try:
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise TraceError(f"{path}: empty file, expected a header")
            missing = [c for c in columns if c not in header]
            if missing:
                raise TraceError(
                    f"{path}: header, column {missing[0]!r}: missing required column "
                    f"(found {', '.join(header)})"
                )
            idx = {c: header.index(c) for c in columns}
            return [
                (reader.line_num, {c: row[i] if i < len(row) else "" for c, i in idx.items()})
                for row in reader
                if row
            ]
    except OSError as e:
        raise TraceError(f"{path}: cannot read ({e.strerror})") from e


def _num(path: Path, line: int, row: Mapping[str, str], column: str) -> float:
    """The cell as a finite number >= 0, else a TraceError naming file, line and column."""
    cell = row[column]
    try:
        v = float(cell)
    except ValueError:
        raise _bad(path, line, column, "a number", cell) from None
    if not math.isfinite(v) or v < 0:
        raise _bad(path, line, column, "a finite number >= 0", cell)
    return v


def _bad(path: Path, line: int, column: str, expected: str, got: object) -> TraceError:
    return TraceError(f"{path}: line {line}, column {column!r}: expected {expected}, got {got!r}")
