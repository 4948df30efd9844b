"""Shared machinery of the trace readers: stream text columns, convert them, account for rows.

A reader streams the columns it needs as text, batch by batch (`CsvSource`), converts each
column with one Arrow kernel (`Batch.numbers`, `Batch.seconds`), marks the rows it drops or
adjusts (`Rows`), keeps the canonical columns of the surviving rows, and finally builds `Job`
values sorted by (submit, id) with submit times moved so the first job submits at 0
(`build_jobs`). Per-row Python runs only to pinpoint a bad value for the error message.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from gpufleet.errors import InvariantError, TraceError
from gpufleet.gc_tuning import gc_paused
from gpufleet.workload.columns import python_values
from gpufleet.workload.job import Job
from gpufleet.workload.store import DEFAULT_TENANT

__all__ = [
    "INT32_MAX",
    "Batch",
    "CsvSource",
    "Floats",
    "Mask",
    "Rows",
    "Tally",
    "TraceRead",
    "build_jobs",
    "fail",
]

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
INT32_MAX = 2**31 - 1
_BLOCK_BYTES = 16 << 20  # Arrow block size: 16 MiB of text per batch
_JOB_FIELDS = tuple(f.name for f in fields(Job))
_JOB_DEFAULTS: dict[str, Any] = {"tenant": DEFAULT_TENANT}
for _f in fields(Job):
    if _f.default is not MISSING:
        _JOB_DEFAULTS[_f.name] = _f.default
    elif callable(_f.default_factory):
        _JOB_DEFAULTS[_f.name] = _f.default_factory()


@dataclass(frozen=True, slots=True)
class TraceRead:
    """The jobs read from one trace file, with an account of every record in it.

    Each of the `rows` records became one job or is counted under one reason in `dropped`, so
    `rows == len(jobs) + sum(dropped.values())`. `adjusted` counts jobs changed to fit `Job`
    (a fractional GPU rounded up, an unknown GPU type allowed anywhere), by reason. `origin` is
    the trace's own submit time of the first job (seconds; Unix seconds when the trace has
    dates), subtracted from every submit time so that the first job submits at 0.
    """

    format: str
    path: Path
    jobs: list[Job]
    rows: int
    dropped: Mapping[str, int]
    adjusted: Mapping[str, int]
    origin: float


def fail(path: Path, where: str, column: str, expected: str, got: object) -> TraceError:
    """The one-line error for a bad value: file, row or line, column, what was expected."""
    return TraceError(f"{path}: {where}, column {column!r}: expected {expected}, got {got!r}")


class Tally:
    """Counts by reason: records not turned into jobs, and jobs adjusted to fit `Job`."""

    def __init__(self) -> None:
        self.rows = 0
        self.dropped: dict[str, int] = {}
        self.adjusted: dict[str, int] = {}

    def drop(self, reason: str, count: int) -> None:
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def adjust(self, reason: str, count: int) -> None:
        if count:
            self.adjusted[reason] = self.adjusted.get(reason, 0) + count

    def result(self, fmt: str, path: Path, jobs: list[Job], origin: float) -> TraceRead:
        return TraceRead(fmt, path, jobs, self.rows, self.dropped, self.adjusted, origin)


class Rows:
    """The rows of one batch that survive. A row is counted under the first reason that drops
    it; adjustments are counted in `close`, over the rows still kept then."""

    def __init__(self, n: int, tally: Tally) -> None:
        self.keep: Mask = np.ones(n, dtype=np.bool_)
        self._tally = tally
        self._adjusted: list[tuple[str, Mask]] = []
        tally.rows += n

    def drop(self, reason: str, mask: Mask) -> None:
        self._tally.drop(reason, int(np.count_nonzero(mask & self.keep)))
        self.keep &= ~mask

    def adjust(self, reason: str, mask: Mask) -> None:
        self._adjusted.append((reason, mask))

    def close(self, columns: Mapping[str, Any]) -> pa.Table:
        """Count the adjustments and return the kept rows of `columns` (numpy or Arrow)."""
        for reason, mask in self._adjusted:
            self._tally.adjust(reason, int(np.count_nonzero(mask & self.keep)))
        keep = pa.array(self.keep)
        return pa.table({name: pc.filter(_arrow(col), keep) for name, col in columns.items()})


def _arrow(col: Any) -> Any:
    return pa.array(col) if isinstance(col, np.ndarray) else col


# ---- reading delimited text ----


class CsvSource:
    """A delimited trace file, streamed as text columns in batches of about 16 MiB.

    `names` are the columns of a header-less file (the PAI tables ship without a header): they
    are used unless the first line starts with the first of them. Cells in `null_values` (by
    default only the empty cell) become nulls.
    """

    def __init__(
        self,
        path: Path,
        *,
        delimiter: str = ",",
        quoting: bool = True,
        names: Sequence[str] | None = None,
        null_values: Sequence[str] = ("",),
    ) -> None:
        self.path = path
        self.delimiter = delimiter
        self._quoting = quoting
        self._null_values = list(null_values)
        first = self._first_row()
        if names is not None and (not first or first[0] != names[0]):
            self.header, self.has_header = list(names), False
        else:
            self.header, self.has_header = first, True
        if not self.header:
            raise TraceError(f"{path}: line 1: expected a header line, got an empty file")
        seen: set[str] = set()
        for name in self.header:
            if name in seen:
                raise TraceError(f"{path}: header, column {name!r}: appears twice")
            seen.add(name)

    def _first_row(self) -> list[str]:
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                if self._quoting:
                    row = next(csv.reader(f, delimiter=self.delimiter), [])
                else:
                    row = f.readline().rstrip("\r\n").split(self.delimiter)
        except FileNotFoundError:
            raise TraceError(f"{self.path}: no such file") from None
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise TraceError(f"{self.path}: cannot read file: {e}") from None
        return [h.strip() for h in row] if any(h.strip() for h in row) else []

    def has(self, name: str) -> bool:
        return name in self.header

    def require(self, fmt: str, *names: str) -> None:
        """Raise unless every column in `names` is in the header."""
        for name in names:
            if name not in self.header:
                raise TraceError(
                    f"{self.path}: header, column {name!r}: missing required column "
                    f"(the {fmt} format needs {', '.join(names)}; found {', '.join(self.header)})"
                )

    def batches(self, columns: Iterable[str]) -> Iterator[Batch]:
        """Stream the named columns (those present) as text, one `Batch` at a time."""
        wanted = [c for c in dict.fromkeys(columns) if c in self.header]
        try:
            reader = pv.open_csv(
                self.path,
                read_options=pv.ReadOptions(
                    column_names=self.header,
                    skip_rows=1 if self.has_header else 0,
                    block_size=_BLOCK_BYTES,
                ),
                parse_options=pv.ParseOptions(
                    delimiter=self.delimiter, quote_char='"' if self._quoting else False
                ),
                convert_options=pv.ConvertOptions(
                    include_columns=wanted,
                    column_types={c: pa.string() for c in wanted},
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=self._null_values,
                ),
            )
        except (OSError, pa.ArrowException) as e:
            raise TraceError(f"{self.path}: {self._problem(e)}") from None
        offset = 0
        while True:
            try:
                data = reader.read_next_batch()
            except StopIteration:
                return
            except (OSError, pa.ArrowException) as e:
                raise TraceError(f"{self.path}: {self._problem(e)}") from None
            yield Batch(self, data, offset)
            offset += data.num_rows

    def _problem(self, error: Exception) -> str:
        """Describe a file Arrow rejected, with the first line whose field count is off."""
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                lines: Iterable[list[str]] = (
                    csv.reader(f, delimiter=self.delimiter)
                    if self._quoting
                    else (line.rstrip("\r\n").split(self.delimiter) for line in f)
                )
                for line_no, row in enumerate(lines, start=1):
                    if row and any(row) and len(row) != len(self.header):
                        return (
                            f"line {line_no}: expected {len(self.header)} fields "
                            f"separated by {self.delimiter!r}, got {len(row)}"
                        )
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            return f"cannot read file: {e}"
        return f"malformed file: {str(error).splitlines()[0]}"

    def where(self, row: int) -> str:
        """ "line N" of data row `row` (0-based), skipping blank lines as Arrow does."""
        data = -1
        with self.path.open(encoding="utf-8-sig", newline="") as f:
            for line_no, line in enumerate(f, start=1):
                if (line_no == 1 and self.has_header) or not line.strip("\r\n"):
                    continue
                data += 1
                if data == row:
                    return f"line {line_no}"
        return f"row {row + 1}"


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch of text columns; `offset` is the 0-based data row of its first row."""

    source: CsvSource
    data: pa.RecordBatch
    offset: int

    @property
    def size(self) -> int:
        return int(self.data.num_rows)

    def ids(self) -> npt.NDArray[np.int64]:
        """Each row's 0-based data row in the file: the job id."""
        return np.arange(self.offset, self.offset + self.size, dtype=np.int64)

    def text(self, name: str) -> Any:
        """The column as Arrow strings (nulls for empty cells), or None when absent."""
        if name not in self.data.schema.names:
            return None
        return self.data.column(name)

    def fail(self, row: int, column: str, expected: str, got: object) -> TraceError:
        return fail(self.source.path, self.source.where(self.offset + row), column, expected, got)

    def numbers(
        self,
        name: str,
        expected: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        integral: bool = False,
        nulls: bool = False,
    ) -> Floats:
        """The column as float64 (NaN for empty cells when `nulls`), checked row by row."""
        text = self.text(name)
        try:
            values = pc.cast(text, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = pa.array(self._parse_each(name, text, expected, _number), pa.float64())
        out = values.to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(out)
        if nulls:
            bad &= pc.is_valid(values).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            if minimum is not None:
                bad |= out < minimum
            if maximum is not None:
                bad |= out > maximum
            if integral:
                bad |= np.isfinite(out) & (out != np.floor(out))
        self._raise_first(bad, name, text, expected)
        return np.asarray(out, dtype=np.float64)

    def seconds(self, name: str, expected: str, *, nulls: bool = False) -> Floats:
        """Seconds from numbers or ISO date-times (Unix seconds; a date-time without a zone
        offset is taken as UTC, which keeps differences right). NaN for empty cells."""
        text = self.text(name)
        values = _seconds_kernel(text)
        if values is None:
            values = pa.array(self._parse_each(name, text, expected, _seconds), pa.float64())
        out = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = ~np.isfinite(out)
        if nulls:
            bad &= pc.is_valid(text).to_numpy(zero_copy_only=False)
        self._raise_first(bad, name, text, expected)
        return out

    def _parse_each(self, name: str, text: Any, expected: str, parse: Any) -> list[float | None]:
        out: list[float | None] = []
        for row, s in enumerate(text.to_pylist()):
            if s is None:
                out.append(None)
                continue
            try:
                out.append(parse(s))
            except ValueError:
                raise self.fail(row, name, expected, s) from None
        return out

    def _raise_first(self, bad: Mask, name: str, text: Any, expected: str) -> None:
        if bad.any():
            row = int(np.argmax(bad))
            got = text[row].as_py()
            raise self.fail(row, name, expected, "" if got is None else got)


def _number(s: str) -> float:
    return float(s.strip())


def _seconds(s: str) -> float:
    s = s.strip()
    try:
        return float(s)
    except ValueError:
        pass
    t = datetime.fromisoformat(s)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _seconds_kernel(text: Any) -> Any:
    """Numbers or ISO date-times as float64 seconds, in one Arrow kernel; None if neither fits.

    The first non-empty cell decides which kernel to try: a failing cast costs as much as a
    full one (measured 1.7 s on 3,000,000 date-times), so never try both blindly.
    """
    first = pc.index(pc.is_valid(text), True).as_py()
    numeric = True
    if first >= 0:
        try:
            float(text[first].as_py())
        except ValueError:
            numeric = False
    if numeric:
        try:
            return pc.cast(text, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    for typ in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            micros = pc.cast(pc.cast(text, typ), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pc.divide(pc.cast(micros, pa.float64()), 1e6)
    return None


# ---- building jobs ----


def build_jobs(parts: Sequence[pa.Table], constants: Mapping[str, Any]) -> tuple[list[Job], float]:
    """Jobs from the kept rows, sorted by (submit, id), submits moved so the first is 0.

    Each part has columns id, submit, gpus, runtime and any other `Job` fields; `models` is
    text with models separated by '|'; a null `time_limit` means None. Fields in neither the
    parts nor `constants` take Job's defaults (tenant: "default"). Returns (jobs, origin).
    """
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return [], 0.0
    table = pa.concat_tables(parts).sort_by([("submit", "ascending"), ("id", "ascending")])
    origin = float(table.column("submit")[0].as_py())
    table = table.set_column(
        table.schema.get_field_index("submit"),
        "submit",
        pc.subtract(table.column("submit"), origin),
    )
    _check(table)
    n = table.num_rows
    columns: list[Iterable[Any]] = []
    for name in _JOB_FIELDS:
        if name in table.column_names:
            columns.append(_pylist(table.column(name), name))
        else:
            columns.append(repeat(constants.get(name, _JOB_DEFAULTS[name]), n))
    with gc_paused():
        return [Job(*row) for row in zip(*columns, strict=False)], origin


def _check(table: pa.Table) -> None:
    """Readers drop or reject every row that cannot be a Job; a row left over is a bug."""
    runtime, gpus, submit = table.column("runtime"), table.column("gpus"), table.column("submit")
    ok = pc.all(pc.and_(pc.is_finite(runtime), pc.greater(runtime, 0))).as_py()
    ok = ok and pc.all(pc.and_(pc.is_finite(submit), pc.greater_equal(submit, 0))).as_py()
    ok = ok and pc.all(pc.and_(pc.greater(gpus, 0), pc.less_equal(gpus, INT32_MAX))).as_py()
    if not ok or runtime.null_count or gpus.null_count or submit.null_count:
        raise InvariantError("a trace reader kept a row with no valid submit, gpus or runtime")


def _pylist(col: Any, name: str) -> list[Any]:
    """A column as Python values; repeated strings become one shared object each."""
    if name == "models":
        words = _pylist(col, "")
        split: dict[str, tuple[str, ...]] = {}
        return [
            split.get(w) or split.setdefault(w, tuple(w.split("|")) if w else ()) for w in words
        ]
    if name in ("gpus", "priority", "id"):
        return list(pc.cast(col, pa.int64()).to_numpy().tolist())
    return python_values(col)
