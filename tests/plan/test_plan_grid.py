"""Grid expansion and fleet variants: order, counts, whole domains, removals and additions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import load_fleet
from gpufleet.plan.grid import expand
from gpufleet.plan.spec import load_sweep
from gpufleet.plan.variant import Variant, apply, scaled_gpus

Write = Callable[..., Path]


def test_grid_is_variants_x_policies_x_loads_x_seeds_in_order(write_sweep: Write) -> None:
    sw = load_sweep(
        write_sweep(
            "scenario: two-nodes\ndays: 1\nvariants: [{name: a}, {name: b, scale: 2}]\n"
            "policies: [fifo, sjf+easy, fifo+easy]\nloads: [0.5, 1.0]\nseeds: [3, 1]\n"
        )
    )
    pts = expand(sw)
    assert len(pts) == 2 * 3 * 2 * 2
    assert [(p.variant, p.policy, p.load, p.seed) for p in pts[:5]] == [
        ("a", "fifo", 0.5, 3),
        ("a", "fifo", 0.5, 1),
        ("a", "fifo", 1.0, 3),
        ("a", "fifo", 1.0, 1),
        ("a", "sjf+easy", 0.5, 3),
    ]
    assert {p.fleet.total_gpus for p in pts if p.variant == "b"} == {32}
    assert all(p.base is sw.base and p.days == 1 for p in pts)


def test_scaling_keeps_whole_domains() -> None:
    fleet = load_fleet("small-mixed")
    b200, gb200, rtx = fleet.clusters  # 8 HGX nodes, 2 NVL72 racks, 8 PCIe servers
    assert scaled_gpus(b200, 1.5) == 96
    assert scaled_gpus(gb200, 1.2) == 144  # 2.4 racks round to 2
    assert scaled_gpus(gb200, 1.25) == 216  # 2.5 rounds up to 3
    assert scaled_gpus(rtx, 0.01) == 8  # never below one domain
    assert scaled_gpus(rtx, 0) == 0


def test_site_scale_beats_global_and_cluster_beats_site() -> None:
    fleet = load_fleet("small-mixed")
    v = Variant("v", scale=2.0, scale_at=(("gov-cloud", 0.5), ("edge-rtxpro", 1.0)))
    got = {c.id: c.gpus for c in apply(fleet, v).clusters}
    assert got == {"gov-b200": 32, "factory-gb200": 288, "edge-rtxpro": 64}


def test_removal_drops_empty_sites_and_keeps_ids_dense() -> None:
    fleet = load_fleet("small-mixed")
    out = apply(fleet, Variant("v", remove=("factory",), scale_at=(("edge", 0),)))
    assert [s.id for s in out.sites] == ["gov-cloud"]
    assert out.total_gpus == 64 and out.n_domains == 8 and out.domain_cluster == (0,) * 8


def test_apply_rejects_unknown_ids_and_empty_fleets() -> None:
    fleet = load_fleet("two-nodes")
    with pytest.raises(ConfigError, match="unknown site or cluster nope"):
        apply(fleet, Variant("v", remove=("nope",)))
    with pytest.raises(ConfigError, match="leaves no cluster"):
        apply(fleet, Variant("v", scale=0.0))
