"""`gpufleet validate [CHECK...]`: run reproduction checks, print and record their rows."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from rich.table import Table

from gpufleet.cli.base import main, out_console


def default_traces() -> Path:
    """../shared/traces beside the working directory, else beside the source checkout."""
    here = Path.cwd().parent / "shared" / "traces"
    source = Path(__file__).resolve().parents[3].parent / "shared" / "traces"
    return here if here.is_dir() or not source.is_dir() else source


@main.command("validate")
@click.argument("checks", nargs=-1)
@click.option(
    "--traces",
    type=click.Path(path_type=Path),
    default=None,
    help="folder of the public traces (default: ../shared/traces)",
)
@click.option(
    "--seeds",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="seeds per placement (the published runs used 10)",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="processes running replays side by side",
)
@click.option(
    "--doc",
    type=click.Path(path_type=Path),
    default=Path("docs/validation.md"),
    show_default=True,
    help="markdown file whose check sections are updated",
)
@click.option("--no-doc", is_flag=True, help="print only; leave the markdown file alone")
def validate(
    checks: tuple[str, ...], traces: Path | None, seeds: int, workers: int, doc: Path, no_doc: bool
) -> None:
    """Run reproduction CHECKS (all when none is named) against published results.

    Checks are registered by name in gpufleet.validation.checks.CHECKS (now: fgd).
    """
    from gpufleet.validation.checks import NOTES, Options, run
    from gpufleet.validation.report import section, update

    options = Options(traces=traces or default_traces(), seeds=seeds, workers=workers)
    rows, skipped = run(list(checks), options)
    console = out_console()
    for name, reason in skipped.items():
        click.echo(f"skipped {name}: {reason}")  # one unwrapped line, for logs and greps
    if not rows:
        return
    table = Table("check", "row", "published", "ours", "ours - published", "wall time (s)")
    for r in rows:
        table.add_row(
            r.check, r.name, "-" if r.published is None else f"{r.published:.2f}",
            f"{r.ours:.2f}", "-" if r.difference is None else f"{r.difference:+.2f}",
            f"{r.seconds:.1f}",
        )  # fmt: skip
    console.print(table)
    if no_doc:
        return
    for name in dict.fromkeys(r.check for r in rows):
        command = "gpufleet validate " + shlex.join(
            [name, *(["--seeds", str(seeds)] if seeds != 10 else [])]
        )
        mine = [r for r in rows if r.check == name]
        update(doc, name, section(name, mine, command, NOTES.get(name, "")))
    console.print(f"updated {doc}")
