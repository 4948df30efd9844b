"""The Slurm executor without Slurm: parsers on outputs written by hand after Slurm 22.05's,
the state mapping, the sbatch options, and errors from stand-in commands."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gpufleet.engine.executor import Launch, NodeGpus, Report
from gpufleet.engine.slurm import (
    ACTIVE_STATES,
    FINAL_STATES,
    Final,
    QueueRow,
    SlurmCommandError,
    SlurmExecutor,
    batch_script,
    parse_exit_code,
    parse_sacct,
    parse_sbatch,
    parse_scontrol_job,
    parse_squeue,
)
from gpufleet.errors import ConfigError, ExecutorError, GpufleetError


def launch(*gpus: int, time_limit: float | None = None) -> Launch:
    """Job 7 of tenant-a on nodes c-0000, c-0001, ... with these GPU counts."""
    nodes = tuple(NodeGpus(f"c-{i:04d}", tuple(range(n))) for i, n in enumerate(gpus))
    return Launch(7, "tenant-a", "site", "c", nodes, command="true", time_limit=time_limit)


# -- parsers -----------------------------------------------------------------------------------
def test_sbatch_parsable() -> None:
    assert parse_sbatch("4242\n") == "4242"
    assert parse_sbatch("4242;cluster-b\n") == "4242"
    assert parse_sbatch("sbatch: some notice\n4242\n") == "4242"
    for bad in ("", "\n", "Submitted batch job 4242\n", "abc;x\n"):
        with pytest.raises(ExecutorError, match="no job id"):
            parse_sbatch(bad)


def test_squeue_format_rows() -> None:
    out = (
        "17|RUNNING|gpufleet-3\n"
        "18|PENDING|a|name|with|bars\n"
        "\n"
        "19|CANCELLED by 0|gpufleet-5\n"
        "20_3|COMPLETED|array\n"
        "garbage line\n"
    )
    assert parse_squeue(out) == {
        "17": QueueRow("17", "RUNNING", "gpufleet-3"),
        "18": QueueRow("18", "PENDING", "a|name|with|bars"),
        "19": QueueRow("19", "CANCELLED", "gpufleet-5"),
        "20_3": QueueRow("20_3", "COMPLETED", "array"),
    }
    assert parse_squeue("") == {}


def test_sacct_parsable2_allocations() -> None:
    out = (
        "31|gpufleet-1|COMPLETED|0:0|None\n"
        "31.batch|batch|COMPLETED|0:0|\n"
        "32|gpufleet-2|CANCELLED by 1000|0:15|None\n"
        "33|gpufleet-3|NODE_FAIL|1:0|\n"
        "34|gpufleet-4|PENDING|0:0|BeginTime\n"
        "34|gpufleet-4|TIMEOUT|0:15|TimeLimit\n"  # requeued: the last record wins
        "35|gpufleet-5|FAILED|2:0\n"  # no Reason column (--completion output)
        "|||\n"
    )
    jobs = parse_sacct(out)
    assert jobs == {
        "31": ("gpufleet-1", Final("COMPLETED", 0, 0, "None")),
        "32": ("gpufleet-2", Final("CANCELLED", 0, 15, "None")),
        "33": ("gpufleet-3", Final("NODE_FAIL", 1, 0, "")),
        "34": ("gpufleet-4", Final("TIMEOUT", 0, 15, "TimeLimit")),
        "35": ("gpufleet-5", Final("FAILED", 2, 0, "")),
    }


def test_scontrol_oneliner_values_with_spaces() -> None:
    out = (
        "JobId=41 JobName=gpufleet-9 UserId=root(0) GroupId=root(0) MCS_label=N/A "
        "JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 "
        "RunTime=00:00:01 TimeLimit=00:02:00 AllocNode:Sid=localhost:1750 "
        "Command=/tmp/run me.sh --flag x WorkDir=/tmp/work dir Comment=gpufleet:9 note "
        "CPUs/Task=1 TresPerNode=gres:gpu:2 Power=\n"
    )
    f = parse_scontrol_job(out)
    assert f["JobId"] == "41" and f["JobName"] == "gpufleet-9"
    assert (f["JobState"], f["Reason"], f["ExitCode"]) == ("FAILED", "NonZeroExitCode", "3:0")
    assert f["Command"] == "/tmp/run me.sh --flag x"
    assert f["WorkDir"] == "/tmp/work dir"
    assert f["Comment"] == "gpufleet:9 note"
    assert f["AllocNode:Sid"] == "localhost:1750" and f["CPUs/Task"] == "1"
    assert f["TresPerNode"] == "gres:gpu:2" and f["Power"] == ""
    assert parse_scontrol_job("") == {}


def test_exit_code() -> None:
    assert parse_exit_code("0:0") == (0, 0)
    assert parse_exit_code("3:0") == (3, 0)
    assert parse_exit_code(" 0:15 ") == (0, 15)
    for bad in ("", "3", "a:b", "-1:0", ":"):
        assert parse_exit_code(bad) == (None, None)


# -- states ------------------------------------------------------------------------------------
def test_every_final_state_maps_to_an_ended_gpufleet_state() -> None:
    # the ended states of the Report docstring in engine/executor.py
    assert set(FINAL_STATES.values()) == {"completed", "failed", "cancelled", "timeout"}
    assert not ACTIVE_STATES & FINAL_STATES.keys()
    expected = {
        "COMPLETED": "completed",
        "FAILED": "failed",
        "NODE_FAIL": "failed",
        "OUT_OF_MEMORY": "failed",
        "CANCELLED": "cancelled",
        "TIMEOUT": "timeout",
    }
    for slurm_state, state in expected.items():
        assert Final(slurm_state, 0, 0).report(1, "9").state == state


def test_reports_carry_exit_code_and_reason() -> None:
    assert Final("COMPLETED", 0, 0, "None").report(5, "77") == Report(
        5, "completed", 0, "slurm job 77: COMPLETED, ExitCode=0:0"
    )
    # a 1-minute limit takes 60-90 s in real Slurm, so TIMEOUT's mapping is checked here
    assert Final("TIMEOUT", 0, 15, "TimeLimit").report(5, "77") == Report(
        5, "timeout", 143, "slurm job 77: TIMEOUT, ExitCode=0:15, reason TimeLimit"
    )
    assert Final("OUT_OF_MEMORY", 0, 9).report(5, "77").exit_code == 137
    assert Final("FAILED", 2, 0, "NonZeroExitCode").report(5, "77").exit_code == 2
    assert Final("FAILED").report(5, "77") == Report(5, "failed", None, "slurm job 77: FAILED")


# -- what gpufleet asks of sbatch ----------------------------------------------------------------
def test_sbatch_options(tmp_path: Path) -> None:
    ex = SlurmExecutor(
        partition="gpu",
        account_map={"tenant-a": "proj-a"},
        gres_name="gpu:h100",
        output_dir=tmp_path,
        extra_args=["--qos=normal"],
    )
    assert ex.sbatch_args(launch(4, 4, time_limit=3601.0)) == [
        "--parsable",
        "--job-name=gpufleet-7",
        "--comment=gpufleet:7",
        f"--output={tmp_path}/gpufleet-7.out",
        "--nodes=2",
        "--partition=gpu",
        "--account=proj-a",
        "--gres=gpu:h100:4",
        "--time=61",
        "--qos=normal",
    ]


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(0.5, "1"), (60.0, "1"), (60.5, "2"), (5400.0, "90")]
)
def test_time_limit_rounds_up_to_minutes(seconds: float, minutes: str) -> None:
    args = SlurmExecutor().sbatch_args(launch(1, time_limit=seconds))
    assert f"--time={minutes}" in args


def test_uneven_nodes_ask_for_total_gpus_and_no_gpus_ask_none() -> None:
    ex = SlurmExecutor()
    uneven = ex.sbatch_args(launch(8, 4))
    assert "--gpus=12" in uneven and "--nodes=2" in uneven
    assert not any(a.startswith("--gres") for a in uneven)
    assert "--gpus=h100:12" in SlurmExecutor(gres_name="gpu:h100").sbatch_args(launch(8, 4))
    with pytest.raises(ConfigError, match="unevenly"):
        SlurmExecutor(gres_name="mps").sbatch_args(launch(8, 4))
    none = ex.sbatch_args(launch(0))
    assert not any(a.startswith(("--gres", "--gpus", "--time", "--account")) for a in none)


def test_account_map_must_name_every_tenant() -> None:
    ex = SlurmExecutor(account_map={"tenant-b": "proj-b"})
    with pytest.raises(ConfigError, match="tenant 'tenant-a' has no Slurm account"):
        ex.sbatch_args(launch(1))


def test_node_map_pins_nodes() -> None:
    ex = SlurmExecutor(node_map={"c-0000": "gpu-a01", "c-0001": "gpu-a02"})
    assert "--nodelist=gpu-a01,gpu-a02" in ex.sbatch_args(launch(8, 8))
    with pytest.raises(ConfigError, match="c-0002"):
        ex.sbatch_args(launch(8, 8, 8))


def test_batch_script() -> None:
    own = "#!/bin/bash\n#SBATCH --gres=gpu:1\nsrun train.py"
    assert batch_script(Launch(3, "t", "s", "c", (), script=own)) == own + "\n"
    wrapped = batch_script(Launch(3, "t", "s", "c", (), command="python train.py --lr 1e-3"))
    assert wrapped == "#!/bin/sh\n# gpufleet job 3\npython train.py --lr 1e-3\n"
    with pytest.raises(ConfigError, match="job 3"):
        batch_script(Launch(3, "t", "s", "c", ()))


# -- command errors, with stand-in commands --------------------------------------------------
def _tool(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_failed_command_raises_with_command_and_stderr(tmp_path: Path) -> None:
    _tool(tmp_path, "sbatch", 'echo "sbatch: error: Batch job submission failed: x" >&2; exit 1')
    ex = SlurmExecutor(binaries=tmp_path, output_dir=tmp_path / "out")
    with pytest.raises(SlurmCommandError) as err:
        ex.launch(launch(1))
    assert isinstance(err.value, GpufleetError)
    assert err.value.command[0] == str(tmp_path / "sbatch")
    assert err.value.stderr == "sbatch: error: Batch job submission failed: x"
    assert "exit code 1" in str(err.value) and "submission failed" in str(err.value)
    assert ex.poll() == []


def test_hanging_command_times_out(tmp_path: Path) -> None:
    _tool(tmp_path, "sbatch", "exec sleep 10")
    ex = SlurmExecutor(binaries=tmp_path, output_dir=tmp_path / "out", timeout=0.3)
    with pytest.raises(SlurmCommandError, match=r"no answer in 0\.3 s"):
        ex.launch(launch(1))


def test_missing_command(tmp_path: Path) -> None:
    ex = SlurmExecutor(binaries=tmp_path, output_dir=tmp_path / "out")
    with pytest.raises(SlurmCommandError, match="sbatch not found"):
        ex.launch(launch(1))


def test_unknown_job_id_is_not_an_error_and_sacct_falls_back(tmp_path: Path) -> None:
    _tool(tmp_path, "sbatch", "echo 51")
    invalid = 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1'
    _tool(tmp_path, "squeue", invalid)
    _tool(tmp_path, "scontrol", invalid)
    _tool(tmp_path, "sacct", 'echo "Slurm accounting storage is disabled" >&2; exit 1')
    ex = SlurmExecutor(binaries=tmp_path, output_dir=tmp_path / "out")
    assert ex.launch(launch(1)) == "51"
    [report] = ex.poll()
    assert (report.job_id, report.state, report.exit_code) == (7, "failed", None)
    assert "outcome lost" in report.detail
    assert ex.final_source == "scontrol"  # accounting disabled, and no --completion either
    assert ex.poll() == []
