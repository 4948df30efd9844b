"""The price table: cited and derived prices, co-pays, and --prices files with clear errors."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from gpufleet.accounting import prices as pr
from gpufleet.errors import ConfigError
from gpufleet.fleet.catalog import CATALOG, GpuModel


def test_cited_prices_are_the_range_midpoints_at_1400_krw_per_usd() -> None:
    t = pr.PriceTable()
    assert t.market_krw("H100") == pytest.approx(4200.0)  # $3.00 of $2.0-4.0 [S91]-[S99]
    assert t.market_krw("H200") == pytest.approx(5600.0)  # $4.00 of $3.5-4.5
    assert t.market_krw("B200") == pytest.approx(7350.0)  # $5.25 of $4.5-6.0


def test_uncited_models_scale_by_bf16_from_a_cited_one() -> None:
    t = pr.PriceTable()
    assert t.market_krw("GB300") == pytest.approx(7350.0 * 2500 / 2250)  # 8,166.7 [D]
    assert t.market_krw("A100") == pytest.approx(4200.0 * 312 / 989)  # 1,325 [D]
    assert set(CATALOG) <= set(t.krw_per_gpu_hour)  # every catalog model has a price


def test_co_pays_of_the_korea_2025_groups() -> None:
    t = pr.PriceTable()
    assert t.copay_of("academia-research") == 0.0
    assert 0.05 <= t.copay_of("industry-sme-startups") <= 0.10  # [S29]
    for g in ("naver-cloud", "samsung-fab-ai", "sk-group-gpuaas", "hyundai-physical-ai"):
        assert t.copay_of(g) == 1.0
    assert t.copay_of("anyone-else") == pr.DEFAULT_COPAY == 1.0
    groups = {
        "academia-research",
        "industry-sme-startups",
        "national-ai-projects",
        "foundation-model",
        "naver-cloud",
        "samsung-fab-ai",
        "sk-group-gpuaas",
        "hyundai-physical-ai",
        "general",
    }
    assert set(t.copay) == groups


def test_every_number_carries_its_mark() -> None:
    source = inspect.getsource(pr)
    for tag in ("[S29]", "[S91]", "[S19][S60]", "[D]", "[A]"):
        assert tag in source
    sources = (Path(__file__).parents[2] / "docs" / "sources.md").read_text(encoding="utf-8")
    for tag in ("S29", "S33", "S43", "S60", "S91", "S99"):
        assert f"| {tag} |" in sources


def test_a_scenario_model_without_a_price_gets_a_derived_one() -> None:
    mine = GpuModel("X1", 64, 494.5, 500, 1, "[A] test")
    t = pr.PriceTable().with_models([mine, CATALOG["B200"]])
    assert t.market_krw("X1") == pytest.approx(2100.0)  # half an H100's BF16, half its price
    with pytest.raises(ConfigError, match="no price for GPU model 'X2'"):
        t.market_krw("X2")


def test_a_prices_file_overrides_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "krw_per_gpu_hour:\n  B200: 6000\n  X1: 10\ncopay:\n  general: 0.5\ndefault_copay: 0.9\n",
        encoding="utf-8",
    )
    t = pr.load_prices(path)
    assert t.market_krw("B200") == 6000.0 and t.market_krw("X1") == 10.0
    assert t.market_krw("H100") == pytest.approx(4200.0)  # kept
    assert t.copay_of("general") == 0.5 and t.copay_of("academia-research") == 0.0
    assert t.copay_of("other") == 0.9


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("copay:\n  general: 7.5\n", r"copay\.general \(line 2\): expected a fraction in \[0, 1\]"),
        ("krw_per_gpu_hour:\n  B200: -1\n", r"B200 \(line 2\): expected a finite"),
        ("krw_per_gpu_hour:\n  B200: .inf\n", r"krw_per_gpu_hour\.B200 \(line 2\)"),
        ("krw_per_gpu_hour:\n  B200: lots\n", r"krw_per_gpu_hour\.B200 \(line 2\)"),
        ("price: 3\n", r"price \(line 1\): unknown field"),
        ("default_copay: 2\n", r"default_copay \(line 1\)"),
        ("copay: [1, 2\n", r"malformed YAML"),
        ("", r"file is empty"),
    ],
)
def test_bad_prices_files_name_file_field_and_line(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as e:
        pr.load_prices(path)
    assert str(path) in str(e.value)


def test_a_missing_prices_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no-such\.yaml: cannot read file"):
        pr.load_prices(tmp_path / "no-such.yaml")
