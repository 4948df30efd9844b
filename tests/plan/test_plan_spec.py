"""Sweep files: what a valid one becomes, and one clear line (file, field, line) for bad ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpufleet.cli import main
from gpufleet.errors import ConfigError
from gpufleet.plan.spec import load_sweep
from gpufleet.plan.target import Target, parse_target

Write = Callable[..., Path]


def test_defaults_and_axes(write_sweep: Write) -> None:
    sw = load_sweep(write_sweep("scenario: two-nodes\ndays: 1\n"))
    assert [v.name for v in sw.variants] == ["base"]
    assert sw.policies == ("fifo+easy",) and sw.loads == (0.85,) and sw.seeds == (0,)
    assert sw.fleets[0].total_gpus == 16 and sw.target is None and sw.search is None


def test_variants_build_fleets(write_sweep: Write, tiny: str) -> None:
    text = tiny.replace(
        "policies:",
        "  - {name: no-edge, remove: [edge]}\n"
        "  - name: plus\n"
        "    add: [{site: edge, id: edge-2, gpu_model: RTXPRO6000, gpus: 16, domain: pcie8}]\n"
        "policies:",
    )
    sw = load_sweep(write_sweep(text))
    gpus = {v.name: f.total_gpus for v, f in zip(sw.variants, sw.fleets, strict=True)}
    assert gpus == {"base": 272, "gov-x2": 336, "no-edge": 208, "plus": 288}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scenario: small-mixed\n", "days (line 1): Field required"),
        ("scenario: small-mixed\ndays: 1\nloads: [0.5, 12]\n", "loads[1] (line 3)"),
        ("scenario: nowhere\ndays: 1\n", "scenario (line 1): unknown scenario 'nowhere'"),
        ("scenario: small-mixed\ndays: 1\npolicies: [fifo, lifo+easy]\n", "policies[1] (line 3)"),
        ("scenario: small-mixed\ndays: 1\ncolour: red\n", "colour (line 3): unknown field"),
        ("scenario: small-mixed\ndays: 1\nseeds: [1, 1]\n", "seeds[1] (line 3): duplicate"),
        (
            "scenario: small-mixed\ndays: 1\nvariants:\n  - {name: a, scale: {mars: 2}}\n",
            "variants[0].scale (line 4): unknown site or cluster mars",
        ),
        (
            "scenario: small-mixed\ndays: 1\nvariants:\n  - name: a\n    scale: big\n",
            "variants[0].scale (line 5): expected a factor >= 0 or a mapping",
        ),
        (
            "scenario: small-mixed\ndays: 1\nvariants:\n  - name: a\n    remove: [edge, moon]\n",
            "variants[0].remove (line 5): unknown site or cluster moon",
        ),
        (
            "scenario: small-mixed\ndays: 1\nvariants:\n  - name: a\n    add:\n"
            "      - {site: edge, id: x, gpu_model: B200, gpus: 12}\n",
            "variants[0].add[0].gpus (line 6): 12 GPUs is not a whole number of 8-GPU domains",
        ),
        (
            "scenario: small-mixed\ndays: 1\nvariants:\n  - {name: a}\n  - {name: a}\n",
            "variants[1].name (line 5): duplicate variant name 'a'",
        ),
        (
            "scenario: small-mixed\ndays: 1\nvariants:\n  - {name: gone, remove: [gov-cloud, "
            "factory, edge]}\n",
            "variants[0] (line 4): variant 'gone' leaves no cluster",
        ),
        ("scenario: small-mixed\ndays: 1\nprices: {B200: 5}\n", "prices (line 3): no price for"),
        ("scenario: small-mixed\ndays: 1\ntarget: p95 < 4\n", "target (line 3): unknown metric"),
        ("scenario: small-mixed\ndays: 1\ntarget: wait is short\n", "expected 'METRIC OP NUMBER'"),
        (
            "scenario: small-mixed\ndays: 1\nsearch: {scale: [2, 1], target: p95_wait_h <= 1}\n",
            "search.scale (line 3): expected [lo, hi] with lo < hi",
        ),
        (
            "scenario: small-mixed\ndays: 1\nsearch: {scale: [0.5, 1]}\n",
            "search (line 3): a search needs a target",
        ),
        ("scenario: small-mixed\ndays: [1\n", "malformed YAML"),
    ],
)
def test_bad_sweep_file_is_one_clear_line(write_sweep: Write, text: str, expected: str) -> None:
    path = write_sweep(text)
    with pytest.raises(ConfigError) as e:
        load_sweep(path)
    assert str(e.value).startswith(str(path)) and expected in str(e.value), str(e.value)
    r = CliRunner().invoke(main, ["plan", str(path), "--workers", "1"])
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and expected in r.stderr, r.stderr


def test_targets_parse_with_aliases() -> None:
    assert parse_target("p95_wait_h <= 4") == Target("wait_p95_h", "<=", 4.0)
    assert parse_target(" utilization>0.5") == Target("utilization", ">", 0.5)
    t = parse_target("wait_mean_h < 1e-1")
    assert t.met(0.05) and not t.met(0.1) and not t.met(float("nan"))
    assert t.worst([0.01, 0.2, 0.05]) == 0.2
    assert parse_target("utilization >= 0.6").worst([0.7, 0.5]) == 0.5


def test_missing_file_exits_2(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["plan", str(tmp_path / "none.yaml")])
    assert r.exit_code == 2 and "cannot read file" in r.stderr
