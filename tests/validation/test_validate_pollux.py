"""The Pollux reproduction check: workload-6 within 2% of the published JCT, the CLI, and bad
input. Tests that need ../shared/traces skip with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gpufleet.cli import main
from gpufleet.errors import TraceError
from gpufleet.validation.pollux import PUBLISHED_W6_AVG_JCT, TARGET, check_pollux

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


def test_registered_as_a_validate_check(root: Path) -> None:
    from gpufleet.validation.checks import CHECKS, Options

    rows = CHECKS["pollux"][0](Options(traces=root.parent))
    (w6,) = [r for r in rows if "workloads/workload-6 " in r.name]
    assert w6.published == PUBLISHED_W6_AVG_JCT and w6.unit == "s"


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
