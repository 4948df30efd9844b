"""Alibaba PAI 2020 task and job tables, and Slurm sacct exports: hand-checked and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_files import accounted, write

from gpufleet.errors import TraceError
from gpufleet.workload.traces import load_trace, pai

# Header-less, as shipped. j1: 2 workers at 50% of a V100 (each rounded up to 1 GPU) and a CPU
# parameter server; GPU tasks run 100..400. j2: 1 GPU on MISC for 100 s. j3: still running.
# j4: its only task asks for no GPU. j5: in the job table only.
TASKS = """
    j1,worker,2.0,Terminated,100.0,400.0,600.0,29.3,50.0,V100
    j1,ps,1.0,Terminated,90.0,410.0,600.0,29.3,,
    j2,tensorflow,1.0,Terminated,200.0,300.0,600.0,29.3,100.0,MISC
    j3,tensorflow,1.0,Running,250.0,,600.0,29.3,100.0,T4
    j4,ps,1.0,Terminated,250.0,260.0,600.0,29.3,0.0,
    j6,worker,4.0,Failed,500.0,560.0,600.0,29.3,200.0,T4
"""
JOBS = """
    j1,i1,u1,Terminated,50.0,410.0
    j2,i2,u2,Terminated,150.0,300.0
    j3,i3,u1,Running,240.0,
    j4,i4,u3,Terminated,245.0,260.0
    j5,i5,u3,Failed,250.0,251.0
    j6,i6,u4,Failed,450.0,560.0
"""


def test_pai_with_job_table_beside_the_task_table(tmp_path: Path) -> None:
    write(tmp_path, "pai_task_table.csv", TASKS)
    write(tmp_path, "pai_job_table.csv", JOBS)
    read = load_trace("pai", tmp_path)  # a directory holding both tables
    assert accounted(read)
    got = [(j.id, j.submit, j.gpus, j.runtime, j.tenant, j.ref_model) for j in read.jobs]
    assert got == [
        (0, 0.0, 2, 300.0, "u1", "V100"),  # submitted at 50; GPU tasks 100..400
        (1, 100.0, 1, 100.0, "u2", "V100"),  # MISC is not in the catalog: the default
        (5, 400.0, 8, 60.0, "u4", "T4"),  # 4 instances x 2 GPUs; failed keeps its time
    ]
    assert read.rows == 6
    assert read.dropped == {
        "no GPU tasks": 2,
        "unfinished: a GPU task without start or end time": 1,
    }
    assert read.adjusted == {
        "fractional GPU share rounded up to whole GPUs": 1,
        "gpu_type not in the catalog or mixed: ref_model V100": 1,
    }


def test_pai_task_table_alone_with_header_and_skip(tmp_path: Path) -> None:
    header = ",".join(pai.TASK_COLUMNS) + "\n"
    path = write(tmp_path, "tasks.csv", header + TASKS.replace("\n    ", "\n").lstrip())
    read = load_trace("pai", path, fractional="skip")
    assert accounted(read)
    # Without the job table: submit = first GPU task start, tenant "default", id = first row.
    assert [(j.id, j.submit, j.gpus, j.runtime, j.tenant) for j in read.jobs] == [
        (2, 0.0, 1, 100.0, "default"),
        (5, 300.0, 8, 60.0, "default"),
    ]
    assert read.rows == 5  # j1, j2, j3, j4, j6
    assert read.dropped == {
        "no GPU tasks": 1,
        "unfinished: a GPU task without start or end time": 1,
        "fractional GPU share (fractional=skip)": 1,
    }


def test_pai_job_table_gaps_and_repeats(tmp_path: Path) -> None:
    tasks = write(tmp_path, "pai_task_table.csv", TASKS)
    jobs = write(
        tmp_path, "jobs.csv", "j1,i1,u1,Terminated,,410.0\nj2,i2,u2,Terminated,150.0,300.0\n"
    )
    read = load_trace("pai", tasks, job_table=jobs)
    assert accounted(read)
    # j1 has no submission time: its first GPU task start, 100, is used; j2 submits at 150.
    assert [(j.id, j.submit) for j in read.jobs] == [(0, 0.0), (1, 50.0)]
    assert read.adjusted["no submission time in pai_job_table: first GPU task start used"] == 1
    assert read.dropped["GPU tasks of a job missing from pai_job_table"] == 2  # j3, j6
    jobs.write_text("j1,i1,u1,Terminated,1.0,2.0\nj2,i2,u2,Terminated,1.0,2.0\nj1,i1,u1,X,1,2\n")
    with pytest.raises(TraceError, match=r"line 3, column 'job_name': expected one row per job "
                       r"\('j1' is also on line 1\), got 'j1'"):  # fmt: skip
        load_trace("pai", tasks, job_table=jobs)


def test_pai_bad_input(tmp_path: Path) -> None:
    path = write(
        tmp_path, "pai_task_table.csv", "j1,worker,two,Terminated,1.0,2.0,600.0,1.0,100.0,T4\n"
    )
    with pytest.raises(TraceError, match=r"line 1, column 'inst_num': expected a whole number"):
        load_trace("pai", path)
    path.write_text("j1,worker,1.0,Terminated,1.0\n")
    with pytest.raises(TraceError, match=r"line 1: expected 10 fields separated by ','"):
        load_trace("pai", path)


SACCT = """
    JobID|User|Account|Partition|Submit|Start|End|Elapsed|AllocTRES|ReqTRES|State|Timelimit
    100|alice|lab-a|gpu|2025-01-01T00:00:00|2025-01-01T00:01:00|2025-01-01T01:01:00|01:00:00|billing=8,cpu=8,gres/gpu=2,gres/gpu:a100=2,mem=64G,node=1|billing=8,cpu=8,gres/gpu=2,mem=64G,node=1|COMPLETED|02:00:00
    100.batch||lab-a||2025-01-01T00:01:00|2025-01-01T00:01:00|2025-01-01T01:01:00|01:00:00|cpu=8,gres/gpu=2,mem=64G,node=1||COMPLETED|
    101|bob|lab-b|gpu|2025-01-01T00:10:00|2025-01-01T00:20:00|2025-01-01T00:30:00|00:10:00|billing=4,cpu=4,gres/gpu:h100=4,mem=32G,node=1||CANCELLED by 0|1-00:00:00
    102|bob|lab-b|cpu|2025-01-01T00:15:00|2025-01-01T00:20:00|2025-01-01T00:30:00|00:10:00|billing=4,cpu=4,mem=32G,node=1||COMPLETED|UNLIMITED
    103|carol|lab-a|gpu|2025-01-01T00:20:00|Unknown|Unknown|00:00:00||billing=1,gres/gpu=1|PENDING|01:00:00
    104_1|carol|lab-a|gpu|2025-01-01T00:30:00|2025-01-01T00:30:00|2025-01-01T02:30:00|1-01:00:00|cpu=2,gres/gpu:k80=1,node=1||TIMEOUT|Partition_Limit
    105|dave|lab-b|gpu|2025-01-01T00:40:00|2025-01-01T00:41:00|Unknown|00:05:00|cpu=2,gres/gpu=1,node=1||RUNNING|01:00:00
    106|dave|lab-b|gpu|2025-01-01T00:45:00|2025-01-01T00:45:00|2025-01-01T00:45:00|00:00:00|cpu=2,gres/gpu=1,node=1||FAILED|01:00:00
"""  # noqa: E501 (trace rows are long)


def test_sacct_by_hand(tmp_path: Path) -> None:
    read = load_trace("sacct", write(tmp_path, "sacct.txt", SACCT))
    assert accounted(read)
    got = [(j.id, j.submit, j.gpus, j.runtime, j.tenant, j.group, j.ref_model, j.time_limit)
           for j in read.jobs]  # fmt: skip
    assert got == [
        (0, 0.0, 2, 3600.0, "alice", "lab-a", "A100", 7200.0),
        (2, 600.0, 4, 600.0, "bob", "lab-b", "H100", 86400.0),  # typed only: 4 GPUs, H100
        (5, 1800.0, 1, 90000.0, "carol", "lab-a", "H100", None),  # K80: default; no own limit
    ]
    assert read.dropped == {
        "job step rows (JobID with '.')": 1,
        "no GPUs": 1,
        "not finished (State PENDING, RUNNING, ...)": 2,
        "zero run time": 1,
    }
    assert read.adjusted == {"gres/gpu type not in the catalog or absent: ref_model default": 1}


def test_sacct_without_elapsed_uses_end_minus_start(tmp_path: Path) -> None:
    text = """
        JobID|Submit|Start|End|ReqTRES
        7|2025-01-01T00:00:00|2025-01-01T00:00:30|2025-01-01T00:10:30|cpu=1,gres/gpu=8
        8|2025-01-01T00:00:10|None|None|cpu=1,gres/gpu=8
    """
    read = load_trace("sacct", write(tmp_path, "s.txt", text), ref_model="B200")
    assert [(j.id, j.gpus, j.runtime, j.ref_model) for j in read.jobs] == [(0, 8, 600.0, "B200")]
    assert read.dropped == {"never started (no Start)": 1}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("9|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:01:00|10 minutes|gres/gpu=1",
         r"line 3, column 'Elapsed': expected \[D-\]HH:MM:SS or MM:SS, got '10 minutes'"),
        ("9|2025-13-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:01:00|00:01:00|gres/gpu=1",
         r"line 3, column 'Submit': expected an ISO date-time"),
        ("9|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:01:00|00:01:00",
         r"line 3: expected 6 fields separated by '\|', got 5"),
    ],
)  # fmt: skip
def test_sacct_bad_input(tmp_path: Path, row: str, message: str) -> None:
    head = "JobID|Submit|Start|End|Elapsed|AllocTRES"
    ok = "8|2025-01-01T00:00:00|2025-01-01T00:00:00|2025-01-01T00:01:00|00:01:00|gres/gpu=1"
    path = write(tmp_path, "s.txt", f"{head}\n{ok}\n{row}\n")
    with pytest.raises(TraceError, match=message) as e:
        load_trace("sacct", path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_sacct_needs_a_gpu_column(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", "JobID|Submit|Elapsed\n1|2025-01-01T00:00:00|00:01:00\n")
    with pytest.raises(TraceError, match=r"header, column 'ReqTRES': missing required column"):
        load_trace("sacct", path)
