"""The Pollux reproduction check: workload-6 within 2% of the published JCT, the CLI, and bad
input. Tests that need ../shared/traces skip with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gpufleet.cli import main
from gpufleet.errors import TraceError
from gpufleet.policy.gittins import GittinsTable
from gpufleet.validation.pollux import PUBLISHED_W6_AVG_JCT, TARGET, check_pollux
from gpufleet.workload.traces.tiresias import read_job_sizes

ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "traces" / "pollux-osdi21"


@pytest.fixture(scope="module")
def root() -> Path:
    if not ROOT.is_dir():
        pytest.skip(f"shared traces not found at {ROOT}: the Pollux artifact's data sits there")
    return ROOT


def test_workload6_tiresias_within_target(root: Path) -> None:
    (row,) = check_pollux(root, ("workloads",), "workload-6.csv")
    assert row.published == PUBLISHED_W6_AVG_JCT
    assert row.difference is not None and abs(row.difference) <= TARGET
    assert row.wall_seconds < 5


def test_gittins_row_follows_each_tiresias_row(root: Path) -> None:
    """With job sizes, workload-6 also runs under 2D-Gittins: its own row, nothing published,
    and a different order than 2D-LAS (so a different JCT) with the Tiresias samples."""
    samples = root.parent / "tiresias-nsdi19" / "yarn-gput1000.csv"
    if not samples.is_file():
        pytest.skip(f"{samples} not found: the Tiresias simulator's samples sit there")
    sizes = GittinsTable.of(read_job_sizes(samples))
    las, gittins = check_pollux(root, ("workloads",), "workload-6.csv", sizes=sizes)
    assert gittins.name == "tiresias-gittins workloads/workload-6 avg JCT (s)"
    assert gittins.published is None and gittins.ours != las.ours


def test_registered_as_a_validate_check(root: Path, tmp_path: Path) -> None:
    """Without the Tiresias samples beside the Pollux data the Gittins rows are left out (and
    the check stays quick: 2D-Gittins decides every round)."""
    from gpufleet.validation.checks import CHECKS, Options

    (tmp_path / root.name).symlink_to(root)
    rows = CHECKS["pollux"][0](Options(traces=tmp_path))
    (w6,) = [r for r in rows if "workloads/workload-6 " in r.name]
    assert w6.published == PUBLISHED_W6_AVG_JCT and w6.unit == "s"
    assert not [r for r in rows if "gittins" in r.name]


def test_missing_data_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="not found"):
        check_pollux(tmp_path)
    out = CliRunner().invoke(main, ["validate", "pollux", "--traces", str(tmp_path), "--no-doc"])
    assert out.exit_code == 0, out.output
    assert "skipped pollux" in out.output


def test_unknown_application_in_a_workload(tmp_path: Path, root: Path) -> None:
    (tmp_path / "traces").symlink_to(root / "traces")
    (tmp_path / "workloads").mkdir()
    (tmp_path / "workloads" / "workload-1.csv").write_text(
        "name,time,application,num_replicas,batch_size\nx-0,0,gpt5,4,64\n"
    )
    with pytest.raises(TraceError, match=r"line 2, column 'application'.*'gpt5'"):
        check_pollux(tmp_path, ("workloads",))
