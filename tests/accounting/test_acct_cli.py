"""`gpufleet acct --run` on a run written by `gpufleet simulate`, and its one-line errors."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpufleet.cli import main


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """small-mixed, 1 day of the synthetic workload, through the CLI."""
    out = tmp_path_factory.mktemp("acct") / "run"
    code, text, _ = run(
        "simulate", "--scenario", "small-mixed", "--days", "1", "--seed", "0", "--quiet",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, text
    return out


def _gpu_seconds_of_jobs(run_dir: Path) -> dict[str, float]:
    """Per tenant group, gpus x (end - start) from jobs.parquet (every job ended: no --until)."""
    out: dict[str, float] = {}
    for r in pq.read_table(run_dir / "jobs.parquet").to_pylist():
        if r["start"] is not None:
            out[r["group"]] = out.get(r["group"], 0.0) + r["gpus"] * (r["end"] - r["start"])
    return out


def test_simulate_writes_a_ledger(run_dir: Path) -> None:
    ledger = pq.read_table(run_dir / "ledger.parquet")
    assert ledger.column_names == [
        "tenant", "group", "site", "gpu_model", "day", "jobs", "gpu_seconds",
        "cost_market_krw", "cost_charged_krw", "energy_kwh", "co2_kg",
    ]  # fmt: skip
    assert ledger.num_rows > 0


def test_acct_run_by_group_matches_the_jobs(run_dir: Path) -> None:
    code, out, _ = run("acct", "--run", str(run_dir), "--output", "json")
    assert code == 0
    rows = json.loads(out)
    want = _gpu_seconds_of_jobs(run_dir)
    assert {r["group"] for r in rows} == set(want)
    for r in rows:
        assert math.isclose(r["gpu_seconds"], want[r["group"]], abs_tol=1e-6)
        if r["group"] == "academia-research":
            assert r["cost_charged_krw"] == 0.0


def test_acct_run_prints_a_table_with_a_total(run_dir: Path) -> None:
    code, out, _ = run("acct", "--run", str(run_dir))
    assert code == 0
    for word in ("GROUP", "GPU-HOURS", "MARKET KRW", "CHARGED KRW", "ENERGY KWH", "CO2 KG"):
        assert word in out
    total = sum(_gpu_seconds_of_jobs(run_dir).values()) / 3600.0
    assert "TOTAL" in out and f"{total:,.1f}" in out


def test_acct_run_csv_by_any_subset_and_parquet_export(run_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "by-day.parquet"
    code, out, _ = run(
        "acct", "--run", str(run_dir), "--by", "day,model,site,tenant", "--output", "csv",
        "--parquet", str(export),
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:4] == ["day", "gpu_model", "site", "tenant"]
    table = pq.read_table(export)
    assert table.num_rows == len(rows)
    assert math.isclose(
        sum(float(r["gpu_seconds"]) for r in rows), sum(table["gpu_seconds"].to_pylist())
    )
    # One day of arrivals, then the queue drains: the last day holds the last end.
    days = {int(r["day"]) for r in rows}
    makespan_days = json.loads((run_dir / "metrics.json").read_text())["makespan_days"]
    assert min(days) == 0 and max(days) == math.floor(makespan_days)


def test_acct_run_reprices_with_a_prices_file(run_dir: Path, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "krw_per_gpu_hour: {B200: 3600, GB200: 3600, RTXPRO6000: 3600}\ndefault_copay: 0.5\n"
        "copay: {general: 0.5}\n",
        encoding="utf-8",
    )
    code, out, _ = run("acct", "--run", str(run_dir), "--prices", str(prices), "--output", "json")
    assert code == 0
    for r in json.loads(out):  # 3,600 KRW per GPU-hour is 1 KRW per GPU-second
        assert math.isclose(r["cost_market_krw"], r["gpu_seconds"])


def test_acct_run_on_a_run_without_ledger_file_builds_it(run_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for f in run_dir.iterdir():
        if f.name != "ledger.parquet":
            (old / f.name).write_bytes(f.read_bytes())
    args = ("--by", "tenant,group,site,model,day", "--output", "json")
    assert run("acct", "--run", str(old), *args)[1] == run("acct", "--run", str(run_dir), *args)[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--run", "{tmp}/no-such-run"), "no-such-run: not a run directory"),
        (("--run", "{run}", "--by", "group,colour"), "--by: unknown field 'colour'"),
        (("--run", "{run}", "--by", ""), "--by: unknown field ''"),
        (("--run", "{run}", "--prices", "{tmp}/none.yaml"), "none.yaml: cannot read file"),
        (("--by", "group"), "--by needs --run RUN_DIR"),
        (("--run", "{tmp}"), "metrics.json: missing"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_dir: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    filled = [a.format(tmp=tmp_path, run=run_dir) for a in args]
    code, _, err = run("acct", *filled)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


class _FakeClient:
    """Stands in for the API client: the server's acct rows."""

    def __init__(self, server: str, token: str) -> None:
        self.token = token

    def acct(self) -> list[dict[str, object]]:
        return [{"tenant": "alice", "jobs": 3, "gpu_hours": 1.5}]

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("table", "alice"),
        ("json", '"gpu_hours": 1.5'),
        ("csv", "tenant,jobs,gpu_hours\nalice,3,1.5\n"),
    ],
)
def test_acct_without_run_still_asks_the_server(
    monkeypatch: pytest.MonkeyPatch, output: str, expected: str
) -> None:
    import gpufleet.api.client

    monkeypatch.setattr(gpufleet.api.client, "Client", _FakeClient)
    code, out, _ = run("acct", "--token", "gf_x", "--output", output)
    assert code == 0
    assert expected in out


def test_acct_without_run_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPUFLEET_TOKEN", raising=False)
    code, _, err = run("acct")
    assert code == 2 and "no API token" in err
