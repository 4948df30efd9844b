"""Build report files from run directories: read, reduce, render, write."""

from __future__ import annotations

from pathlib import Path

from gpufleet.errors import ConfigError
from gpufleet.report.compare import build_comparison
from gpufleet.report.html import compare_page, run_page
from gpufleet.report.run_report import build_run_report
from gpufleet.report.rundir import read_run_dir


def _write(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot write: {e}") from None
    return path


def write_report(run_dir: Path, out: Path, png_dir: Path | None = None) -> list[Path]:
    """Write the HTML report of `run_dir` to `out` (and a PNG per chart into `png_dir`)."""
    report = build_run_report(read_run_dir(run_dir))
    paths = [_write(out, run_page(report))]
    if png_dir is not None:
        from gpufleet.report.png import write_pngs

        paths += write_pngs(report.charts, png_dir)
    return paths


def write_comparison(run_dirs: list[Path], out: Path, png_dir: Path | None = None) -> list[Path]:
    """Write the HTML page comparing two or more runs (and a PNG per chart into `png_dir`)."""
    if len(run_dirs) < 2:
        raise ConfigError(f"compare needs at least two run directories, got {len(run_dirs)}")
    comparison = build_comparison([build_run_report(read_run_dir(d)) for d in run_dirs])
    paths = [_write(out, compare_page(comparison))]
    if png_dir is not None:
        from gpufleet.report.png import write_pngs

        paths += write_pngs(comparison.charts, png_dir)
    return paths
