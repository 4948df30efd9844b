"""Small trace files written by the tests, the shared public traces, and the account check."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gpufleet.workload.traces import TraceRead

# tests/workload/traces/ -> the project root is three folders up; the public traces copied for
# the project sit beside it, in ../shared/traces.
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "traces"


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write dedented `text` to tmp_path/name and return the path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def accounted(read: TraceRead) -> bool:
    """Every record became a job or was dropped for a counted reason; jobs are sorted by
    (submit, id) and the first submits at 0."""
    pairs = zip(read.jobs, read.jobs[1:], strict=False)
    ordered = all((a.submit, a.id) < (b.submit, b.id) for a, b in pairs)
    first = not read.jobs or read.jobs[0].submit == 0.0
    return read.rows == len(read.jobs) + sum(read.dropped.values()) and ordered and first
