"""Map the GPU names that traces use ("V100M32", "A100-SXM4-80GB", "nvidia_h100_80gb") to models."""

from __future__ import annotations

import re
from functools import lru_cache

from gpufleet.errors import ConfigError
from gpufleet.fleet.catalog import CATALOG

# Longest names first, so "GB200" is not read as "B200" and "GH200" not as "H200".
_NAMES = sorted(CATALOG, key=lambda name: (-len(name), name))
# A catalog name at the start, not followed by another digit: "A100-80GB" and "V100M16" match,
# "A10" (a different, smaller GPU) and "H800" (an export variant) do not.
_LEADING = re.compile(r"(" + "|".join(map(re.escape, _NAMES)) + r")(?![0-9])")
_VENDOR = re.compile(r"^(?:NVIDIA|TESLA|GEFORCE)+")
_SEPARATORS = re.compile(r"[\s_\-]+")


@lru_cache(maxsize=1024)
def catalog_model(name: str) -> str | None:
    """The catalog model that trace GPU name `name` denotes, or None when the catalog lacks it.

    Case, vendor words (NVIDIA, Tesla), spaces, '-' and '_' are ignored; a memory or form-factor
    suffix is ignored: V100M16, V100M32, V100-SXM2-32GB and tesla_v100 are all V100.
    """
    key = _VENDOR.sub("", _SEPARATORS.sub("", name.upper()))
    m = _LEADING.match(key)
    return m.group(1) if m else None


def require_model(name: str, option: str = "ref_model") -> str:
    """`name` if it is a catalog model; ConfigError naming the option and the choices if not."""
    if name not in CATALOG:
        raise ConfigError(
            f"{option}: unknown GPU model {name!r}; expected one of {', '.join(sorted(CATALOG))}"
        )
    return name
