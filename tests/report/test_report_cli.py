"""`gpufleet report`, `gpufleet compare` and `simulate --report` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gpufleet.cli import main


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gpufleet: error: ")
    return lines[0]


def test_report_writes_one_html_file(small_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, stdout, _ = run("report", str(small_run), "-o", str(out))
    assert code == 0 and stdout == f"wrote {out}\n"
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_report_defaults_into_the_run_dir(tiny_run: Path) -> None:
    code, _, _ = run("report", str(tiny_run))
    assert code == 0 and (tiny_run / "report.html").is_file()


def test_report_png(small_run: Path, tmp_path: Path) -> None:
    code, stdout, _ = run(
        "report", str(small_run), "-o", str(tmp_path / "r.html"), "--png", str(tmp_path / "p")
    )
    assert code == 0
    assert stdout.count(".png\n") == 14 and (tmp_path / "p" / "power-site.png").is_file()


def test_report_bad_run_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, stdout, err = run("report", str(tmp_path / "nope"), "-o", str(tmp_path / "r.html"))
    assert code == 2 and stdout == ""
    assert "nope: not a run directory" in one_error_line(err)
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    code, _, err = run("report", str(tmp_path))
    assert code == 2
    assert "metrics.json: missing; expected a run directory" in one_error_line(err)


def test_compare_two_runs(small_run: Path, small_run_sjf: Path, tmp_path: Path) -> None:
    out = tmp_path / "compare.html"
    code, stdout, _ = run("compare", str(small_run), str(small_run_sjf), "-o", str(out))
    assert code == 0 and stdout == f"wrote {out}\n"
    assert "B: sjf" in out.read_text(encoding="utf-8")


def test_compare_needs_two_runs(small_run: Path, tmp_path: Path) -> None:
    code, _, err = run("compare", str(small_run), "-o", str(tmp_path / "c.html"))
    assert code == 2
    assert "at least two run directories, got 1" in one_error_line(err)
    code, _, err = run("compare")
    assert code == 2 and "got 0" in one_error_line(err)


def test_compare_with_a_bad_run_dir(small_run: Path, tmp_path: Path) -> None:
    code, _, err = run("compare", str(small_run), str(tmp_path / "x"), "-o", str(tmp_path / "c"))
    assert code == 2 and "x: not a run directory" in one_error_line(err)


def test_simulate_report_needs_out(tmp_path: Path) -> None:
    code, _, err = run(
        "simulate", "--scenario", "small-mixed", "--days", "1", "--quiet",
        "--report", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 2 and "--report needs --out DIR" in one_error_line(err)


def test_simulate_then_report(tmp_path: Path) -> None:
    out_dir, page = tmp_path / "run", tmp_path / "report.html"
    code, stdout, _ = run(
        "simulate", "--scenario", "small-mixed", "--days", "1", "--seed", "2", "--quiet",
        "--out", str(out_dir), "--report", str(page),
    )  # fmt: skip
    assert code == 0, stdout
    assert f"wrote {out_dir / 'run.json'}" in stdout and stdout.endswith(f"wrote {page}\n")
    assert "small-mixed" in page.read_text(encoding="utf-8")
