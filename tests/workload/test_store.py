"""Trace files: the Parquet round trip, CSV import and one-line errors for bad input."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpufleet.errors import TraceError
from gpufleet.fleet.catalog import CATALOG
from gpufleet.fleet.model import Fleet
from gpufleet.workload.job import JOB_KINDS, TOPOLOGIES, Job
from gpufleet.workload.store import SCHEMA, read_csv, read_parquet, write_parquet
from gpufleet.workload.synthetic import generate

MODELS = sorted(CATALOG)


def test_schema_has_one_column_per_job_field() -> None:
    assert SCHEMA.names == [
        "id",
        "tenant",
        "group",
        "submit",
        "gpus",
        "runtime",
        "ref_model",
        "models",
        "priority",
        "kind",
        "topology",
        "preemptible",
        "time_limit",
        "runtimes",
        "sites",
        "data_class",
    ]
    assert set(SCHEMA.names) == {f.name for f in dataclasses.fields(Job)}
    assert SCHEMA.field("time_limit").nullable
    assert not SCHEMA.field("gpus").nullable
    assert not SCHEMA.field("sites").nullable
    assert SCHEMA.metadata == {b"gpufleet.format": b"jobs/3"}


# ---- Parquet ----


def test_generated_trace_round_trips(korea: Fleet, tmp_path: Path) -> None:
    jobs = generate(korea, days=1, seed=1, max_jobs=20_000)
    assert all(j.sites for j in jobs)  # korea's streams all name their sites
    path = tmp_path / "jobs.parquet"
    write_parquet(jobs, path)
    assert read_parquet(path) == jobs
    assert pq.read_schema(path).remove_metadata().equals(SCHEMA.remove_metadata())
    assert pq.read_schema(path).metadata[b"gpufleet.format"] == b"jobs/3"


def _as_jobs1(path: Path, out: Path) -> Path:
    """Rewrite a jobs/2 file the way jobs/1 wrote it: no `sites` column, tagged jobs/1."""
    table = pq.read_table(path).drop_columns(["sites"])
    pq.write_table(table.replace_schema_metadata({b"gpufleet.format": b"jobs/1"}), out)
    return out


def test_jobs1_file_without_sites_still_reads(korea: Fleet, tmp_path: Path) -> None:
    jobs = generate(korea, days=1, seed=3, max_jobs=2_000)
    write_parquet(jobs, tmp_path / "new.parquet")
    old = _as_jobs1(tmp_path / "new.parquet", tmp_path / "old.parquet")
    assert "sites" not in pq.read_schema(old).names
    assert read_parquet(old) == [dataclasses.replace(j, sites=()) for j in jobs]


def test_unknown_format_tag_is_refused(tmp_path: Path) -> None:
    table = pa.table({"id": [1], "submit": [0.0], "gpus": [1], "runtime": [1.0]})
    path = tmp_path / "future.parquet"
    pq.write_table(table.replace_schema_metadata({b"gpufleet.format": b"jobs/9"}), path)
    with pytest.raises(TraceError, match=r"future\.parquet: schema: unknown format 'jobs/9'"):
        read_parquet(path)


_text = st.text(st.characters(codec="utf-8"), max_size=12)
_seconds = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False)
# Any non-empty text without '|' is a valid site id in a trace (the fleet is not consulted).
_site = st.text(st.characters(codec="utf-8", exclude_characters="|"), min_size=1, max_size=8)


@st.composite
def _jobs(draw: st.DrawFn) -> list[Job]:
    ids = draw(st.lists(st.integers(-(2**63), 2**63 - 1), unique=True, max_size=20))
    jobs = []
    for i in ids:
        runtimes = draw(st.dictionaries(st.sampled_from(MODELS), _seconds, max_size=3))
        jobs.append(
            Job(
                id=i,
                tenant=draw(_text),
                group=draw(_text),
                submit=draw(st.floats(0, 1e9, allow_nan=False)),
                gpus=draw(st.integers(1, 2**31 - 1)),
                runtime=draw(_seconds),
                ref_model=draw(st.sampled_from(MODELS)),
                models=tuple(draw(st.lists(st.sampled_from(MODELS), max_size=4))),
                priority=draw(st.integers(-(2**31), 2**31 - 1)),
                kind=draw(st.sampled_from(JOB_KINDS)),
                topology=draw(st.sampled_from(TOPOLOGIES)),
                preemptible=draw(st.booleans()),
                time_limit=draw(st.none() | _seconds),
                runtimes=tuple(runtimes.items()),
                sites=tuple(draw(st.lists(_site, max_size=3))),
            )
        )
    return jobs


@given(jobs=_jobs())
def test_parquet_round_trip_property(
    jobs: list[Job], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("rt") / "jobs.parquet"
    write_parquet(jobs, path)
    assert read_parquet(path) == sorted(jobs, key=lambda j: (j.submit, j.id))


def _write_table(path: Path, columns: dict[str, list[object]]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize(
    ("change", "row", "column"),
    [
        ({"gpus": [8, 0, 1]}, 2, "gpus"),
        ({"runtime": [1.0, 2.0, -3.0]}, 3, "runtime"),
        ({"kind": ["eval", "train", "eval"]}, 2, "kind"),
        ({"topology": ["any", "any", "rack"]}, 3, "topology"),
        ({"models": [["B200"], ["B200", "X100"], []]}, 2, "models"),
        ({"ref_model": ["H100", "H100", "X100"]}, 3, "ref_model"),
        ({"id": [1, 2, 1]}, 3, "id"),
        ({"sites": [["a"], [], ["b|c"]]}, 3, "sites"),
        ({"sites": [["a"], ["b", ""], []]}, 2, "sites"),
        ({"sites": [[], ["a", None], ["b"]]}, 2, "sites"),
    ],
)
def test_bad_parquet_names_file_row_and_column(
    tmp_path: Path, change: dict[str, list[object]], row: int, column: str
) -> None:
    base: dict[str, list[object]] = {
        "id": [1, 2, 3],
        "submit": [0.0, 1.0, 2.0],
        "gpus": [1, 2, 4],
        "runtime": [60.0, 60.0, 60.0],
    }
    columns = base | change
    path = _write_table(tmp_path / "bad.parquet", columns)
    with pytest.raises(TraceError) as info:
        read_parquet(path)
    message = str(info.value)
    assert str(path) in message and f"row {row}," in message and f"column {column!r}" in message
    assert "\n" not in message


def test_parquet_missing_column_and_garbage(tmp_path: Path) -> None:
    path = _write_table(tmp_path / "nogpus.parquet", {"id": [1], "submit": [0.0], "runtime": [1.0]})
    with pytest.raises(TraceError, match=r"nogpus\.parquet: schema, column 'gpus': missing"):
        read_parquet(path)
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(TraceError, match=r"junk\.parquet: cannot read Parquet file"):
        read_parquet(junk)


def test_parquet_with_only_required_columns_gets_defaults(tmp_path: Path) -> None:
    path = _write_table(
        tmp_path / "min.parquet",
        {"id": [2, 1], "submit": [5.0, 5.0], "gpus": [1, 8], "runtime": [10.0, 20.0]},
    )
    assert read_parquet(path) == [
        Job(id=1, tenant="default", submit=5.0, gpus=8, runtime=20.0),
        Job(id=2, tenant="default", submit=5.0, gpus=1, runtime=10.0),
    ]


# ---- CSV ----

GOOD_CSV = (
    "id, submit,gpus,runtime,tenant,group,kind,topology,models,ref_model,priority,preemptible,"
    "time_limit,runtimes,sites\n"
    "7, 2h, 8, 90m, lab-a, acad, finetune, domain, B200 | H200, B200, 1, no, 3h,"
    " B200=3600|H100=2h, site-a | site-b\n"
    "3,0,1,600,lab-b,,eval,,,,,yes,,,\n"
    "5,1-00:00:00,256,2d,,,pretrain,any,H200,H200,-2,false,3d,,naicc-haenam\n"
)


def test_csv_import_of_a_hand_written_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(GOOD_CSV)
    assert read_csv(path) == [
        Job(id=3, tenant="lab-b", submit=0.0, gpus=1, runtime=600.0, kind="eval", preemptible=True),
        Job(
            id=7,
            tenant="lab-a",
            group="acad",
            submit=7200.0,
            gpus=8,
            runtime=5400.0,
            ref_model="B200",
            models=("B200", "H200"),
            priority=1,
            kind="finetune",
            topology="domain",
            preemptible=False,
            time_limit=10800.0,
            runtimes=(("B200", 3600.0), ("H100", 7200.0)),
            sites=("site-a", "site-b"),
        ),
        Job(
            id=5,
            tenant="default",
            submit=86400.0,
            gpus=256,
            runtime=172800.0,
            ref_model="H200",
            models=("H200",),
            priority=-2,
            kind="pretrain",
            topology="any",
            time_limit=259200.0,
            sites=("naicc-haenam",),
        ),
    ]


def test_csv_with_only_required_columns(tmp_path: Path) -> None:
    path = tmp_path / "min.csv"
    path.write_text("id,submit,gpus,runtime\n1,10,4,1h\n\n0,10,2,30\n")
    assert read_csv(path) == [
        Job(id=0, tenant="default", submit=10.0, gpus=2, runtime=30.0),
        Job(id=1, tenant="default", submit=10.0, gpus=4, runtime=3600.0),
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("id,submit,gpus,runtime\n")
    assert read_csv(empty) == []


def test_csv_round_trip_of_a_generated_trace(korea: Fleet, tmp_path: Path) -> None:
    jobs = generate(korea, days=1, seed=2, max_jobs=5_000)
    lines = [
        "id,submit,gpus,runtime,tenant,group,ref_model,models,priority,kind,topology,"
        "preemptible,time_limit,sites,data_class"
    ]
    for j in jobs:
        limit = "" if j.time_limit is None else repr(j.time_limit)
        lines.append(
            f"{j.id},{j.submit!r},{j.gpus},{j.runtime!r},{j.tenant},{j.group},{j.ref_model},"
            f"{'|'.join(j.models)},{j.priority},{j.kind},{j.topology},{j.preemptible},{limit},"
            f"{'|'.join(j.sites)},{j.data_class}"
        )
    path = tmp_path / "gen.csv"
    path.write_text("\n".join(lines) + "\n")
    assert read_csv(path) == jobs


HEADER = "id,submit,gpus,runtime,kind,topology,models,ref_model,time_limit,preemptible,runtimes"
OK_ROW = "1,0,8,1h,eval,domain,B200,B200,,no,"


@pytest.mark.parametrize(
    ("bad_row", "column", "expected"),
    [
        ("2,0,abc,1h,eval,domain,B200,B200,,no,", "gpus", "an integer > 0"),
        ("2,0,1.5,1h,eval,domain,B200,B200,,no,", "gpus", "an integer > 0"),
        ("2,soon,8,1h,eval,domain,B200,B200,,no,", "submit", "seconds or a duration"),
        ("x,0,8,1h,eval,domain,B200,B200,,no,", "id", "an integer"),
        ("2,0,0,1h,eval,domain,B200,B200,,no,", "gpus", "an integer > 0"),
        ("2,0,-8,1h,eval,domain,B200,B200,,no,", "gpus", "an integer > 0"),
        ("2,0,8,0,eval,domain,B200,B200,,no,", "runtime", "a duration > 0"),
        ("2,0,8,-5m,eval,domain,B200,B200,,no,", "runtime", "a duration > 0"),
        ("2,0,8,,eval,domain,B200,B200,,no,", "runtime", "a duration > 0"),
        ("2,0,8,1h,train,domain,B200,B200,,no,", "kind", "one of pretrain"),
        ("2,0,8,1h,eval,rack,B200,B200,,no,", "topology", "one of domain"),
        ("2,0,8,1h,eval,domain,B200|X100,B200,,no,", "models", "'X100' is unknown"),
        ("2,0,8,1h,eval,domain,B200,X100,,no,", "ref_model", "a GPU model"),
        ("2,0,8,1h,eval,domain,B200,B200,,no,X100=1h", "runtimes", "'X100=1h' is not one"),
        ("2,0,8,1h,eval,domain,B200,B200,,no,B200", "runtimes", "MODEL=duration"),
        ("2,0,8,1h,eval,domain,B200,B200,0,no,", "time_limit", "a duration > 0"),
        ("2,0,8,1h,eval,domain,B200,B200,,maybe,", "preemptible", "true or false"),
        ("1,0,8,1h,eval,domain,B200,B200,,no,", "id", "a unique id"),
    ],
)
def test_bad_csv_names_file_line_and_column(
    tmp_path: Path, bad_row: str, column: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    # The bad row sits on line 4, after a blank line that the reader skips.
    path.write_text(f"{HEADER}\n{OK_ROW}\n\n{bad_row}\n{OK_ROW.replace('1,', '9,', 1)}\n")
    with pytest.raises(TraceError) as info:
        read_csv(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line 4, column {column!r}: expected "), message
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("id,submit,runtime\n1,0,1h\n", r"header, column 'gpus': missing required column"),
        ("id,submit,gpus,runtime,gpu_count\n1,0,1,1h,2\n", r"header, column 'gpu_count': unknown"),
        ("id,submit,gpus,runtime,gpus\n1,0,1,1h,2\n", r"header, column 'gpus': appears twice"),
        ("id,submit,gpus,runtime\n1,0,1,1h\n2,0,1\n", r"line 3: expected 4 fields, got 3"),
    ],
)
def test_bad_csv_structure(tmp_path: Path, text: str, pattern: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError, match=re.escape(str(path)) + ": " + pattern):
        read_csv(path)


@pytest.mark.parametrize("cell", ["a||b", "a|", "|"])
def test_csv_sites_with_an_empty_id(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(f"id,submit,gpus,runtime,sites\n1,0,1,1h,a\n2,0,1,1h,{cell}\n")
    message = f"{path}: line 3, column 'sites': expected non-empty site ids separated by '|'"
    with pytest.raises(TraceError, match=re.escape(message)):
        read_csv(path)


def test_missing_csv_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"nope\.csv: cannot read CSV file"):
        read_csv(tmp_path / "nope.csv")


def test_durations_stay_finite(tmp_path: Path) -> None:
    path = tmp_path / "inf.csv"
    path.write_text("id,submit,gpus,runtime\n1,0,1,inf\n")
    with pytest.raises(TraceError, match="line 2, column 'runtime'"):
        read_csv(path)
