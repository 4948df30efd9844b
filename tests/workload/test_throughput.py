"""Profiles and the throughput model: hand-computed progress on a toy profile, bad files, and
the shared Pollux profiles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gpufleet.errors import ConfigError, TraceError
from gpufleet.workload.profiles import AppProfile, canonical, load_profile, load_profiles
from gpufleet.workload.throughput import (
    ThroughputModel,
    Training,
    fixed_batch,
    grad_stats,
    step_time,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "traces" / "pollux-osdi21"

TOY = {
    "placements.csv": """
        placement,local_bsz,step_time,sync_time
        1,4,1.0,0.0
        1,8,2.0,0.0
        11,4,2.0,1.0
        11,8,3.0,1.0
        """,
    "scalability.csv": """
        num_nodes,num_replicas,local_bsz,step_time,sync_time
        6,6,4,4.0,3.0
        6,6,8,5.0,3.0
        """,
    "validation-8.csv": """
        progress,iteration,grad_sqr,grad_var
        100,10,1,1
        200,20,1,1
        """,
    "validation-16.csv": """
        progress,iteration,grad_sqr,grad_var
        110,5,1,1
        210,10,1,1
        """,
}


def toy(tmp_path: Path, **override: str) -> Path:
    folder = tmp_path / "toy"
    folder.mkdir(exist_ok=True)
    for name, text in {**TOY, **override}.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"))
    return folder


@pytest.fixture
def profile(tmp_path: Path) -> AppProfile:
    return load_profile(toy(tmp_path))


def test_toy_profile_fields(profile: AppProfile) -> None:
    assert profile.init_batch_size == 8 and profile.max_batch_size == 16
    assert profile.min_local_bsz == 4 and profile.max_local_bsz == 8
    assert profile.max_epochs == 2
    assert profile.epoch_end(0) == 100 and profile.epoch_end(1) == 200  # least over batches


def test_canonical_is_the_smallest_rotation() -> None:
    assert canonical((4, 2)) == (2, 4)
    assert canonical((4, 2, 3)) == (2, 3, 4)
    assert canonical((3, 0, 1, 2)) == (1, 2, 3)


def test_fixed_batch_cuts_like_the_artifact(profile: AppProfile) -> None:
    two = fixed_batch(profile, 16, 2)  # 8 per GPU, no accumulation
    assert (two.atomic_bsz, two.accum_steps, two.batch_size) == (8, 0, 16)
    one = fixed_batch(profile, 16, 1)  # one GPU above the initial batch accumulates
    assert (one.atomic_bsz, one.accum_steps, one.batch_size) == (8, 1, 16)


def test_progress_at_a_placement_by_hand(profile: AppProfile) -> None:
    # batch 16 on (1, 1): step 3.0 s, sync 1.0 s; grad_sqr = grad_var = 1 at batch 16,
    # scale 16/8 = 2 -> gain (1 + 1) / (1/2 + 1) = 4/3; goodput (4/3) / 3 = 4/9 per second.
    # Each epoch is 100 progress -> 225 s; two epochs -> 450 s.
    model = ThroughputModel(profile)
    cfg = fixed_batch(profile, 16, 2)
    assert model.goodput((1, 1), cfg, 0) == pytest.approx(4 / 9)
    run = Training(model, 16)
    assert run.remaining((1, 1)) == 450
    run.advance((1, 1), 100)
    assert run.epoch == 0 and run.progress == pytest.approx(400 / 9)
    assert run.remaining((1, 1)) == 350
    # one GPU: step 2 s + 1 accumulation x (2 - 0) = 4 s, goodput 1/3: 300 s per epoch
    assert run.remaining((1,)) == round((100 - 400 / 9) * 3) + 300
    run.advance((1, 1), 350)
    assert run.done


def test_step_time_off_the_placement_table_uses_the_shape(profile: AppProfile) -> None:
    assert step_time(profile, (1,) * 6, 8) == (5.0, 3.0)  # (6 nodes, 6 replicas) measured
    assert step_time(profile, (1, 1), 6) == (2.5, 1.0)  # linear in the local batch
    with pytest.raises(ConfigError, match="outside the profiled range"):
        step_time(profile, (1,), 9)


def test_grad_stats_interpolate_between_batch_sizes(profile: AppProfile) -> None:
    assert grad_stats(profile, 12, 0) == (1.0, 1.0)
    with pytest.raises(ConfigError, match="outside the validated range"):
        grad_stats(profile, 32, 0)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("placements.csv", "placement,local_bsz,step_time\n1,4,1\n", "missing required column"),
        (
            "placements.csv",
            "placement,local_bsz,step_time,sync_time\n1,4,fast,0\n",
            r"line 2, column 'step_time': expected a number, got 'fast'",
        ),
        (
            "placements.csv",
            "placement,local_bsz,step_time,sync_time\n10,4,1,0\n",
            "column 'placement': expected GPUs per node",
        ),
        (
            "scalability.csv",
            "num_nodes,num_replicas,local_bsz,step_time,sync_time\n6,3,4,1,0\n",
            "replicas >= nodes",
        ),
        ("validation-8.csv", "progress,grad_sqr,grad_var\n", "no epochs"),
    ],
)
def test_bad_profile_files_name_file_line_and_column(
    tmp_path: Path, name: str, text: str, match: str
) -> None:
    folder = toy(tmp_path, **{name: text})
    with pytest.raises(TraceError, match=match) as err:
        load_profile(folder)
    assert name in str(err.value)


def test_missing_profile_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="not a folder"):
        load_profile(tmp_path / "nope")
    folder = toy(tmp_path)
    (folder / "scalability.csv").unlink()
    with pytest.raises(TraceError, match=r"scalability\.csv: cannot read"):
        load_profile(folder)
    with pytest.raises(TraceError, match="no application folder"):
        load_profiles(tmp_path / "toy")


@pytest.fixture(scope="module")
def pollux() -> dict[str, AppProfile]:
    if not SHARED.is_dir():
        pytest.skip(f"shared traces not found at {SHARED}: the Pollux profiles sit there")
    return load_profiles(SHARED / "traces")


def test_shared_profiles_match_their_rows(pollux: dict[str, AppProfile]) -> None:
    assert sorted(pollux) == ["bert", "cifar10", "deepspeech2", "imagenet", "ncf", "yolov3"]
    c = pollux["cifar10"]
    # placements.csv row "1,32,0.0427886962890625,0.0004995360016822816"
    assert step_time(c, (1,), 32) == pytest.approx((0.0427886962890625, 0.0004995360016822816))
    assert c.max_epochs == 100 and pollux["yolov3"].max_local_bsz == 8
    # a (4, 2) placement is profiled as its rotation "24"
    assert step_time(c, (4, 2), 64) == step_time(c, (2, 4), 64)
