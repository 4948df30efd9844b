"""The format table, options, format guessing, duration options, GPU names and statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_job_logs import HELIOS, TIRESIAS
from test_pai_sacct import SACCT
from trace_files import write

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.job import Job
from gpufleet.workload.traces import (
    FORMATS,
    TraceRead,
    durations_option,
    guess_format,
    load_any,
    load_trace,
    read_trace,
)
from gpufleet.workload.traces.gpu_names import catalog_model
from gpufleet.workload.traces.stats import trace_stats


def test_formats_table() -> None:
    assert list(FORMATS) == [
        "openb", "pollux", "tiresias", "helios", "acme", "philly", "pai", "sacct",
    ]  # fmt: skip


def test_unknown_format_and_option_list_the_choices(tmp_path: Path) -> None:
    path = write(tmp_path, "jobs.csv", TIRESIAS)
    with pytest.raises(ConfigError, match="unknown trace format 'alibaba'; expected one of openb"):
        read_trace("alibaba", path)
    with pytest.raises(ConfigError, match="'fractional' does not apply to the tiresias format"):
        read_trace("tiresias", path, fractional="skip")
    assert read_trace("tiresias", path, fractional=None) == load_trace("tiresias", path).jobs


def test_reading_twice_gives_equal_jobs(tmp_path: Path) -> None:
    path = write(tmp_path, "cluster_log.csv", HELIOS)
    assert read_trace("helios", path) == read_trace("helios", path)


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n", "openb"),
        ("a.csv", "name,time,application,num_replicas,batch_size\n", "pollux"),
        ("a.csv", "timestamp,duration,num_gpus,gpu_time,cluster\n", "pollux"),
        ("a.csv", "job_id,num_gpu,submit_time,model_name,duration,interval\n", "tiresias"),
        ("a.csv", "job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,duration\n", "helios"),
        ("a.csv", "job_id,user,node_num,gpu_num,type,state,submit_time,duration\n", "acme"),
        ("a.txt", "JobID|User|Submit|Elapsed|AllocTRES\n", "sacct"),
        ("a.csv", "id,submit,gpus,runtime\n", "jobs"),
        ("cluster_job_log.json", "[]", "philly"),
        ("pai_task_table.csv", "j1,worker,1.0,Terminated,1.0,2.0,1,1,100,T4\n", "pai"),
        ("a.csv", "x,y\n", None),
    ],
)  # fmt: skip
def test_guess_format(tmp_path: Path, name: str, text: str, fmt: str | None) -> None:
    assert guess_format(write(tmp_path, name, text)) == fmt


def test_load_any_reads_gpufleet_job_files(tmp_path: Path) -> None:
    from gpufleet.workload.store import write_parquet

    jobs = read_trace("helios", write(tmp_path, "cluster_log.csv", HELIOS))
    write_parquet(jobs, tmp_path / "jobs.parquet")
    read = load_any(tmp_path / "jobs.parquet")
    assert read.format == "jobs" and read.jobs == jobs and read.rows == len(jobs)
    with pytest.raises(TraceError, match=r"cannot tell the trace format.*pass --format"):
        load_any(write(tmp_path, "x.csv", "x,y\n"))
    assert load_any(write(tmp_path, "s.txt", SACCT)).format == "sacct"


def test_durations_option(tmp_path: Path) -> None:
    assert durations_option("90m") == 5400.0
    assert durations_option("3600") == 3600.0
    path = write(tmp_path, "d.csv", "name,duration\ncifar10,2h\n\nncf-1,120\n")
    assert durations_option(str(path)) == {"cifar10": 7200.0, "ncf-1": 120.0}
    with pytest.raises(ConfigError, match="durations: not a duration: 'soon'"):
        durations_option("soon")
    path.write_text("name,duration\ncifar10,later\n")
    with pytest.raises(TraceError, match=r"d.csv: line 2, column 2: not a duration: 'later'"):
        durations_option(str(path))


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("V100M16", "V100"), ("V100M32", "V100"), ("Tesla V100-SXM2-32GB", "V100"),
        ("A100-SXM4-80GB", "A100"), ("nvidia_a100_80gb_pcie", "A100"), ("t4", "T4"),
        ("h100", "H100"), ("GB200", "GB200"), ("B200", "B200"), ("GH200", "GH200"),
        ("RTX PRO 6000 Blackwell", "RTXPRO6000"),
        ("A10", None), ("H800", None), ("A800-SXM4-80GB", None), ("P100", None), ("MISC", None),
        ("G2", None), ("T40", None), ("", None),
    ],
)  # fmt: skip
def test_catalog_model(name: str, model: str | None) -> None:
    assert catalog_model(name) == model


def _job(i: int, submit: float, gpus: int, runtime: float) -> Job:
    return Job(id=i, tenant="t", submit=submit, gpus=gpus, runtime=runtime)


def test_stats_by_hand() -> None:
    jobs = [_job(0, 0.0, 1, 3600.0), _job(1, 1800.0, 2, 1800.0), _job(2, 7200.0, 8, 7200.0)]
    read = TraceRead("helios", Path("x.csv"), jobs, 5, {"no GPUs": 2}, {"x": 1}, 0.0)
    s = trace_stats(read)
    assert (s.rows, s.jobs, s.gpu_hours, s.span_hours) == (5, 3, 18.0, 2.0)
    assert s.arrivals_per_hour == 1.5 and s.peak_arrivals_per_hour == 2
    assert [(r.label, r.jobs, r.gpu_hours) for r in s.sizes] == [
        ("1", 1, 1.0), ("2", 1, 1.0), ("3-4", 0, 0.0), ("5-8", 1, 16.0),
    ]  # fmt: skip
    assert s.runtime_mean == 4200.0 and s.runtime_max == 7200.0
    assert dict(s.runtime_percentiles)[50] == 3600.0
    assert dict(s.runtime_percentiles)[10] == 1800.0 + 0.2 * 1800.0  # linear interpolation
    assert s.dropped == {"no GPUs": 2} and s.adjusted == {"x": 1}


def test_stats_of_no_jobs() -> None:
    s = trace_stats(TraceRead("helios", Path("x.csv"), [], 2, {"no GPUs": 2}, {}, 0.0))
    assert (s.jobs, s.gpu_hours, s.arrivals_per_hour, s.peak_arrivals_per_hour) == (0, 0, None, 0)
    assert [r.label for r in s.sizes] == ["1"]
