"""docs/validation.md: the table of every check's rows, and the command that reproduces it.

Each check owns a section between markers, so re-running one check (or a check another
developer adds) replaces its own section and leaves the others as they were.
"""

from __future__ import annotations

from pathlib import Path

from gpufleet.validation.checks import CHECKS, Row

HEADER = """# Validation: gpufleet against published results

Each section is written by `gpufleet validate CHECK` (all checks: `gpufleet validate`);
`ours - published` is the difference in the unit of the row. Wall time is the sum over seeds of
the replays, on the machine and load of the day.
"""


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def section(name: str, rows: list[Row], command: str, notes: str = "") -> str:
    """The markdown section of one check."""
    lines = [
        f"<!-- check:{name} -->",
        f"## {name}: {CHECKS[name][1]}",
        "",
        "```bash",
        command,
        "```",
        "",
        "| row | published | ours | ours - published | wall time (s) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {_fmt(r.published)} | {_fmt(r.ours)} | {_fmt(r.difference)} "
        f"| {r.seconds:.1f} |"
        for r in rows
    ]
    if notes:
        lines += ["", notes.strip()]
    lines.append(f"<!-- /check:{name} -->")
    return "\n".join(lines) + "\n"


def update(path: Path, name: str, text: str) -> None:
    """Write `text` as check `name`'s section of `path`, replacing the old one if present."""
    old = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    begin, end = f"<!-- check:{name} -->", f"<!-- /check:{name} -->"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")
