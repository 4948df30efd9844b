"""The examples run as tests, so the README and docs never lie about them."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_compare_policies_runs_and_backfill_helps() -> None:
    waits = runpy.run_path(str(EXAMPLES / "compare_policies.py"))["main"]()
    assert set(waits) == {"fifo", "fifo+easy", "sjf+easy"}
    assert waits["fifo+easy"] <= waits["fifo"]


def test_sweep_example_runs_and_finds_a_smallest_fleet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from gpufleet.cli import main

    out = tmp_path / "out"
    args = ["plan", str(EXAMPLES / "sweep.yaml"), "-o", str(out), "--workers", "1", "--quiet"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "smallest fleet for fifo+easy" in r.stdout
    points = pq.read_table(out / "sweep.parquet")
    assert points.num_rows == 5 * 2 * 2 * 2  # variants x policies x loads x seeds
    probes = pq.read_table(out / "search.parquet").to_pylist()
    assert sum(p["answer"] for p in probes) == 4  # one per (policy, load)
    assert (out / "pareto.png").exists() and "## Smallest fleet" in (out / "sweep.md").read_text()
