"""`gpufleet trace import` and `gpufleet trace stats` as a user runs them, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_job_logs import HELIOS
from test_pollux import WORKLOAD
from trace_files import write

from gpufleet.cli import main
from gpufleet.workload.store import read_parquet
from gpufleet.workload.traces import read_trace


def run(*args: str | Path) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def test_import_writes_the_jobs_read_trace_returns(tmp_path: Path) -> None:
    log = write(tmp_path, "cluster_log.csv", HELIOS)
    out = tmp_path / "jobs.parquet"
    code, stdout, _ = run("trace", "import", "--format", "helios", log, "-o", out)
    assert code == 0, stdout
    assert f"wrote {out}: 3 jobs from 5 records (2 dropped, 1 adjustments" in stdout
    assert read_parquet(out) == read_trace("helios", log)


def test_import_passes_reader_options(tmp_path: Path) -> None:
    workload = write(tmp_path, "workload-1.csv", WORKLOAD)
    durations = write(tmp_path, "durations.csv", "application,duration\ncifar10,1h\nncf,30m\n")
    out = tmp_path / "w.parquet"
    code, _, stderr = run(
        "trace", "import", "--format", "pollux", workload, "-o", out, "--durations", durations
    )
    assert code == 0, stderr
    assert [(j.gpus, j.runtime, j.ref_model) for j in read_parquet(out)] == [
        (6, 3600.0, "T4"),
        (1, 1800.0, "T4"),
    ]
    code, _, _ = run(
        "trace", "import", "--format", "pollux", workload, "-o", out, "--durations", "2h",
        "--ref-model", "V100",
    )  # fmt: skip
    assert code == 0
    assert {(j.runtime, j.ref_model) for j in read_parquet(out)} == {(7200.0, "V100")}


def test_stats_prints_the_summary(tmp_path: Path) -> None:
    log = write(tmp_path, "cluster_log.csv", HELIOS)
    code, stdout, _ = run("trace", "stats", log)  # format guessed from the header
    assert code == 0
    for text in ("(helios)", "records read", "GPU-hours", "5-8", "p50", "no GPUs", "zero run time"):
        assert text in stdout
    # GPU-hours: (1 x 600 + 2 x 600 + 16 x 30) / 3600 = 2280 / 3600 = 0.63
    assert "│GPU-hours│0.6│" in stdout.replace(" ", "")


def test_stats_of_an_imported_parquet_file(tmp_path: Path) -> None:
    log = write(tmp_path, "cluster_log.csv", HELIOS)
    out = tmp_path / "jobs.parquet"
    assert run("trace", "import", "--format", "helios", log, "-o", out)[0] == 0
    code, stdout, _ = run("trace", "stats", out)
    assert code == 0 and "(jobs)" in stdout and "│GPU-hours│0.6│" in stdout.replace(" ", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "{log}", "-o", "{out}"), "--format is required; one of openb, pollux"),
        (("import", "--format", "yarn", "{log}", "-o", "{out}"), "unknown trace format 'yarn'"),
        (("import", "--format", "helios", "{missing}", "-o", "{out}"), "no such file"),
        (("import", "--format", "helios", "{bad}", "-o", "{out}"),
         "line 3, column 'gpu_num': expected a whole number of GPUs >= 0, got 'two'"),
        (("import", "--format", "helios", "{log}", "-o", "{out}", "--fractional", "skip"),
         "option 'fractional' does not apply to the helios format"),
        (("import", "--format", "helios", "{log}", "-o", "{tmp}/no/such/dir/j.parquet"),
         "cannot write"),
        (("import", "--format", "helios", "{log}", "-o", "{out}", "--ref-model", "K80"),
         "ref_model: unknown GPU model 'K80'"),
        (("stats", "{workload}"), "a Pollux workload has no run time"),
        (("stats", "{workload}", "--durations", "soon"), "durations: not a duration: 'soon'"),
        (("stats", "{unknown}"), "cannot tell the trace format"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    names = {
        "log": write(tmp_path, "cluster_log.csv", HELIOS),
        "bad": write(tmp_path, "bad.csv", "gpu_num,submit_time,duration\n1,0,5\ntwo,1,5\n"),
        "workload": write(tmp_path, "workload-1.csv", WORKLOAD),
        "unknown": write(tmp_path, "x.csv", "x,y\n1,2\n"),
        "missing": tmp_path / "missing.csv",
        "out": tmp_path / "jobs.parquet",
        "tmp": tmp_path,
    }
    code, _, stderr = run("trace", *(a.format(**names) for a in args))
    assert code == 2
    assert stderr.startswith("gpufleet: error: ") and message in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
