"""Philly cluster_job_log JSON, decoded one job at a time: mapping, chunk edges, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trace_files import accounted, write

from gpufleet.errors import TraceError
from gpufleet.workload.traces import load_trace, philly

# Job 0 ran twice (2 GPUs for 74 s, then 4 GPUs on two servers for 1 h); job 1 has no attempts;
# job 2 is still running; job 3 has an attempt with no start (a logging gap) and one of 100 s;
# job 4 was killed after 30 s on 1 GPU.
LOG = """
[
 {"status": "Pass", "vc": "vc1", "jobid": "application_1", "user": "ua",
  "submitted_time": "2017-10-07 01:11:39",
  "attempts": [
   {"start_time": "2017-10-07 01:12:09", "end_time": "2017-10-07 01:13:23",
    "detail": [{"ip": "m47", "gpus": ["gpu0", "gpu1"]}]},
   {"start_time": "2017-10-07 01:13:30", "end_time": "2017-10-07 02:13:30",
    "detail": [{"ip": "m412", "gpus": ["gpu0", "gpu1"]}, {"ip": "m2", "gpus": ["gpu4", "gpu5"]}]}]},
 {"status": "Killed", "vc": "vc1", "jobid": "application_2", "user": "ub",
  "submitted_time": "2017-10-07 01:00:00", "attempts": []},
 {"status": "Pass", "vc": "vc2", "jobid": "application_3", "user": "uc",
  "submitted_time": "2017-10-07 02:00:00",
  "attempts": [{"start_time": "2017-10-07 03:00:00", "end_time": null,
                "detail": [{"ip": "m1", "gpus": ["gpu0"]}]}]},
 {"status": "Failed", "vc": "vc2", "jobid": "application_4", "user": "ua",
  "submitted_time": "2017-10-07 01:21:39",
  "attempts": [{"start_time": null, "end_time": "2017-10-07 01:30:00",
                "detail": [{"ip": "m3", "gpus": ["gpu0"]}]},
               {"start_time": "2017-10-07 01:40:00", "end_time": "2017-10-07 01:41:40",
                "detail": [{"ip": "m3", "gpus": ["gpu0"]}]}]},
 {"status": "Killed", "vc": "vc1", "jobid": "application_5", "user": "ud",
  "submitted_time": "2017-10-07 01:11:39",
  "attempts": [{"start_time": "2017-10-07 01:20:00", "end_time": "2017-10-07 01:20:30",
                "detail": [{"ip": "m9", "gpus": ["gpu3"]}]}]}
]
"""


def test_jobs_by_hand(tmp_path: Path) -> None:
    read = load_trace("philly", write(tmp_path, "cluster_job_log", LOG))
    assert accounted(read)
    got = [(j.id, j.submit, j.gpus, j.runtime, j.tenant, j.group) for j in read.jobs]
    assert got == [
        (0, 0.0, 4, 3674.0, "ua", "vc1"),  # 74 s + 3600 s; the largest attempt's 4 GPUs
        (4, 0.0, 1, 30.0, "ud", "vc1"),  # killed jobs keep their recorded time
        (3, 600.0, 1, 100.0, "ua", "vc2"),  # the attempt without a start is ignored
    ]
    assert read.dropped == {"no attempts": 1, "running when the trace ends": 1}
    assert read.adjusted == {
        "GPU count differs between attempts: largest used": 1,
        "attempt without start or end time ignored": 1,
    }
    assert {j.ref_model for j in read.jobs} == {"V100"}


def test_json_lines_and_tiny_chunks_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = load_trace("philly", write(tmp_path, "log.json", LOG)).jobs
    lines = "\n".join(json.dumps(job) for job in json.loads(LOG))
    assert load_trace("philly", write(tmp_path, "log.jsonl", lines)).jobs == whole
    monkeypatch.setattr(philly, "_CHUNK", 7)  # objects, strings and numbers cut across reads
    assert load_trace("philly", write(tmp_path, "log2.json", LOG)).jobs == whole
    assert load_trace("philly", write(tmp_path, "log2.jsonl", lines)).jobs == whole


def test_empty_array_has_no_jobs(tmp_path: Path) -> None:
    read = load_trace("philly", write(tmp_path, "log.json", " [ ] \n"))
    assert read.jobs == [] and read.rows == 0


_GOOD = '{"submitted_time": "2017-10-07 01:00:00", "attempts": []}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"[{_GOOD},\n {{\"submitted_time\": 5}}]",
         r"line 2, job 1, column 'submitted_time': expected a date-time .*, got 5"),
        (f'[{_GOOD},\n{{"submitted_time": "2017-10-07 01:00:00", "attempts": [{{"start_time": '
         '"2017-10-07 02:00:00", "end_time": "2017-10-07 01:00:00", "detail": []}]}]',
         r"line 2, job 1, column 'attempts\[0\].end_time': expected a time >= start_time"),
        (f'[{_GOOD},\n{{"submitted_time": "2017-10-07 01:00:00", "attempts": [{{"start_time": '
         '"2017-10-07 01:00:00", "end_time": "2017-10-07 02:00:00", "detail": [{"gpus": 3}]}]}]',
         r"line 2, job 1, column 'attempts\[0\].detail': expected a list of"),
        (f"[{_GOOD}\n\n {_GOOD}]", r"line 3: expected ',' or ']' after a job"),
        (f"[{_GOOD},\n", r"line 2: expected a job or ']' closing the job array, got 'end of file'"),
        (f"[{_GOOD},\n {{\"submitted_time\": }}]", r"line 2: invalid JSON: Expecting value"),
        ("[1]", r"line 1, job 0, column '\(job\)': expected a JSON object, got 'int'"),
        ("[] x", r"line 1: expected the end of the file after '\]', got 'x'"),
    ],
)  # fmt: skip
def test_bad_input_names_line_job_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.json", text)
    with pytest.raises(TraceError, match=message) as e:
        load_trace("philly", path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)
