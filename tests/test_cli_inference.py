"""simulate --inference as a user runs it: a tiny fleet, a CSV workload, a tree and services."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gpufleet.cli import main

TREE = "preemption: {grace: 5m}\ntree:\n  - name: root\n    children:\n      - name: batch\n"
SERVICES = """\
services:
  - name: chat
    models: [H100]
    gpus_per_replica: 4
    replicas: {min: 1, max: 3}
    demand: {peak: 800, trough: 800, peak_hour: 0, steps: [{at: 10m, add: 1600}]}
    tokens_per_s: {H100: 1000}
    autoscale: {interval: 10m, down_delay: 30m}
"""


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def files(tmp_path: Path) -> list[str]:
    (tmp_path / "jobs.csv").write_text(
        "id,tenant,submit,gpus,runtime,topology\n0,batch,0,8,5000,domain\n"
    )
    (tmp_path / "tree.yaml").write_text(TREE)
    (tmp_path / "svc.yaml").write_text(SERVICES)
    return [
        "simulate",
        "--scenario",
        "two-nodes",
        "--workload",
        str(tmp_path / "jobs.csv"),
        "--tenancy",
        str(tmp_path / "tree.yaml"),
        "--days",
        str(1800 / 86400),
        "--policy",
        "fifo",
        "--quiet",
    ]


def test_inference_block_and_table(tmp_path: Path) -> None:
    """The hand case of tests/engine/test_inference.py through the CLI."""
    code, out, err = run(
        *files(tmp_path), "--inference", str(tmp_path / "svc.yaml"), "--out", str(tmp_path / "run")
    )
    assert code == 0, err
    assert "inference services" in out and "chat" in out
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())["inference"]
    assert m["services"]["chat"]["attainment_time"] == 25 / 30
    assert m["preempted_by_inference"]["runs"] == 1


def test_off_by_default_and_errors_exit_2(tmp_path: Path) -> None:
    args = files(tmp_path)
    code, out, _ = run(*args)
    assert code == 0 and "inference services" not in out
    code, _, err = run(*args, "--tenancy", "none", "--inference", str(tmp_path / "svc.yaml"))
    assert code == 2 and "--inference needs a tenant tree" in err
    (tmp_path / "bad.yaml").write_text(SERVICES.replace("max: 3", "max: 0"))
    code, _, err = run(*args, "--inference", str(tmp_path / "bad.yaml"))
    assert code == 2 and "services[0].replicas.max (line 5)" in err and "Traceback" not in err


def test_a_trace_with_a_duplicate_id_is_refused_with_services(tmp_path: Path) -> None:
    """Replicas are merged into the trace as a stream, which checks ids only among the jobs
    in flight: two jobs with id 0 must still be a clear error (here from the reader, which
    names both lines), not a silent mix-up of their records."""
    args = files(tmp_path)
    (tmp_path / "jobs.csv").write_text(
        "id,tenant,submit,gpus,runtime,topology\n0,batch,0,8,5000,domain\n0,batch,60,8,50,domain\n"
    )
    code, _, err = run(*args, "--inference", str(tmp_path / "svc.yaml"))
    assert code == 2 and "expected a unique id (0 is also on line 2)" in err
    assert "Traceback" not in err
