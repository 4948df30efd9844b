"""Pollux workloads (no run time: a duration source is required) and its Philly-derived table."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_files import accounted, write

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.traces import load_trace

WORKLOAD = """
    name,time,application,num_replicas,batch_size
    cifar10-0,107,cifar10,6,2048
    ncf-1,135,ncf,1,32768
    bert-2,300,bert,0,384
"""
TABLE = """
    timestamp,duration,num_gpus,gpu_time,cluster
    2017-10-09 07:01:55,66.0,1,66.0,11cb48
    2017-10-09 06:13:03,2951.0,4,11804.0,6214e9
    2017-10-09 06:13:03,10.0,0,0,6214e9
"""


def test_workload_needs_a_duration_source(tmp_path: Path) -> None:
    path = write(tmp_path, "workload-1.csv", WORKLOAD)
    with pytest.raises(TraceError, match=r"workload-1.csv: header, column 'duration': .*durations"):
        load_trace("pollux", path)


def test_workload_durations_by_name_then_application(tmp_path: Path) -> None:
    path = write(tmp_path, "workload-1.csv", WORKLOAD)
    read = load_trace("pollux", path, durations={"cifar10": 1000.0, "ncf-1": 50.0, "ncf": 70.0})
    assert accounted(read)
    assert read.origin == 107.0
    assert [(j.id, j.submit, j.gpus, j.runtime, j.ref_model) for j in read.jobs] == [
        (0, 0.0, 6, 1000.0, "T4"),  # by application
        (1, 28.0, 1, 50.0, "T4"),  # the job name wins over "ncf"
    ]
    assert read.dropped == {"no GPUs": 1}
    one = load_trace("pollux", path, durations=600.0)
    assert [j.runtime for j in one.jobs] == [600.0, 600.0]


def test_workload_job_without_a_duration_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "workload-1.csv", WORKLOAD)
    with pytest.raises(TraceError, match=r"line 3, column 'name': expected .*durations.*'ncf-1'"):
        load_trace("pollux", path, durations={"cifar10": 1000.0})
    with pytest.raises(ConfigError, match="durations: expected seconds > 0"):
        load_trace("pollux", path, durations={"cifar10": 0.0})


def test_philly_derived_table(tmp_path: Path) -> None:
    read = load_trace("pollux", write(tmp_path, "philly.csv", TABLE))
    assert accounted(read)
    assert [(j.id, j.submit, j.gpus, j.runtime, j.group) for j in read.jobs] == [
        (1, 0.0, 4, 2951.0, "6214e9"),
        (0, 2932.0, 1, 66.0, "11cb48"),  # 07:01:55 - 06:13:03 = 48 min 52 s
    ]
    assert {j.ref_model for j in read.jobs} == {"V100"}
    assert read.dropped == {"no GPUs": 1}
    with pytest.raises(ConfigError, match="durations apply to Pollux workload files only"):
        load_trace("pollux", write(tmp_path, "philly.csv", TABLE), durations=60.0)


def test_other_header_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="expected a Pollux workload"):
        load_trace("pollux", write(tmp_path, "x.csv", "a,b\n1,2\n"))


def test_shared_workloads(shared: Path) -> None:
    root = shared / "pollux-osdi21"
    counts = {"workloads": 160, "workloads-realistic": 160, "workloads-0.5": 80}
    counts |= {"workloads-1.5": 240, "workloads-2.0": 320}
    for folder, jobs in counts.items():
        for n in range(1, 9):
            read = load_trace("pollux", root / folder / f"workload-{n}.csv", durations=3600.0)
            assert accounted(read)
            assert len(read.jobs) == jobs and not read.dropped
            assert max(j.submit for j in read.jobs) < 8 * 3600  # "over 8 h"
    six = load_trace("pollux", root / "workloads/workload-6.csv", durations=3600.0)
    assert six.origin == 53.0  # its first job arrives at 53 s; submits are moved by that


def test_shared_philly_table(shared: Path) -> None:
    read = load_trace("pollux", shared / "pollux-osdi21/traces/philly.csv")
    assert accounted(read)
    assert len(read.jobs) == 82_247 and not read.dropped
    assert len({j.group for j in read.jobs}) == 15  # "from 15 Philly VCs"
    days = read.jobs[-1].submit / 86400
    assert 108 < days < 109  # 2017-09-04 10:30:41 .. 2017-12-22 08:02:11
