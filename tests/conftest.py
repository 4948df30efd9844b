"""Shared test fixtures: small fleets built in code, and the hypothesis profiles."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from gpufleet.fleet.catalog import CATALOG
from gpufleet.fleet.model import Cluster, Fleet, Site

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def make_fleet(*clusters: tuple[str, str, int, int, int, int]) -> Fleet:
    """Clusters as (id, model, gpus, domain_gpus, node_gpus, block_domains), all at one site."""
    site = Site("site", "owner", "ai_factory", "region", source="[A] test")
    cs = tuple(
        Cluster(cid, "site", model, gpus, dom, node, blk, source="[A] test")
        for cid, model, gpus, dom, node, blk in clusters
    )
    return Fleet.build("test", "", (site,), cs, CATALOG)
