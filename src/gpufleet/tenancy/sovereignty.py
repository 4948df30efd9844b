"""Data sovereignty: which sites may hold a job's data, from its data class and its owner.

The rule of domain.md section 6 [A] over the CSAP tiers [S127][S128][S129] and PIPA [S130]:
public-sector data needs a site certified at or above its tier and located in Korea; personal
data stays in Korea; corporate-confidential and open data may go anywhere. Independently, a
captive site (an industrial AI factory) serves only tenants of its own owner or its lessees.
"""

from __future__ import annotations

from collections.abc import Iterable

from gpufleet.fleet.model import CSAP_TIERS, Site
from gpufleet.tenancy.model import DATA_CLASSES

_TIER = {t: i for i, t in enumerate(CSAP_TIERS)}
# The lowest CSAP tier a site needs for each public data class [S127][S128][S129].
_NEEDS_TIER = {"public_low": "low", "public_medium": "medium", "public_high": "high"}
_IN_KOREA = frozenset({"public_low", "public_medium", "public_high", "personal"})


def site_allows(site: Site, data_class: str, owners: frozenset[str]) -> str | None:
    """None when `site` may run work of `data_class` for a tenant of `owners`; else why not."""
    if data_class not in DATA_CLASSES:
        return f"unknown data class {data_class!r} (valid: {', '.join(DATA_CLASSES)})"
    if site.access == "captive" and site.owner not in owners:
        return f"{site.id} is captive to {site.owner}"
    if data_class in _IN_KOREA and site.country != "KR":
        return f"{site.id} is outside Korea ({site.country})"
    need = _NEEDS_TIER.get(data_class)
    if need is not None and _TIER[site.csap_tier] < _TIER[need]:
        return f"{site.id} is CSAP {site.csap_tier}, {data_class} needs {need} or higher"
    return None


def allowed_sites(sites: Iterable[Site], data_class: str, owners: frozenset[str]) -> list[str]:
    """Ids of the sites that may run work of `data_class` for a tenant of `owners`."""
    return [s.id for s in sites if site_allows(s, data_class, owners) is None]
