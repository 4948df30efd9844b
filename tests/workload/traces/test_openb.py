"""openb pod lists: hand-checked mapping, fractional GPUs, gpu_spec, and the shared trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_files import accounted, write

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.traces import load_trace

# p0: CPU only. p1: whole GPU, scheduled 60 s after creation. p2: half a GPU on V100 (either
# memory size), best effort, still running. p3: 8 GPUs on an undisclosed type, never scheduled.
# p4: two GPUs, T4 or A10 (A10 is not in the catalog), deleted the second it was created.
PODS = """
    name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
    p0,1000,1024,0,0,,LS,Running,100,500,100
    p1,1000,1024,1,1000,,LS,Succeeded,100,700,160
    p2,1000,1024,1,500,V100M16|V100M32,BE,Running,200,1200,250
    p3,1000,1024,8,1000,G2,LS,Failed,300,400,
    p4,1000,1024,2,1000,T4|A10,Burstable,Succeeded,300,300,300
"""


def test_pods_map_to_jobs_by_hand(tmp_path: Path) -> None:
    read = load_trace("openb", write(tmp_path, "pods.csv", PODS))
    assert accounted(read)
    assert read.origin == 100.0
    got = [(j.id, j.submit, j.gpus, j.runtime, j.models, j.preemptible) for j in read.jobs]
    assert got == [
        (1, 0.0, 1, 540.0, (), False),  # deletion 700 - scheduled 160
        (2, 100.0, 1, 950.0, ("V100",), True),  # rounded up to one GPU; 1200 - 250
        (3, 200.0, 8, 100.0, (), False),  # never scheduled: 400 - created 300
        (4, 200.0, 2, 1.0, (), False),  # zero lifetime -> 1 s; A10 unknown -> any model
    ]
    assert {j.ref_model for j in read.jobs} == {"V100"}
    assert read.dropped == {"no GPUs": 1}
    assert read.adjusted == {
        "fractional GPU share rounded up to whole GPUs": 1,
        "never scheduled: run time = deletion - creation": 1,
        "running when the trace ends: run time cut there": 1,
        "zero lifetime set to 1 s": 1,
        "gpu_spec type not in the catalog: any model": 2,
    }


def test_fractional_skip_drops_and_counts_shared_gpus(tmp_path: Path) -> None:
    read = load_trace("openb", write(tmp_path, "pods.csv", PODS), fractional="skip")
    assert accounted(read)
    assert [j.id for j in read.jobs] == [1, 3, 4]
    assert read.dropped == {"no GPUs": 1, "fractional GPU share (fractional=skip)": 1}
    assert "fractional GPU share rounded up to whole GPUs" not in read.adjusted


def test_pods_without_times_need_durations(tmp_path: Path) -> None:
    text = """
        name,cpu_milli,memory_mib,num_gpu,gpu_milli
        p0,1000,1024,1,1000
        p1,1000,1024,0,0
        p2,1000,1024,1,250
    """
    path = write(tmp_path, "multigpu.csv", text)
    with pytest.raises(TraceError, match=r"column 'deletion_time': missing.*durations"):
        load_trace("openb", path)
    read = load_trace("openb", path, durations=3600.0, ref_model="T4")
    assert accounted(read)
    assert [(j.id, j.submit, j.gpus, j.runtime, j.ref_model) for j in read.jobs] == [
        (0, 0.0, 1, 3600.0, "T4"),
        (2, 0.0, 1, 3600.0, "T4"),
    ]
    assert read.adjusted == {"fractional GPU share rounded up to whole GPUs": 1}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("p9,1,1,x,1000,,LS,Running,1,2,1", r"line 3, column 'num_gpu': expected a whole number"),
        ("p9,1,1,1.5,1000,,LS,Running,1,2,1", r"line 3, column 'num_gpu'.*got '1.5'"),
        ("p9,1,1,1,1200,,LS,Running,1,2,1", r"line 3, column 'gpu_milli': expected .*0-1000"),
        ("p9,1,1,1,1000,,LS,Running,-5,2,1", r"line 3, column 'creation_time': expected seconds"),
        ("p9,1,1,1,1000,,LS,Running,10,5,", r"line 3, column 'deletion_time': expected a time >="),
        ("p9,1,1,1,1000,,LS,Running,10", r"line 3: expected 11 fields separated by ',', got 9"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path: Path, row: str, message: str) -> None:
    head = PODS.strip().splitlines()[0].strip()
    path = write(
        tmp_path, "bad.csv", f"{head}\np1,1000,1024,1,1000,,LS,Running,100,700,160\n{row}\n"
    )
    with pytest.raises(TraceError, match=message) as e:
        load_trace("openb", path)
    assert str(e.value).startswith(f"{path}: ")
    assert "\n" not in str(e.value)


def test_missing_required_column_and_bad_options(tmp_path: Path) -> None:
    path = write(tmp_path, "pods.csv", "name,num_gpu\np0,1\n")
    with pytest.raises(TraceError, match=r"header, column 'gpu_milli': missing required column"):
        load_trace("openb", path)
    with pytest.raises(ConfigError, match="fractional: expected one of round-up, skip"):
        load_trace("openb", path, fractional="half")
    with pytest.raises(ConfigError, match="ref_model: unknown GPU model 'K80'"):
        load_trace("openb", path, ref_model="K80")


def test_shared_default_pod_list_matches_its_readme(shared: Path) -> None:
    # README: 8152 pods; 1088 CPU-only, 6989 x1 GPU of which 3078 fractional, 16 x2, 15 x4, 44 x8.
    read = load_trace("openb", shared / "alibaba-openb-gpu2023/csv/openb_pod_list_default.csv")
    assert accounted(read)
    assert read.rows == 8152
    assert read.dropped == {"no GPUs": 1088}
    assert read.adjusted["fractional GPU share rounded up to whole GPUs"] == 3078
    sizes: dict[int, int] = {}
    for j in read.jobs:
        sizes[j.gpus] = sizes.get(j.gpus, 0) + 1
    assert sizes == {1: 6989, 2: 16, 4: 15, 8: 44}
    span_days = read.jobs[-1].submit / 86400
    assert 148 < span_days < 150  # "creation times span ~149 days"


def test_every_shared_pod_list_reads(shared: Path) -> None:
    for path in sorted((shared / "alibaba-openb-gpu2023/csv").glob("openb_pod_list_*.csv")):
        timed = "multigpu" not in path.name
        read = load_trace("openb", path, durations=None if timed else 86400.0)
        assert accounted(read), path
        assert read.dropped == {"no GPUs": 1088}, path
