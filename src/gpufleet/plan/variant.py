"""Fleet variants: a base Fleet with clusters removed, scaled or added, built as a new Fleet.

A variant never edits the base; it rebuilds a Fleet with `Fleet.build`, so the dense domain
and block ids are derived exactly as for a fleet read from YAML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from gpufleet.errors import ConfigError
from gpufleet.fleet.model import Cluster, Fleet


@dataclass(frozen=True, slots=True)
class Variant:
    """A what-if change to the base fleet: remove, then scale, then add.

    `scale` multiplies every cluster's GPU count; `scale_at` (site or cluster id, factor)
    overrides it for the clusters named or at the sites named, a cluster's own entry winning
    over its site's. Removal takes site or cluster ids. Added clusters are not scaled.
    """

    name: str
    scale: float = 1.0
    scale_at: tuple[tuple[str, float], ...] = ()
    remove: tuple[str, ...] = ()
    add: tuple[Cluster, ...] = ()


def scaled_gpus(c: Cluster, factor: float) -> int:
    """GPUs of `c` times `factor`, in whole NVLink domains (half rounds up), at least one.

    Whole domains because a fleet cannot hold part of an HGX node or an NVL72 rack; at least
    one so that a small factor shrinks a cluster instead of silently deleting it (removal is
    `remove`, or a factor of 0).
    """
    if factor == 0:
        return 0
    domains = max(1, math.floor(c.n_domains * factor + 0.5))
    return domains * c.domain_gpus


def factor_of(v: Variant, c: Cluster) -> float:
    """The scale factor `v` applies to cluster `c`."""
    at = dict(v.scale_at)
    return at.get(c.id, at.get(c.site, v.scale))


def unknown_ids(fleet: Fleet, ids: tuple[str, ...]) -> list[str]:
    """Ids that name neither a site nor a cluster of `fleet`."""
    known = {s.id for s in fleet.sites} | {c.id for c in fleet.clusters}
    return [i for i in ids if i not in known]


def apply(base: Fleet, v: Variant) -> Fleet:
    """The fleet `v` makes of `base`; raise ConfigError if nothing is left or ids are wrong."""
    bad = unknown_ids(base, v.remove + tuple(k for k, _ in v.scale_at))
    if bad:
        raise ConfigError(f"variant {v.name!r}: unknown site or cluster {', '.join(bad)}")
    gone = set(v.remove)
    clusters: list[Cluster] = []
    for c in base.clusters:
        if c.id in gone or c.site in gone:
            continue
        gpus = scaled_gpus(c, factor_of(v, c))
        if gpus:
            clusters.append(c if gpus == c.gpus else replace(c, gpus=gpus))
    site_ids = {s.id for s in base.sites}
    taken = {c.id for c in clusters}
    for c in v.add:
        if c.site not in site_ids or c.site in gone:
            raise ConfigError(
                f"variant {v.name!r}: cluster {c.id!r} added at unknown site {c.site!r}"
            )
        if c.id in taken:
            raise ConfigError(f"variant {v.name!r}: cluster id {c.id!r} already in the fleet")
        taken.add(c.id)
        clusters.append(c)
    if not clusters:
        raise ConfigError(f"variant {v.name!r} leaves no cluster in fleet {base.name!r}")
    used = {c.site for c in clusters}
    # Clusters stay grouped by site in the base's site order, as a scenario file lists them.
    order = {s.id: i for i, s in enumerate(base.sites)}
    clusters.sort(key=lambda c: order[c.site])
    return Fleet.build(
        base.name if v.name == "base" else f"{base.name}/{v.name}",
        base.description,
        tuple(s for s in base.sites if s.id in used),
        tuple(clusters),
        base.models,
        base.sources,
    )
