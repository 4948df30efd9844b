"""simulate --failures, --start and --power as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gpufleet.cli import main


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_failures_on_reports_goodput_and_writes_it(tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    code, out, err = run(
        "simulate",
        "--scenario",
        "small-mixed",
        "--days",
        "3",
        "--failures",
        "on",
        "--start",
        "2026-03-01",
        "--power",
        "on",
        "--quiet",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    assert "goodput" in out and "energy" in out
    r = json.loads((out_dir / "metrics.json").read_text())["realism"]
    assert r["failures_on"] and r["power_caps"] and r["start_date"] == "2026-03-01"
    assert 0.0 < r["goodput"] <= 1.0
    assert r["energy"]["mwh"] > 0


def test_all_off_is_the_plain_run(tmp_path: Path) -> None:
    code, out, _ = run("simulate", "--scenario", "small-mixed", "--days", "1", "--quiet")
    assert code == 0
    assert "goodput" not in out


def test_bad_realism_flags_exit_2() -> None:
    code, _, err = run("simulate", "--scenario", "two-nodes", "--start", "2026-13-01")
    assert code == 2
    assert "--start must be a day as YYYY-MM-DD" in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    code, _, err = run("simulate", "--scenario", "two-nodes", "--failures", "maybe")
    assert code == 2
    assert "maybe" in err and "Traceback" not in err
    code, _, err = run("simulate", "--scenario", "two-nodes", "--power", "yes")
    assert code == 2 and "Traceback" not in err
