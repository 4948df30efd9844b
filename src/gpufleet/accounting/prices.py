"""What a GPU-hour costs: market KRW per GPU-hour by model, and the co-pay each tenant group pays.

A tenant group is charged `co-pay x market price`: the national program gives academia its GPUs
free and charges startups and SMEs 5-10% of the market price [S29]. Market prices are cloud
on-demand list prices in USD [S91]-[S99] converted at one exchange rate; the models no price
source covers are scaled from a cited model by dense BF16 throughput [D], the same ratio the
twin uses to scale run times between models.

A `--prices FILE` (YAML) overrides the built-in values it names; errors name file, field, line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from gpufleet.errors import ConfigError
from gpufleet.fleet.catalog import CATALOG, GpuModel
from gpufleet.yamlfile import error_at, load_yaml, validate

# The exchange rate the sources themselves use, ~1,390-1,440 KRW/USD [S19][S60]; 1,400 [A].
KRW_PER_USD = 1400.0

# Midpoints of the quoted on-demand ranges, USD per GPU-hour [S91]-[S99]: H100 $2.0-4.0,
# H200 $3.5-4.5, B200 $4.5-6.0 (domain.md section 3).
USD_PER_GPU_HOUR: Mapping[str, float] = MappingProxyType({"H100": 3.0, "H200": 4.0, "B200": 5.25})

# Models no price source covers, and the cited model each is scaled from by BF16 throughput [D]:
# Blackwell parts from B200, Hopper and older parts from H100. E.g. GB300 = 5.25 x 1,400 x
# 2,500 / 2,250 = 8,167 KRW; A100 = 3.0 x 1,400 x 312 / 989 = 1,325 KRW.
SCALED_FROM: Mapping[str, str] = MappingProxyType(
    {
        "B300": "B200",
        "GB200": "B200",
        "GB300": "B200",
        "RTXPRO6000": "B200",
        "GH200": "H100",
        "A100": "H100",
        "V100": "H100",
        "T4": "H100",
    }
)
# A scenario's own GPU model (not in the catalog) is scaled from this one [A].
FALLBACK_REFERENCE = "H100"

# Fraction of the market price each tenant group pays (korea-2025 groups of the synthetic
# workload). A group not listed pays DEFAULT_COPAY.
COPAY: Mapping[str, float] = MappingProxyType(
    {
        "academia-research": 0.0,  # free for academia and research institutes [S29][S43]
        # 5-10% of market price [S29]; the midpoint 7.5% [A]. The 50% discount for youth-founded
        # firms [S29] is not modelled: no tenant is marked as one.
        "industry-sme-startups": 0.075,
        # Government-funded national projects use the pool without a charge [A]; the program
        # names a co-pay only for companies [S29].
        "national-ai-projects": 0.0,
        # The government leases GPUs for the sovereign foundation-model teams [S33]; the teams
        # pay nothing, the lessor is paid about market [A].
        "foundation-model": 0.0,
        # Commercial and captive fleets: customers or internal users pay market [A] (an
        # internal transfer price for the captive fleets of Samsung and Hyundai).
        "naver-cloud": 1.0,
        "samsung-fab-ai": 1.0,
        "sk-group-gpuaas": 1.0,
        "hyundai-physical-ai": 1.0,
        "general": 1.0,
    }
)
DEFAULT_COPAY = 1.0  # [A] a group the table does not know pays market


def _cited_krw(model: str) -> float:
    return USD_PER_GPU_HOUR[model] * KRW_PER_USD


def derived_krw(spec: GpuModel, reference: GpuModel, reference_krw: float) -> float:
    """Price of `spec` scaled from a priced reference by dense BF16 throughput [D]."""
    return reference_krw * spec.bf16_tflops / reference.bf16_tflops


def _builtin_krw() -> dict[str, float]:
    prices = {m: _cited_krw(m) for m in USD_PER_GPU_HOUR}
    for model, ref in SCALED_FROM.items():
        prices[model] = derived_krw(CATALOG[model], CATALOG[ref], prices[ref])
    return prices


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Market KRW per GPU-hour by GPU model and the co-pay fraction by tenant group."""

    krw_per_gpu_hour: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(_builtin_krw())
    )
    copay: Mapping[str, float] = field(default_factory=lambda: COPAY)
    default_copay: float = DEFAULT_COPAY

    def market_krw(self, model: str) -> float:
        """KRW per GPU-hour of `model`; ConfigError when the table has no price for it."""
        try:
            return self.krw_per_gpu_hour[model]
        except KeyError:
            raise ConfigError(
                f"no price for GPU model {model!r}; give one under krw_per_gpu_hour in a "
                "--prices file"
            ) from None

    def copay_of(self, group: str) -> float:
        """Fraction of the market price tenant group `group` pays."""
        return self.copay.get(group, self.default_copay)

    def with_models(self, models: Iterable[GpuModel]) -> PriceTable:
        """This table plus a derived [D] price for each model it lacks (a scenario's own)."""
        missing = [m for m in models if m.name not in self.krw_per_gpu_hour]
        if not missing:
            return self
        ref = CATALOG[FALLBACK_REFERENCE]
        ref_krw = self.market_krw(FALLBACK_REFERENCE)
        prices = dict(self.krw_per_gpu_hour)
        for m in missing:
            prices[m.name] = derived_krw(m, ref, ref_krw)
        return PriceTable(MappingProxyType(prices), self.copay, self.default_copay)


class _PricesIn(BaseModel):
    """A --prices file: each mapping overrides the built-in entries it names."""

    model_config = ConfigDict(extra="forbid")

    krw_per_gpu_hour: dict[str, float] = Field(default_factory=dict)
    copay: dict[str, float] = Field(default_factory=dict)
    default_copay: float | None = Field(default=None, ge=0.0, le=1.0)


def load_prices(path: Path) -> PriceTable:
    """Read a --prices YAML file over the built-in table.

    ```yaml
    krw_per_gpu_hour: {B200: 6500, GB300: 9000}
    copay: {industry-sme-startups: 0.10, my-group: 0.5}
    default_copay: 1.0
    ```
    Prices must be finite and >= 0; co-pays fractions in [0, 1] (a typo like 7.5 for 7.5% is
    caught rather than billed).
    """
    data, node = load_yaml(path)
    spec = validate(_PricesIn, data, path, node)
    for name, value in spec.krw_per_gpu_hour.items():
        if not (math.isfinite(value) and value >= 0.0):
            raise error_at(
                path, node, ("krw_per_gpu_hour", name), "expected a finite price >= 0 KRW"
            )
    for name, value in spec.copay.items():
        if not 0.0 <= value <= 1.0:
            raise error_at(path, node, ("copay", name), "expected a fraction in [0, 1]")
    base = PriceTable()
    return PriceTable(
        MappingProxyType({**base.krw_per_gpu_hour, **spec.krw_per_gpu_hour}),
        MappingProxyType({**base.copay, **spec.copay}),
        base.default_copay if spec.default_copay is None else spec.default_copay,
    )
