"""Scenario loading: the built-in fleets, hand-checked counts, and one-line errors for bad files."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from gpufleet.errors import ConfigError
from gpufleet.fleet.catalog import CATALOG
from gpufleet.fleet.loader import builtin_scenarios, load_fleet
from gpufleet.fleet.model import Fleet

# Largest single fabric: an HGX SuperPOD of 64 SUs [S86]; 128 NVL72 racks [S88].
MAX_HGX_CLUSTER_GPUS = 16_384
MAX_NVL72_CLUSTER_GPUS = 9_216


@pytest.fixture(scope="module")
def korea() -> Fleet:
    return load_fleet("korea-2025")


def _scenario_text(name: str) -> str:
    return (resources.files("gpufleet.fleet") / "scenarios" / f"{name}.yaml").read_text("utf-8")


def test_builtin_scenarios_are_listed() -> None:
    assert {"korea-2025", "small-mixed", "two-nodes"} <= set(builtin_scenarios())


# ---- the built-in national fleet ----


def test_korea_is_national_scale(korea: Fleet) -> None:
    assert korea.total_gpus > 250_000
    assert korea.n_nodes > 30_000
    assert 30 <= len(korea.clusters) <= 50
    assert 10 <= len(korea.sites) <= 16


def test_korea_gpu_models_are_in_the_catalog(korea: Fleet) -> None:
    for c in korea.clusters:
        assert c.gpu_model in CATALOG, c.id


def test_korea_program_totals_match_the_sources(korea: Fleet) -> None:
    by_site = Counter[str]()
    by_model_site = Counter[tuple[str, str]]()
    for c in korea.clusters:
        by_site[c.site] += c.gpus
        by_model_site[c.gpu_model, c.site] += c.gpus
    tranche1 = ("nhn-gwangju", "kakao-ansan", "naver-h200-gov")
    # 10,080 B200 + 3,056 H200 = 13,136 [S20][S22]
    assert sum(by_model_site["B200", s] for s in tranche1) == 10_080
    assert sum(by_model_site["H200", s] for s in tranche1) == 3_056
    # 9,704 tranche-2 GPUs [S37]
    assert sum(by_site[s] for s in ("naver-t2-b300", "sds-t2-b300", "elice-t2-b300")) == 9_704
    # KISTI-6 has 8,496 GPUs [S42]
    assert by_site["kisti-6"] == 8_496
    # >= 15,000 GPUs at the National AI Computing Center [S39][S40]
    assert by_site["naicc-haenam"] >= 15_000


def test_korea_clusters_fit_one_fabric(korea: Fleet) -> None:
    for c in korea.clusters:
        limit = MAX_NVL72_CLUSTER_GPUS if c.domain_gpus == 72 else MAX_HGX_CLUSTER_GPUS
        assert c.gpus <= limit, c.id


def test_korea_power_fits_each_site_budget(korea: Fleet) -> None:
    for s in korea.sites:
        it_kw = sum(c.it_power_kw for c in korea.clusters if c.site == s.id)
        assert it_kw > 0, s.id
        # budgets are rounded to 0.1 MW
        assert it_kw <= s.power_budget_mw * 1000 + 50, s.id


def test_korea_dense_indices_are_consistent(korea: Fleet) -> None:
    assert korea.n_domains == sum(c.n_domains for c in korea.clusters)
    assert korea.n_blocks == sum(c.n_blocks for c in korea.clusters)
    assert sum(korea.domain_gpus) == korea.total_gpus
    for ci, c in enumerate(korea.clusters):
        assert {korea.domain_cluster[d] for d in korea.cluster_domains(ci)} == {ci}
        assert sum(korea.block_n_domains[b] for b in korea.cluster_blocks(ci)) == c.n_domains


def test_korea_cites_exactly_the_sources_it_lists(korea: Fleet) -> None:
    text = _scenario_text("korea-2025").replace("[S44]-[S47]", "[S44][S45][S46][S47]")
    used = {f"S{n}" for n in re.findall(r"\[S(\d+)\]", text)}
    assert used == set(korea.sources)
    assert all(url.startswith("http") for url in korea.sources.values())


def test_korea_every_number_carries_a_comment() -> None:
    lines = _scenario_text("korea-2025").splitlines()
    start = lines.index("sites:")
    number = re.compile(r"^\s*(gpus|node_kw|power_budget_mw|pue|block_domains|online): ")
    for i in range(start, len(lines)):
        if number.match(lines[i]):
            assert "#" in lines[i] or lines[i - 1].lstrip().startswith("#"), f"line {i + 1}"


# ---- the small scenarios, counted by hand ----


def test_two_nodes() -> None:
    f = load_fleet("two-nodes")
    assert (len(f.sites), len(f.clusters)) == (1, 1)
    assert (f.total_gpus, f.n_nodes, f.n_domains, f.n_blocks) == (16, 2, 2, 1)
    assert f.domain_gpus == (8, 8)
    assert f.block_n_domains == (2,)


def test_small_mixed() -> None:
    f = load_fleet("small-mixed")
    assert len(f.sites) == 3
    assert [(c.gpu_model, c.domain_gpus, c.n_domains, c.n_blocks) for c in f.clusters] == [
        ("B200", 8, 8, 2),  # 64 GPUs, blocks of 4 nodes
        ("GB200", 72, 2, 1),  # 2 racks
        ("RTXPRO6000", 8, 8, 2),  # 64 GPUs, blocks of 4 servers
    ]
    assert (f.total_gpus, f.n_domains, f.n_blocks) == (272, 18, 5)
    assert f.n_nodes == 8 + 36 + 8  # an NVL72 rack holds 18 four-GPU trays
    assert f.block_n_domains == (4, 4, 2, 4, 4)
    assert f.block_cluster == (0, 0, 1, 2, 2)


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE, encoding="utf-8")
    f = load_fleet(str(path))
    assert (f.total_gpus, f.n_domains, f.sites[0].country) == (16, 2, "KR")


# ---- bad input: one ConfigError naming the file, the field path and the line ----

# Line numbers below refer to this text (line 1 is `name: t`).
BASE = """\
name: t
sites:
  - id: a
    owner: o
    kind: research_cloud
    region: r
    source: s
    clusters:
      - id: c
        gpu_model: H100
        gpus: 16
        source: s
"""

SECOND_SITE = """\
  - id: a
    owner: o2
    kind: ai_factory
    region: r2
    source: s
    clusters:
      - id: c2
        gpu_model: H100
        gpus: 8
        source: s
"""

BAD_CASES = {
    "malformed": (
        "name: t\nsites:\n  - id: a\n    owner: [unclosed\n",
        ["line 5", "malformed YAML"],
    ),
    "unknown_model": (
        BASE.replace("H100", "X100"),
        ["sites[0].clusters[0].gpu_model (line 10)", "'X100'", "H100"],
    ),
    "negative_gpus": (
        BASE.replace("gpus: 16", "gpus: -8"),
        ["sites[0].clusters[0].gpus (line 11)", "greater than 0"],
    ),
    "zero_gpus": (
        BASE.replace("gpus: 16", "gpus: 0"),
        ["sites[0].clusters[0].gpus (line 11)", "greater than 0"],
    ),
    "gpus_not_whole_hgx_nodes": (
        BASE.replace("gpus: 16", "gpus: 12"),
        ["sites[0].clusters[0].gpus (line 11)", "12 GPUs", "8-GPU domains"],
    ),
    "gpus_not_whole_nvl72_racks": (
        BASE.replace("gpus: 16", "gpus: 100\n        domain: nvl72").replace(
            "gpu_model: H100", "gpu_model: GB200"
        ),
        ["sites[0].clusters[0].gpus (line 11)", "100 GPUs", "72-GPU domains"],
    ),
    "domain_size_not_the_models": (
        BASE.replace("gpus: 16", "gpus: 144\n        domain: nvl72"),
        ["sites[0].clusters[0].domain (line 12)", "H100 has 8-GPU NVLink domains"],
    ),
    "duplicate_yaml_key": (
        BASE.replace("gpus: 16", "gpus: 16\n        gpus: 8"),
        ["line 12", "duplicate key 'gpus'"],
    ),
    "boolean_gpu_count": (
        BASE.replace("gpus: 16", "gpus: true"),
        ["sites[0].clusters[0].gpus (line 11)", "integer"],
    ),
    "unknown_cluster_field": (
        BASE.replace("gpus: 16", "gpus: 16\n        colour: red"),
        ["sites[0].clusters[0].colour (line 12)", "unknown field"],
    ),
    "unknown_top_level_field": (
        "scenario: x\n" + BASE,
        ["scenario (line 1)", "unknown field"],
    ),
    "duplicate_site_id": (
        BASE + SECOND_SITE,
        ["sites[1].id (line 13)", "duplicate site id 'a'"],
    ),
    "duplicate_cluster_id": (
        BASE + SECOND_SITE.replace("id: a", "id: b").replace("id: c2", "id: c"),
        ["sites[1].clusters[0].id (line 19)", "duplicate cluster id 'c'"],
    ),
    "missing_site_owner": (
        BASE.replace("    owner: o\n", ""),
        ["sites[0].owner (line 3)", "Field required"],
    ),
    "missing_cluster_source": (
        BASE.removesuffix("        source: s\n"),
        ["sites[0].clusters[0].source (line 9)", "Field required"],
    ),
    "bad_site_kind": (
        BASE.replace("research_cloud", "hyperscaler"),
        ["sites[0].kind (line 5)", "research_cloud"],
    ),
    "empty_file": ("", ["file is empty"]),
    "comment_only_file": ("# nothing here\n", ["file is empty"]),
    "not_a_mapping": ("- a\n- b\n", ["(top level)", "dictionary"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_scenario_raises_config_error(case: str, tmp_path: Path) -> None:
    text, fragments = BAD_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_fleet(str(path))
    msg = str(err.value)
    assert msg.startswith(f"{path}:"), msg
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


def test_unknown_builtin_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        load_fleet("no-such-scenario")
    msg = str(err.value)
    assert "'no-such-scenario'" in msg
    for name in ("korea-2025", "small-mixed", "two-nodes"):
        assert name in msg


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="no such scenario file") as err:
        load_fleet(str(path))
    assert str(path) in str(err.value)
