"""Tiresias, Helios and Acme job logs: one row per job, hand-checked, plus the shared samples."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from trace_files import accounted, write

from gpufleet.errors import TraceError
from gpufleet.workload.traces import load_trace
from gpufleet.workload.traces.tiresias import read_job_sizes

TIRESIAS = """
    job_id,num_gpu,submit_time,iterations,model_name,duration,interval
    0,1,10,100,vgg19,164,30
    1,8,40,133,vgg11,147,23
    2,0,50,1,vgg16,10,1
    3,2,45,157,inception4,0,26
"""
HELIOS = """
    job_id,user,vc,jobname,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue
    1,uA,vc1,j,1,4,1,COMPLETED,2020-04-01 00:00:10,2020-04-01 00:01:00,2020-04-01 00:11:00,600,50
    2,uB,vc2,j,0,4,1,COMPLETED,2020-04-01 00:00:05,2020-04-01 00:00:06,2020-04-01 00:00:16,10,1
    3,uA,vc1,j,16,64,2,FAILED,2020-04-01 01:00:10,2020-04-01 01:00:20,2020-04-01 01:00:50,30,10
    4,uC,vc2,j,8,32,1,CANCELLED,2020-04-01 02:00:10,,,0,0
    5,uC,vc2,j,2,8,1,CANCELLED,2020-04-01 00:30:10,2020-04-01 00:30:20,2020-04-01 00:40:20,,10
"""
ACME = """
    job_id,user,node_num,gpu_num,cpu_num,type,state,submit_time,start_time,end_time,duration,queue,gpu_time
    a1,u01,1,8,128,Other,FAILED,2023-03-01 00:10:00+08:00,2023-03-01 00:10:30+08:00,2023-03-01 00:12:30+08:00,120,30,960.0
    a2,u01,2,16,256,Pretrain,COMPLETED,2023-03-01 00:20:00+08:00,2023-03-01 00:20:10+08:00,2023-03-01 01:20:10+08:00,3600,10,57600.0
    a3,u02,1,1,8,SFT,COMPLETED,2023-02-28 16:15:00+00:00,2023-02-28 16:15:00+00:00,2023-02-28 16:16:40+00:00,100,0,100.0
    a4,u03,1,0,8,Debug,COMPLETED,2023-03-01 00:00:00+08:00,2023-03-01 00:00:00+08:00,2023-03-01 00:00:10+08:00,10,0,0.0
    a5,u04,1,2,16,Quantum,CANCELLED,2023-03-01 00:40:00+08:00,2023-03-01 00:40:05+08:00,2023-03-01 00:41:05+08:00,60,5,120.0
    a6,u04,1,4,32,evaluation,COMPLETED,2023-03-01 00:50:00+08:00,2023-03-01 00:50:05+08:00,2023-03-01 00:51:05+08:00,60,5,240.0
"""  # noqa: E501 (trace rows are long)


def test_tiresias_by_hand(tmp_path: Path) -> None:
    read = load_trace("tiresias", write(tmp_path, "jobs.csv", TIRESIAS))
    assert accounted(read)
    assert [(j.id, j.submit, j.gpus, j.runtime) for j in read.jobs] == [
        (0, 0.0, 1, 164.0),
        (1, 30.0, 8, 147.0),
    ]
    assert read.origin == 10.0
    assert read.dropped == {"no GPUs": 1, "zero run time": 1}


def test_helios_by_hand(tmp_path: Path) -> None:
    read = load_trace("helios", write(tmp_path, "cluster_log.csv", HELIOS))
    assert accounted(read)
    got = [(j.id, j.submit, j.gpus, j.runtime, j.tenant, j.group) for j in read.jobs]
    assert got == [
        (0, 0.0, 1, 600.0, "uA", "vc1"),
        (4, 1800.0, 2, 600.0, "uC", "vc2"),  # empty duration: end - start
        (2, 3600.0, 16, 30.0, "uA", "vc1"),  # failed jobs keep their recorded duration
    ]
    assert read.origin == datetime(2020, 4, 1, 0, 0, 10, tzinfo=UTC).timestamp()
    assert read.dropped == {"no GPUs": 1, "zero run time": 1}
    assert read.adjusted == {"duration empty: end_time - start_time used": 1}
    assert {(j.ref_model, j.kind) for j in read.jobs} == {("V100", "batch")}


def test_acme_kinds_and_zone_offsets(tmp_path: Path) -> None:
    read = load_trace("acme", write(tmp_path, "trace_seren.csv", ACME))
    assert accounted(read)
    got = [(j.id, j.submit, j.gpus, j.runtime, j.tenant, j.kind) for j in read.jobs]
    assert got == [
        (0, 0.0, 8, 120.0, "u01", "batch"),
        (2, 300.0, 1, 100.0, "u02", "finetune"),  # 16:15 UTC is 00:15 at +08:00
        (1, 600.0, 16, 3600.0, "u01", "pretrain"),
        (4, 1800.0, 2, 60.0, "u04", "batch"),  # unknown type
        (5, 2400.0, 4, 60.0, "u04", "eval"),
    ]
    assert {j.ref_model for j in read.jobs} == {"A100"}
    assert read.dropped == {"no GPUs": 1}
    assert read.adjusted == {"job type not recognised: kind batch": 1}


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("helios", "gpu_num,submit_time,duration\n1,2020-04-01 00:00:00,5\nx,2020-04-01,5\n",
         r"line 3, column 'gpu_num': expected a whole number of GPUs >= 0, got 'x'"),
        ("helios", "gpu_num,submit_time,duration\n1,2020-04-01 00:00:00,5\n1,yesterday,5\n",
         r"line 3, column 'submit_time': expected a date-time .*, got 'yesterday'"),
        ("helios", "gpu_num,submit_time,duration\n\n1,2020-04-01 00:00:00,5\n\n1,0,-5\n",
         r"line 5, column 'duration': expected seconds >= 0 or an empty cell, got '-5'"),
        ("helios", "gpu_num,submit_time\n1,2020-04-01 00:00:00\n",
         r"header, column 'duration': missing required column"),
        ("acme", "gpu_num,submit_time,duration\n1,2020-04-01 00:00:00,5,7\n",
         r"line 2: expected 3 fields separated by ',', got 4"),
        ("tiresias", "num_gpu,submit_time,duration\n1,0,nan\n",
         r"line 2, column 'duration': expected seconds >= 0, got 'nan'"),
        ("tiresias", "", r"line 1: expected a header line, got an empty file"),
    ],
)  # fmt: skip
def test_bad_input(tmp_path: Path, fmt: str, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError, match=message) as e:
        load_trace(fmt, path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_missing_file_is_a_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such file"):
        load_trace("helios", tmp_path / "nope.csv")


_row = st.tuples(
    st.integers(0, 16),
    st.integers(0, 10**6),
    st.one_of(st.none(), st.integers(0, 10**5)),
)


@given(rows=st.lists(_row, max_size=40))
def test_helios_accounts_for_every_row(rows: list[tuple[int, int, int | None]]) -> None:
    import tempfile

    lines = ["gpu_num,submit_time,duration"]
    lines += [f"{g},{s},{'' if d is None else d}" for g, s, d in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_text("\n".join(lines) + "\n")
        read = load_trace("helios", path)
    assert accounted(read)
    kept = [(i, s) for i, (g, s, d) in enumerate(rows) if g > 0 and d]
    assert sorted(j.id for j in read.jobs) == [i for i, _ in kept]
    if kept:
        assert read.origin == min(s for _, s in kept)


def test_shared_tiresias_sample(shared: Path) -> None:
    # README: 60 jobs (30 x1 GPU, 10 x2, 10 x4, 10 x8), last submission at 1779 s.
    read = load_trace("tiresias", shared / "tiresias-nsdi19/60_job.csv")
    assert accounted(read)
    sizes = sorted({g: sum(j.gpus == g for j in read.jobs) for g in (1, 2, 4, 8)}.items())
    assert sizes == [(1, 30), (2, 10), (4, 10), (8, 10)]
    assert read.origin == 0.0 and read.jobs[-1].submit == 1779.0
    header_only = load_trace("tiresias", shared / "tiresias-nsdi19/tf_job.csv")
    assert accounted(header_only)


def test_job_size_samples(tmp_path: Path) -> None:
    path = write(tmp_path, "sizes.csv", "duration\n121\n2227.5\n")
    assert read_job_sizes(path) == (121.0, 2227.5)
    for text, match in [
        ("gpus\n1\n", "column 'duration': missing"),
        ("duration\n121\n0\n", "line 3, column 'duration': expected GPU-seconds > 0, got '0'"),
        ("duration\nlots\n", "line 2.*'lots'"),
        ("duration\n", "no job-size samples"),
    ]:
        with pytest.raises(TraceError, match=match):
            read_job_sizes(write(tmp_path, "bad.csv", text))
    with pytest.raises(TraceError, match="cannot read"):
        read_job_sizes(tmp_path / "missing.csv")


def test_shared_job_size_samples(shared: Path) -> None:
    # README: yarn-gput1000.csv, the GPU-time samples of the Tiresias Gittins policy
    sizes = read_job_sizes(shared / "tiresias-nsdi19/yarn-gput1000.csv")
    assert (len(sizes), min(sizes), max(sizes)) == (1001, 121.0, 53294624.0)


def test_many_batches_keep_ids_and_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpufleet.workload.traces import frame

    monkeypatch.setattr(frame, "_BLOCK_BYTES", 64)  # a few rows per batch
    rows = [f"{i % 3},{1000 + i},{10 + i}" for i in range(60)]
    path = write(tmp_path, "log.csv", "gpu_num,submit_time,duration\n" + "\n".join(rows) + "\n")
    read = load_trace("helios", path)
    assert accounted(read)
    assert [j.id for j in read.jobs] == [i for i in range(60) if i % 3]
    assert read.dropped == {"no GPUs": 20}
    rows[50] = "1,1050,soon"
    path.write_text("gpu_num,submit_time,duration\n" + "\n".join(rows) + "\n")
    with pytest.raises(TraceError, match=r"line 52, column 'duration'.*got 'soon'"):
        load_trace("helios", path)


def test_bom_crlf_and_padded_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(b"\xef\xbb\xbf gpu_num , submit_time,duration\r\n2,5,60\r\n0,1,1\r\n")
    read = load_trace("helios", path)
    assert [(j.id, j.gpus, j.submit, j.runtime) for j in read.jobs] == [(0, 2, 0.0, 60.0)]
    assert read.origin == 5.0
