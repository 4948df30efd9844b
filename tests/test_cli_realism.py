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


def test_maintenance_on_reports_the_gpu_hours_drains_held(tmp_path: Path) -> None:
    """small-mixed with a schedule: a quarter of each cluster every 12 h, 1 h down."""
    from importlib import resources

    text = (resources.files("gpufleet.fleet") / "scenarios" / "small-mixed.yaml").read_text()
    text += '\nmaintenance: {every: 12h, fraction: 0.25, drain: 30m, down: 1h, source: "[A] t"}\n'
    scenario = tmp_path / "fleet.yaml"
    scenario.write_text(text)
    out_dir = tmp_path / "run"
    args = ("simulate", "--scenario", str(scenario), "--days", "2", "--quiet")
    code, out, err = run(*args, "--maintenance", "on", "--out", str(out_dir))
    assert code == 0, err
    assert "maintenance" in out
    r = json.loads((out_dir / "metrics.json").read_text())["realism"]
    assert r["maintenance_on"] and not r["failures_on"]
    assert r["maintenance_gpu_hours"] > 0
    code, out, _ = run(*args)
    assert code == 0 and "maintenance" not in out
