"""Read and write job traces: Parquet is the canonical on-disk format; CSV is read for import.

Both readers turn a file into one canonical Arrow table (`SCHEMA`, defaults filled in), check it
column by column with Arrow compute kernels, and only then build `Job` values, sorted by
(submit, id). Bad input raises `TraceError` with one line naming the file, the row (Parquet) or
line (CSV), the column and what was expected. docs/workload.md describes both formats.

Format history (schema metadata `gpufleet.format`): jobs/1 had no `sites` column; jobs/2 adds
it; jobs/3 adds `data_class`. Files of any version, and files without the tag, are read; a
missing column takes its default.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from os import PathLike
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq

from gpufleet.errors import TraceError
from gpufleet.fleet.catalog import CATALOG
from gpufleet.gc_tuning import gc_paused
from gpufleet.workload.columns import python_values
from gpufleet.workload.job import JOB_KINDS, TOPOLOGIES, Job
from gpufleet.workload.units import parse_duration

__all__ = ["REQUIRED_COLUMNS", "SCHEMA", "read_csv", "read_parquet", "write_parquet"]

_NAMES_TYPE = pa.list_(pa.string())  # models, sites
_RUNTIMES_TYPE = pa.map_(pa.string(), pa.float64())

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("group", pa.string(), nullable=False),
        pa.field("submit", pa.float64(), nullable=False),
        pa.field("gpus", pa.int32(), nullable=False),
        pa.field("runtime", pa.float64(), nullable=False),
        pa.field("ref_model", pa.string(), nullable=False),
        pa.field("models", _NAMES_TYPE, nullable=False),
        pa.field("priority", pa.int32(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("topology", pa.string(), nullable=False),
        pa.field("preemptible", pa.bool_(), nullable=False),
        pa.field("time_limit", pa.float64(), nullable=True),
        pa.field("runtimes", _RUNTIMES_TYPE, nullable=False),
        pa.field("sites", _NAMES_TYPE, nullable=False),
        pa.field("data_class", pa.string(), nullable=False),
    ],
    metadata={b"gpufleet.format": b"jobs/3"},
)
_FORMAT_KEY = b"gpufleet.format"
_READABLE_FORMATS = (b"jobs/1", b"jobs/2", b"jobs/3")  # 1: before `sites`; 2: `data_class`
REQUIRED_COLUMNS = ("id", "submit", "gpus", "runtime")
DEFAULT_TENANT = "default"
_JOB_FIELDS = tuple(f.name for f in fields(Job))
_REPEATED = ("models", "runtimes", "sites")  # columns of tuples that repeat a lot
_PLAIN = frozenset(_JOB_FIELDS) - set(_REPEATED)  # columns whose Python value is final
# Defaults for optional columns, as they appear in Job (tenant has none there).
_DEFAULTS: dict[str, Any] = {
    "tenant": DEFAULT_TENANT,
    "group": "",
    "ref_model": "H100",
    "models": [],
    "priority": 0,
    "kind": "batch",
    "topology": "any",
    "preemptible": False,
    "time_limit": None,
    "runtimes": [],
    "sites": [],
    "data_class": "",
}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})
_MODEL_NAMES = ", ".join(sorted(CATALOG))
# '|' separates site ids in CSV and in the reader's join-and-split decoding, so no id holds one.
_SITE_IDS = "non-empty site ids without '|'"

_Where = Callable[[int], str]  # 0-based data row -> "row 7" / "line 8"


def _fail(
    path: Path, where: _Where, row: int, column: str, expected: str, got: object
) -> TraceError:
    return TraceError(f"{path}: {where(row)}, column {column!r}: expected {expected}, got {got!r}")


# ---- writing ----


def write_parquet(jobs: Iterable[Job], path: str | PathLike[str]) -> None:
    """Write jobs to a Parquet file with `SCHEMA`, in the order given."""
    jobs = list(jobs)
    models, runtimes, sites = (_encode_repeated(jobs, name) for name in _REPEATED)
    columns: list[pa.Array] = [
        pa.array([j.id for j in jobs], pa.int64()),
        pa.array([j.tenant for j in jobs], pa.string()),
        pa.array([j.group for j in jobs], pa.string()),
        pa.array([j.submit for j in jobs], pa.float64()),
        pa.array([j.gpus for j in jobs], pa.int32()),
        pa.array([j.runtime for j in jobs], pa.float64()),
        pa.array([j.ref_model for j in jobs], pa.string()),
        models,
        pa.array([j.priority for j in jobs], pa.int32()),
        pa.array([j.kind for j in jobs], pa.string()),
        pa.array([j.topology for j in jobs], pa.string()),
        pa.array([j.preemptible for j in jobs], pa.bool_()),
        pa.array([j.time_limit for j in jobs], pa.float64()),
        runtimes,
        sites,
        pa.array([j.data_class for j in jobs], pa.string()),
    ]
    pq.write_table(pa.Table.from_arrays(columns, schema=SCHEMA), Path(path), compression="zstd")


def _encode_repeated(jobs: Sequence[Job], name: str) -> pa.Array:
    """A models, runtimes or sites column: few distinct tuple objects, so convert each once.

    Keyed by object identity (jobs keep the tuples alive), which skips hashing every tuple;
    equal tuples that are distinct objects are merely converted twice.
    """
    first: dict[int, Any] = {}
    column = [getattr(j, name) for j in jobs]
    for v in column:
        first.setdefault(id(v), v)
    index = {key: i for i, key in enumerate(first)}
    rows = pa.array([index[id(v)] for v in column], pa.int32())
    return pa.array([list(v) for v in first.values()], SCHEMA.field(name).type).take(rows)


# ---- reading ----


def read_parquet(path: str | PathLike[str]) -> list[Job]:
    """Read jobs from a Parquet file; only id, submit, gpus and runtime are required."""
    p = Path(path)
    try:
        table = pq.read_table(p)
    except (OSError, pa.ArrowException) as e:
        raise TraceError(f"{p}: cannot read Parquet file: {e}") from None
    _check_format(p, table.schema.metadata)
    _check_header(p, "schema", table.column_names)
    n = table.num_rows
    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    for field in SCHEMA:
        if field.name not in table.column_names:
            columns[field.name] = _default_column(field.name, n)
            continue
        col = table.column(field.name)
        try:
            columns[field.name] = col.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise TraceError(
                f"{p}: column {field.name!r}: expected {field.type} values, got {col.type}"
            ) from None
    return _jobs(p, lambda i: f"row {i + 1}", columns, n)


def read_csv(path: str | PathLike[str]) -> list[Job]:
    """Import jobs from CSV with the Parquet column names; see docs/workload.md.

    `models` is written "B200|H200", `sites` "site-a|site-b", `runtimes` "B200=3600|H100=2h";
    durations (submit, runtime, time_limit and runtimes' values) are seconds or text like
    "90m", "2h", "1d"; site ids are not checked against a fleet (the scheduler does that).
    Only id, submit, gpus and runtime are required; empty cells in other columns take defaults.
    """
    p = Path(path)
    header = _csv_header(p)
    _check_header(p, "header", header)
    try:
        table = pv.read_csv(
            p,
            read_options=pv.ReadOptions(column_names=header, skip_rows=1),
            convert_options=pv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (OSError, pa.ArrowException) as e:
        raise TraceError(f"{p}: {_csv_problem(p, header, e)}") from None
    where = _CsvLines(p)
    n = table.num_rows
    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    for field in SCHEMA:
        if field.name in header:
            text = pc.utf8_trim_whitespace(table.column(field.name).combine_chunks())
            columns[field.name] = _from_text(p, where, field.name, text)
        else:
            columns[field.name] = _default_column(field.name, n)
    return _jobs(p, where, columns, n)


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise TraceError(f"{path}: cannot read CSV file: {e}") from None
    return [h.strip() for h in header]


def _csv_problem(path: Path, header: list[str], error: Exception) -> str:
    """Describe a CSV the Arrow parser rejected, with the first line whose field count is off."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if row and len(row) != len(header):
                return f"line {line_no}: expected {len(header)} fields, got {len(row)}"
    return f"malformed CSV: {str(error).splitlines()[0]}"


class _CsvLines:
    """Map a 0-based data row to "line N" of the file, skipping blank lines like Arrow does."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __call__(self, row: int) -> str:
        with self._path.open(encoding="utf-8-sig", newline="") as f:
            data = -1
            for line_no, line in enumerate(f, start=1):
                if line_no == 1 or not line.strip("\r\n"):
                    continue
                data += 1
                if data == row:
                    return f"line {line_no}"
        return f"row {row + 1}"


def _check_format(path: Path, metadata: dict[bytes, bytes] | None) -> None:
    """Refuse files tagged with a format this version does not know (written by a newer one)."""
    tag = (metadata or {}).get(_FORMAT_KEY)
    if tag is not None and tag not in _READABLE_FORMATS:
        known = ", ".join(f.decode() for f in _READABLE_FORMATS)
        raise TraceError(
            f"{path}: schema: unknown format {tag.decode(errors='replace')!r} "
            f"(this version reads {known})"
        )


def _check_header(path: Path, part: str, names: Sequence[str]) -> None:
    known = SCHEMA.names
    seen: set[str] = set()
    for name in names:
        if name not in known:
            raise TraceError(
                f"{path}: {part}, column {name!r}: unknown column; expected one of "
                f"{', '.join(known)}"
            )
        if name in seen:
            raise TraceError(f"{path}: {part}, column {name!r}: appears twice")
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            raise TraceError(
                f"{path}: {part}, column {name!r}: missing required column "
                f"(required: {', '.join(REQUIRED_COLUMNS)})"
            )


def _default_column(name: str, n: int) -> pa.Array:
    typ = SCHEMA.field(name).type
    if name in _REPEATED:  # n empty lists; pa.repeat is slow for nested types
        offsets = pa.array([0] * (n + 1), pa.int32())
        if name != "runtimes":
            return pa.ListArray.from_arrays(offsets, pa.array([], pa.string()))
        return pa.MapArray.from_arrays(
            offsets, pa.array([], pa.string()), pa.array([], pa.float64())
        )
    return pa.repeat(pa.scalar(_DEFAULTS[name], typ), n)


# ---- CSV text -> typed columns ----

_INTEGER = {"id": "an integer", "gpus": "an integer > 0", "priority": "an integer"}
_DURATION = {
    "submit": "seconds or a duration >= 0 (e.g. 3600, 90m, 2h)",
    "runtime": "seconds or a duration > 0 (e.g. 3600, 90m, 2h)",
    "time_limit": "empty, seconds or a duration > 0 (e.g. 3600, 90m, 2h)",
}


def _from_text(path: Path, where: _Where, name: str, text: pa.Array) -> pa.Array:
    typ = SCHEMA.field(name).type
    empty = pc.equal(text, "")
    if name in _DEFAULTS and name not in (*_REPEATED, "preemptible", "time_limit"):
        text = pc.if_else(empty, str(_DEFAULTS[name]), text)
    if name in _INTEGER:
        return _parse_column(path, where, name, text, typ, _INTEGER[name], int)
    if name in _DURATION:
        if name == "time_limit":
            text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
        return _parse_column(path, where, name, text, typ, _DURATION[name], parse_duration)
    if name == "preemptible":
        lower = pc.utf8_lower(text)
        bad = pc.invert(pc.is_in(lower, value_set=pa.array(sorted(_TRUE | _FALSE))))
        _raise_first(path, where, name, bad, text, "true or false")
        return pc.is_in(lower, value_set=pa.array(sorted(_TRUE)))
    if name == "models":
        return _parse_unique(path, where, name, text, typ, _parse_models)
    if name == "runtimes":
        return _parse_unique(path, where, name, text, typ, _parse_runtimes)
    if name == "sites":
        return _parse_unique(path, where, name, text, typ, _parse_sites)
    return text


def _parse_column(
    path: Path,
    where: _Where,
    name: str,
    text: pa.Array,
    typ: pa.DataType,
    expected: str,
    parse: Callable[[str], Any],
) -> pa.Array:
    """Cast text to `typ` in one kernel call; on failure parse row by row to find the culprit."""
    try:
        return pc.cast(text, pa.float64() if typ == pa.float64() else pa.int64()).cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[Any] = []
    for row, s in enumerate(text.to_pylist()):
        if s is None:
            values.append(None)
            continue
        try:
            values.append(parse(s))
        except ValueError:
            raise _fail(path, where, row, name, expected, s) from None
        if typ == pa.int32() and not _INT32_MIN <= values[-1] <= _INT32_MAX:
            raise _fail(path, where, row, name, "a 32-bit integer", s)
    return pa.array(values, typ)


def _parse_unique(
    path: Path,
    where: _Where,
    name: str,
    text: pa.Array,
    typ: pa.DataType,
    parse: Callable[[str], list[Any]],
) -> pa.Array:
    """Parse each distinct cell once (models, runtimes, sites repeat a lot), take by index."""
    distinct = pc.unique(text)
    parsed: list[list[Any]] = []
    for s in distinct.to_pylist():
        try:
            parsed.append(parse(s))
        except ValueError as e:
            row = pc.index(text, s).as_py()
            raise _fail(path, where, row, name, str(e), s) from None
    return pa.array(parsed, typ).take(pc.index_in(text, value_set=distinct))


def _parse_models(text: str) -> list[str]:
    names = [m.strip() for m in text.split("|")] if text else []
    for m in names:
        if m not in CATALOG:
            raise ValueError(
                f"GPU models separated by '|' ({m!r} is unknown; known: {_MODEL_NAMES})"
            )
    return names


def _parse_sites(text: str) -> list[str]:
    """Site ids are not checked against a fleet here: the scheduler rejects unknown ones."""
    names = [s.strip() for s in text.split("|")] if text else []
    if "" in names:
        raise ValueError("non-empty site ids separated by '|'")
    return names


def _parse_runtimes(text: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for part in text.split("|") if text else []:
        model, eq, value = part.partition("=")
        model = model.strip()
        if not eq or model not in CATALOG:
            raise ValueError(
                f"MODEL=duration pairs separated by '|' ({part.strip()!r} is not one; "
                f"models: {_MODEL_NAMES})"
            )
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError(f"MODEL=duration pairs with durations > 0 ({part.strip()!r})")
        out.append((model, seconds))
    return out


# ---- checks on the canonical columns, then Jobs ----


def _raise_first(
    path: Path,
    where: _Where,
    name: str,
    bad: pa.Array | pa.ChunkedArray,
    values: Any,
    expected: str,
) -> None:
    """Raise for the first row where `bad` is true (nulls in `bad` count as fine)."""
    row = pc.index(pc.fill_null(bad, False), True).as_py()
    if row >= 0:
        raise _fail(path, where, row, name, expected, values[row].as_py())


def _check(path: Path, where: _Where, c: dict[str, pa.ChunkedArray | pa.Array]) -> None:
    for field in SCHEMA:
        if not field.nullable:
            _raise_first(
                path, where, field.name, pc.is_null(c[field.name]), c[field.name], "a value"
            )
    checks: list[tuple[str, pa.Array | pa.ChunkedArray, str]] = [
        ("submit", pc.invert(_finite_at_least(c["submit"], 0.0, True)), _DURATION["submit"]),
        ("gpus", pc.less_equal(c["gpus"], 0), _INTEGER["gpus"]),
        ("runtime", pc.invert(_finite_at_least(c["runtime"], 0.0, False)), _DURATION["runtime"]),
        (
            "time_limit",
            pc.invert(_finite_at_least(c["time_limit"], 0.0, False)),
            _DURATION["time_limit"],
        ),
        ("kind", _not_in(c["kind"], JOB_KINDS), f"one of {', '.join(JOB_KINDS)}"),
        ("topology", _not_in(c["topology"], TOPOLOGIES), f"one of {', '.join(TOPOLOGIES)}"),
        ("ref_model", _not_in(c["ref_model"], CATALOG), f"a GPU model from: {_MODEL_NAMES}"),
    ]
    for name, bad, expected in checks:
        _raise_first(path, where, name, bad, c[name], expected)
    _check_nested(path, where, c)
    _check_unique_ids(path, where, c["id"])


def _finite_at_least(x: Any, low: float, inclusive: bool) -> Any:
    above = pc.greater_equal(x, low) if inclusive else pc.greater(x, low)
    return pc.and_(above, pc.is_finite(x))


def _not_in(x: Any, allowed: Iterable[str]) -> Any:
    return pc.invert(pc.is_in(x, value_set=pa.array(list(allowed), pa.string())))


def _check_nested(path: Path, where: _Where, c: dict[str, pa.ChunkedArray | pa.Array]) -> None:
    """Model names inside `models` and `runtimes`, runtimes' durations, site ids' form."""
    models = _combined(c["models"])
    bad = pc.fill_null(_not_in(pc.list_flatten(models), CATALOG), True)
    pos = pc.index(bad, True).as_py()
    if pos >= 0:
        row = pc.list_parent_indices(models)[pos].as_py()
        expected = f"GPU models from: {_MODEL_NAMES}"
        raise _fail(path, where, row, "models", expected, models[row].as_py())
    sites = _combined(c["sites"])
    ids = pc.list_flatten(sites)
    bad = pc.fill_null(pc.or_(pc.equal(ids, ""), pc.match_substring(ids, "|")), True)
    pos = pc.index(bad, True).as_py()
    if pos >= 0:
        row = pc.list_parent_indices(sites)[pos].as_py()
        raise _fail(path, where, row, "sites", _SITE_IDS, sites[row].as_py())
    runtimes = _combined(c["runtimes"])
    if not _has_entries(runtimes):
        return
    expected = f"MODEL=seconds pairs with seconds > 0 and models from: {_MODEL_NAMES}"
    for row, pairs in enumerate(runtimes.to_pylist()):
        for model, seconds in pairs or ():
            if model not in CATALOG or seconds is None or not 0 < seconds < math.inf:
                raise _fail(path, where, row, "runtimes", expected, pairs)


def _combined(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _has_entries(maps: pa.Array) -> bool:
    """Whether any row of a map column has an entry (compute kernels do not take maps)."""
    offsets = maps.offsets
    return len(maps) > 0 and offsets[len(offsets) - 1].as_py() > offsets[0].as_py()


def _check_unique_ids(path: Path, where: _Where, ids: pa.ChunkedArray | pa.Array) -> None:
    if len(pc.unique(ids)) == len(ids):
        return
    first: dict[int, int] = {}
    for row, i in enumerate(ids.to_pylist()):
        if i in first:
            expected = f"a unique id ({i} is also on {where(first[i])})"
            raise _fail(path, where, row, "id", expected, i)
        first[i] = row


def _jobs(path: Path, where: _Where, c: dict[str, pa.ChunkedArray | pa.Array], n: int) -> list[Job]:
    """Check the canonical columns, sort by (submit, id) and build the Jobs."""
    _check(path, where, c)
    table = pa.table({f.name: c[f.name] for f in SCHEMA})
    table = table.take(pc.sort_indices(table, [("submit", "ascending"), ("id", "ascending")]))
    col = {name: table.column(name) for name in SCHEMA.names}
    maps = _combined(col["runtimes"])
    runtimes: list[tuple[tuple[str, float], ...]] = (
        [tuple(r) for r in maps.to_pylist()] if _has_entries(maps) else [()] * n
    )
    values = {name: python_values(col[name]) for name in _JOB_FIELDS if name in _PLAIN}
    values |= {
        "models": _name_tuples(col["models"], n),
        "runtimes": runtimes,
        "sites": _name_tuples(col["sites"], n),
    }
    # Job's own field order, so positional construction cannot mix fields up.
    with gc_paused():
        return [Job(*row) for row in zip(*(values[name] for name in _JOB_FIELDS), strict=True)]


def _name_tuples(col: pa.ChunkedArray, n: int) -> list[tuple[str, ...]]:
    """A list<string> column (models, sites) as tuples; equal rows share one tuple object.

    Rows are joined with '|' and split again, which is sound because `_check_nested` allows
    no '|' and no empty name inside either column.
    """
    if len(pc.list_flatten(col)) == 0:
        return [()] * n
    tuples: dict[str, tuple[str, ...]] = {}
    return [
        tuples.get(s) or tuples.setdefault(s, tuple(s.split("|")) if s else ())
        for s in pc.binary_join(col, "|").to_pylist()
    ]
