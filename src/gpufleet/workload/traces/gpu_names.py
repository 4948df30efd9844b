"""Map the GPU names that traces use ("V100M32", "A100-SXM4-80GB", "nvidia_h100_80gb") to models."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import accumulate

from gpufleet.errors import ConfigError
from gpufleet.fleet.catalog import CATALOG

# Longest names first, so "GB200" is not read as "B200" and "GH200" not as "H200".
_NAMES = sorted(CATALOG, key=lambda name: (-len(name), name))
_VENDORS = ("NVIDIA", "TESLA", "GEFORCE")
_SEPARATORS = re.compile(r"[\s_\-]+")


@lru_cache(maxsize=1024)
def catalog_model(name: str) -> str | None:
    """The catalog model that trace GPU name `name` denotes, or None when the catalog lacks it.

    Case, vendor words (NVIDIA, Tesla), spaces, '-' and '_' are ignored, and so is a memory or
    form-factor suffix: V100M16, V100-SXM2-32GB and tesla_v100 are all V100. A catalog name
    followed by another digit in the same word is a different GPU: "A10", "A800", "H800" and
    "T40" are not in the catalog.
    """
    tokens = [t for t in _SEPARATORS.split(name.upper()) if t and t not in _VENDORS]
    key = "".join(tokens)
    word_ends = set(accumulate(len(t) for t in tokens))
    for model in _NAMES:
        if key.startswith(model):
            end = len(model)
            if end in word_ends or not key[end : end + 1].isdigit():
                return model
    return None


def require_model(name: str, option: str = "ref_model") -> str:
    """`name` if it is a catalog model; ConfigError naming the option and the choices if not."""
    if name not in CATALOG:
        raise ConfigError(
            f"{option}: unknown GPU model {name!r}; expected one of {', '.join(sorted(CATALOG))}"
        )
    return name
