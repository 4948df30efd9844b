"""Read Microsoft Philly `cluster_job_log` (ATC'19), a JSON array of jobs, streaming.

Keys (msr-fiddle/philly-traces README): status (Pass, Killed, Failed), vc, jobid, user,
submitted_time, attempts: [{start_time, end_time, detail: [{ip, gpus: [...]}]}]. Times are
"2017-10-07 01:12:09" or None. A job may have no attempts; an attempt may lack a time; a None
end_time on the last attempt means the job was still running when the trace was cut.

The file (about 1 GB for the full trace) is decoded one job object at a time from 1 MiB reads,
so memory holds one chunk plus the columns being built. JSON Lines (one object per line) is
read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from gpufleet.errors import TraceError
from gpufleet.workload.store import DEFAULT_TENANT
from gpufleet.workload.traces.frame import Tally, TraceRead, build_jobs, fail
from gpufleet.workload.traces.gpu_names import require_model

FORMAT = "philly"
# [A] Philly's GPUs (P100 and P40, 12-24 GB) are not in the catalog; V100 is its oldest one.
DEFAULT_REF_MODEL = "V100"
_CHUNK = 1 << 20
_MAX_VALUE = 64 << 20  # a job object longer than this is malformed JSON, not a long job
_TIME = "a date-time such as 2017-10-07 01:12:09, or null"


@dataclass(slots=True)
class _Columns:
    id: list[int]
    submit: list[float]
    gpus: list[int]
    runtime: list[float]
    tenant: list[str]
    group: list[str]


def read(path: Path, /, *, ref_model: str = DEFAULT_REF_MODEL) -> TraceRead:
    """Philly jobs: gpus = GPUs of the largest attempt, runtime = sum of attempt durations."""
    ref_model = require_model(ref_model)
    tally = Tally()
    cols = _Columns([], [], [], [], [], [])
    for index, line, job in _records(path):
        tally.rows += 1
        _add(path, f"line {line}, job {index}", index, job, cols, tally)
    table = pa.table(
        {
            "id": pa.array(cols.id, pa.int64()),
            "submit": pa.array(cols.submit, pa.float64()),
            "gpus": pa.array(cols.gpus, pa.int64()),
            "runtime": pa.array(cols.runtime, pa.float64()),
            "tenant": pa.array(cols.tenant, pa.string()),
            "group": pa.array(cols.group, pa.string()),
        }
    )
    jobs, origin = build_jobs([table], {"ref_model": ref_model})
    return tally.result(FORMAT, path, jobs, origin)


def _add(path: Path, where: str, index: int, job: Any, cols: _Columns, tally: Tally) -> None:
    """Append one job's columns, or count why it is dropped."""
    if not isinstance(job, dict):
        raise fail(path, where, "(job)", "a JSON object", type(job).__name__)
    submitted = _time(path, where, "submitted_time", job.get("submitted_time"))
    attempts = job.get("attempts") or []
    if not isinstance(attempts, list):
        raise fail(path, where, "attempts", "a list of attempts", attempts)
    if submitted is None:
        tally.drop("no submitted_time", 1)
        return
    if not attempts:
        tally.drop("no attempts", 1)
        return
    runtime, gpus, sizes, partial, complete = 0.0, 0, set(), False, False
    last_end: float | None = None
    for k, attempt in enumerate(attempts):
        key = f"attempts[{k}]"
        if not isinstance(attempt, dict):
            raise fail(path, where, key, "an object with start_time, end_time, detail", attempt)
        start = _time(path, where, f"{key}.start_time", attempt.get("start_time"))
        last_end = end = _time(path, where, f"{key}.end_time", attempt.get("end_time"))
        size = _gpus(path, where, key, attempt.get("detail"))
        sizes.add(size)
        gpus = max(gpus, size)
        if start is None or end is None:
            partial = True
            continue
        if end < start:
            raise fail(path, where, f"{key}.end_time", "a time >= start_time", attempt["end_time"])
        runtime += end - start
        complete = True
    if last_end is None:
        tally.drop("running when the trace ends", 1)
    elif gpus == 0:
        tally.drop("no GPUs", 1)
    elif not complete:
        tally.drop("no attempt with start and end time", 1)
    elif runtime == 0:
        tally.drop("zero run time", 1)
    else:
        tally.adjust("attempt without start or end time ignored", int(partial))
        tally.adjust("GPU count differs between attempts: largest used", int(len(sizes) > 1))
        cols.id.append(index)
        cols.submit.append(submitted)
        cols.gpus.append(gpus)
        cols.runtime.append(runtime)
        cols.tenant.append(str(job.get("user") or DEFAULT_TENANT))
        cols.group.append(str(job.get("vc") or ""))


def _time(path: Path, where: str, key: str, value: Any) -> float | None:
    if value is None or value == "None" or value == "":
        return None
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    raise fail(path, where, key, _TIME, value)


def _gpus(path: Path, where: str, key: str, detail: Any) -> int:
    """GPUs of one attempt: the length of every server's `gpus` list, summed."""
    if detail is None:
        return 0
    if not isinstance(detail, list) or not all(
        isinstance(d, dict) and isinstance(d.get("gpus", []), list) for d in detail
    ):
        raise fail(path, where, f"{key}.detail", "a list of {ip, gpus: [...]} objects", detail)
    return sum(len(d.get("gpus", [])) for d in detail)


def _records(path: Path) -> Iterator[tuple[int, int, Any]]:
    """(index, line, value) of each top-level JSON value: the items of one array, or a
    sequence of values (JSON Lines). Decodes from 1 MiB reads, one value at a time."""
    decoder = json.JSONDecoder()
    try:
        f = path.open(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except OSError as e:
        raise TraceError(f"{path}: cannot read file: {e}") from None
    with f:
        reader = _Buffer(path, f)
        in_array = reader.skip() == "["
        if in_array:
            reader.pos += 1
        index = 0
        while True:
            c = reader.skip()
            if in_array and c == "]":
                reader.pos += 1
                if reader.skip() != "":
                    raise reader.error("the end of the file after ']'", reader.peek())
                return
            if in_array and index:
                if c != ",":
                    raise reader.error("',' or ']' after a job", reader.peek() or "end of file")
                reader.pos += 1
                c = reader.skip()
            if c == "":
                if in_array:
                    raise reader.error("a job or ']' closing the job array", "end of file")
                return
            line = reader.line()
            yield index, line, reader.decode(decoder)
            index += 1


class _Buffer:
    """Text read in chunks, a position in it, and line numbers counted as the position moves."""

    def __init__(self, path: Path, f: Any) -> None:
        self.path = path
        self._f = f
        self.text = ""
        self.pos = 0
        self._line = 1  # the line of text[_counted]
        self._counted = 0
        self._eof = False

    def _more(self, size: int = _CHUNK) -> bool:
        """Append `size` more characters, dropping the text before `pos`; False at the end."""
        if self._eof:
            return False
        try:
            chunk = self._f.read(size)
        except (OSError, UnicodeDecodeError) as e:
            raise TraceError(f"{self.path}: cannot read file: {e}") from None
        if not chunk:
            self._eof = True
            return False
        self.line()
        self.text = self.text[self.pos :] + chunk
        self.pos = self._counted = 0
        return True

    def skip(self) -> str:
        """Skip whitespace; return the next character, or "" at the end of the file."""
        while True:
            while self.pos < len(self.text):
                if not self.text[self.pos].isspace():
                    return self.text[self.pos]
                self.pos += 1
            if not self._more():
                return ""

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 20]

    def line(self, at: int | None = None) -> int:
        """The line of text[at] (default: of `pos`); counts only the text not yet counted."""
        self._line += self.text.count("\n", self._counted, self.pos)
        self._counted = self.pos
        return self._line + (self.text.count("\n", self.pos, at) if at is not None else 0)

    def decode(self, decoder: json.JSONDecoder) -> Any:
        """The JSON value at `pos`. An error may only mean the value goes on past the buffer, so
        read on, doubling, up to _MAX_VALUE characters; past that the error is real."""
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as e:
                pending = len(self.text) - self.pos
                if pending < _MAX_VALUE and self._more(max(_CHUNK, pending)):
                    continue
                line = self.line(e.pos)
                raise TraceError(f"{self.path}: line {line}: invalid JSON: {e.msg}") from None
            # A number at the very end of a chunk may continue in the next one.
            if end == len(self.text) and not self._eof and self._more():
                continue
            self.pos = end
            return value

    def error(self, expected: str, got: str) -> TraceError:
        return TraceError(f"{self.path}: line {self.line()}: expected {expected}, got {got!r}")
