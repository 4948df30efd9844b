"""The local executor on real `sh` processes: GPUs, output, exit codes, limits, restarts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gpufleet.engine.executor import Launch, NodeGpus, Report
from gpufleet.engine.local import LocalExecutor


def _launch(job_id: int, command: str, **kw: object) -> Launch:
    nodes = kw.pop("nodes", (NodeGpus("c-0000", (2, 3)),))
    return Launch(job_id, "t", "site", "c", nodes, command=command, **kw)  # type: ignore[arg-type]


def _wait(ex: LocalExecutor, n: int = 1, timeout: float = 10.0) -> list[Report]:
    out: list[Report] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out += ex.poll()
        time.sleep(0.02)
    return out


def test_runs_command_with_its_gpus(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path)
    xid = ex.launch(_launch(1, 'echo "gpus=$CUDA_VISIBLE_DEVICES job=$GPUFLEET_JOB_ID"'))
    assert xid.split("@")[0].isdigit()
    assert _wait(ex) == [Report(1, "completed", 0)]
    assert (ex.job_dir(1) / "0.out").read_text() == "gpus=2,3 job=1\n"
    assert ex.poll() == []  # reported once


def test_failure_and_env(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path)
    ex.launch(_launch(1, 'echo "$GREETING" >&2; exit 3', env=(("GREETING", "hi"),)))
    [r] = _wait(ex)
    assert (r.state, r.exit_code) == ("failed", 3)
    assert (ex.job_dir(1) / "0.err").read_text() == "hi\n"


def test_time_limit_and_cancel(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path, kill_grace=1.0)
    ex.launch(_launch(1, "sleep 30", time_limit=0.3))
    ex.launch(_launch(2, "sleep 30", nodes=(NodeGpus("c-0001", (0,)),)))
    ex.cancel(2)
    reports = sorted(_wait(ex, 2), key=lambda r: r.job_id)
    assert [(r.job_id, r.state) for r in reports] == [(1, "timeout"), (2, "cancelled")]


def test_one_process_per_node(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path)
    nodes = (NodeGpus("c-0000", (6, 7)), NodeGpus("c-0001", (0, 1, 2)))
    ex.launch(
        _launch(1, 'echo "$GPUFLEET_NODE $GPUFLEET_NODE_RANK $CUDA_VISIBLE_DEVICES"', nodes=nodes)
    )
    assert _wait(ex) == [Report(1, "completed", 0)]
    assert (ex.job_dir(1) / "0.out").read_text() == "c-0000 0 6,7\n"
    assert (ex.job_dir(1) / "1.out").read_text() == "c-0001 1 0,1,2\n"


def test_reconcile_adopts_a_running_job_and_reads_exit_codes(tmp_path: Path) -> None:
    """A new executor (the control plane restarted) adopts a live process by pid and start
    time, and reads the exit code of one that ended meanwhile; a job with no recorded
    process is reported lost; launching an already launched job does not start it again."""
    old = LocalExecutor(tmp_path)
    flag = tmp_path / "go"
    running = old.launch(_launch(1, f"while [ ! -e {flag} ]; do sleep 0.05; done; exit 4"))
    ended = old.launch(_launch(2, "exit 5"))
    while not (old.job_dir(2) / "0.rc").exists():
        time.sleep(0.02)
    new = LocalExecutor(tmp_path)
    reports = new.reconcile({1: running, 2: ended, 3: ""})
    assert sorted((r.job_id, r.state, r.exit_code) for r in reports) == [
        (2, "failed", 5),
        (3, "failed", None),
    ]
    assert new.launch(_launch(1, "echo again >> twice")) == running
    assert not (new.job_dir(1) / "twice").exists()
    flag.touch()
    [r] = _wait(new)
    assert (r.job_id, r.state, r.exit_code) == (1, "failed", 4)
    old.poll()  # reap the old executor's children


def test_reconcile_without_executor_id_finds_the_pid_file(tmp_path: Path) -> None:
    """A crash between launch and recording the executor id: the pid file still tells."""
    old = LocalExecutor(tmp_path)
    old.launch(_launch(1, "sleep 0.3"))
    while not (old.job_dir(1) / "0.pid").exists():
        time.sleep(0.01)
    new = LocalExecutor(tmp_path)
    assert new.reconcile({1: ""}) == []
    assert _wait(new) == [Report(1, "completed", 0)]
    old.poll()
    assert os.path.exists(old.job_dir(1) / "0.rc")


def test_a_job_launched_again_after_its_run_ended_runs_afresh(tmp_path: Path) -> None:
    """A preempted job runs again: its earlier run's files go to run-1/, the new run starts."""
    ex = LocalExecutor(tmp_path)
    ex.launch(_launch(1, "echo first"))
    assert _wait(ex) == [Report(1, "completed", 0)]
    ex.launch(_launch(1, "echo second"))
    assert _wait(ex) == [Report(1, "completed", 0)]
    assert (ex.job_dir(1) / "run-1" / "0.out").read_text() == "first\n"
    assert (ex.job_dir(1) / "0.out").read_text() == "second\n"
