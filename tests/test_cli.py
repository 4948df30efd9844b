"""The command line as a user runs it: output, files, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from gpufleet.cli import main


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_fleet_show_prints_totals() -> None:
    code, out, _ = run("fleet", "show", "--scenario", "small-mixed")
    assert code == 0
    assert "total" in out and "GPUs by owner" in out


def test_fleet_show_default_is_the_national_fleet() -> None:
    code, out, _ = run("fleet", "show")
    assert code == 0
    assert "266,480" in out


def test_policies_lists_orderings_and_placements() -> None:
    code, out, _ = run("policies")
    assert code == 0
    for name in ("fifo", "priority", "sjf", "+easy", "topo-best-fit", "first-fit"):
        assert name in out


def test_simulate_small_writes_records(tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    code, out, _ = run(
        "simulate",
        "--scenario",
        "small-mixed",
        "--days",
        "2",
        "--seed",
        "3",
        "--quiet",
        "--out",
        str(out_dir),
    )
    assert code == 0, out
    assert "wait" in out and "utilization" in out
    jobs = pq.read_table(out_dir / "jobs.parquet")
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert jobs.num_rows == metrics["jobs"] > 0
    ran = sum(1 for s in jobs.column("state").to_pylist() if s in ("completed", "timeout"))
    assert ran + metrics["states"]["rejected"] == metrics["jobs"]
    assert pq.read_table(out_dir / "utilization.parquet").num_rows > 0


def test_same_seed_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _, _ = run(
            "simulate",
            "--scenario",
            "two-nodes",
            "--days",
            "1",
            "--seed",
            "7",
            "--quiet",
            "--out",
            str(tmp_path / name),
        )
        assert code == 0
    a = (tmp_path / "a" / "jobs.parquet").read_bytes()
    b = (tmp_path / "b" / "jobs.parquet").read_bytes()
    assert a == b


def test_simulate_csv_workload(tmp_path: Path) -> None:
    csv = tmp_path / "jobs.csv"
    csv.write_text("id,submit,gpus,runtime\n0,0,8,100\n1,0,16,50\n2,1,8,50\n3,2,8,200\n")
    code, out, _ = run(
        "simulate",
        "--scenario",
        "two-nodes",
        "--workload",
        str(csv),
        "--quiet",
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 0, out
    starts = pq.read_table(tmp_path / "run" / "jobs.parquet").column("start").to_pylist()
    assert starts == [0.0, 100.0, 1.0, 150.0]  # the EASY case of tests/scheduler/test_hand.py


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: x\nsites: [\n")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("id,submit,runtime\n0,0,10\n")
    cases = [
        (["simulate", "--policy", "nope"], "unknown queue ordering"),
        (["simulate", "--placement", "nope"], "unknown placement"),
        (["simulate", "--scenario", "nope"], "unknown scenario"),
        (["simulate", "--scenario", str(bad_yaml)], "malformed YAML"),
        (["simulate", "--days", "0"], "--days"),
        (["simulate", "--scenario", "two-nodes", "--workload", str(bad_csv)], "gpus"),
        (["simulate", "--workload", str(tmp_path / "missing.csv")], "no such workload"),
        (["fleet", "show", "--scenario", str(tmp_path / "none.yaml")], "no such scenario"),
    ]
    for args, fragment in cases:
        code, _, err = run(*args)
        assert code == 2, args
        assert fragment in err, (args, err)
        assert err.strip().count("\n") == 0, err
        assert "Traceback" not in err
