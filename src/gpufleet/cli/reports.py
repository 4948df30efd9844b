"""Commands that turn run directories into pages: report, compare."""

from __future__ import annotations

from pathlib import Path

import click

from gpufleet.cli.base import (
    main,
)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="HTML file to write [default: RUN_DIR/report.html]",
)
@click.option(
    "--png", "png_dir", type=click.Path(path_type=Path), default=None, help="also a PNG per chart"
)
def report(run_dir: Path, out: Path | None, png_dir: Path | None) -> None:
    """Write RUN_DIR's report: one self-contained HTML page that opens offline."""
    from gpufleet.report.build import write_report

    for p in write_report(run_dir, out or run_dir / "report.html", png_dir):
        click.echo(f"wrote {p}")


@main.command()
@click.argument("run_dirs", nargs=-1, metavar="RUN_A RUN_B [...]", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    default=Path("compare.html"),
    show_default=True,
    help="HTML file to write",
)
@click.option(
    "--png", "png_dir", type=click.Path(path_type=Path), default=None, help="also a PNG per chart"
)
def compare(run_dirs: tuple[Path, ...], out: Path, png_dir: Path | None) -> None:
    """Compare runs RUN_A RUN_B [...] side by side, with differences from RUN_A."""
    from gpufleet.report.build import write_comparison

    for p in write_comparison(list(run_dirs), out, png_dir):
        click.echo(f"wrote {p}")
