"""Test building blocks: small fleets built in code, random fleets and workloads."""

from __future__ import annotations

from hypothesis import strategies as st

from gpufleet.fleet.catalog import CATALOG
from gpufleet.fleet.model import Cluster, Fleet, Site
from gpufleet.workload.job import TOPOLOGIES, Job


def sites_fleet() -> Fleet:
    """Four 8-GPU sites that differ in CSAP tier, country and access (for data classes)."""
    sites = (
        Site("hi", "Gov", "sovereign_cloud", "r", csap_tier="high", source="[A] test"),
        Site("mid", "Gov", "sovereign_cloud", "r", csap_tier="medium", source="[A] test"),
        Site("abroad", "X", "sovereign_cloud", "r", country="US", source="[A] test"),
        Site("fab", "Fab Co", "ai_factory", "r", access="captive", source="[A] test"),
    )
    clusters = tuple(
        Cluster(f"c-{s.id}", s.id, "H100", 8, 8, 8, 1, source="[A] test") for s in sites
    )
    return Fleet.build("sites", "", sites, clusters, CATALOG)


def make_fleet(*clusters: tuple[str, str, int, int, int, int]) -> Fleet:
    """Clusters as (id, model, gpus, domain_gpus, node_gpus, block_domains), all at one site."""
    site = Site("site", "owner", "ai_factory", "region", source="[A] test")
    cs = tuple(
        Cluster(cid, "site", model, gpus, dom, node, blk, source="[A] test")
        for cid, model, gpus, dom, node, blk in clusters
    )
    return Fleet.build("test", "", (site,), cs, CATALOG)


MODELS = ("H100", "B200", "GB200")


@st.composite
def fleets(draw: st.DrawFn) -> Fleet:
    n = draw(st.integers(1, 3))
    clusters = []
    for i in range(n):
        dom = draw(st.sampled_from([1, 4, 8, 72]))
        node = 4 if dom in (4, 72) else dom
        blocks = draw(st.integers(1, 3))
        per_block = draw(st.integers(1, 4))
        model = draw(st.sampled_from(MODELS))
        clusters.append((f"c{i}", model, dom * blocks * per_block, dom, node, per_block))
    return make_fleet(*clusters)


@st.composite
def workloads(draw: st.DrawFn) -> list[Job]:
    n = draw(st.integers(1, 40))
    jobs = []
    t = 0.0
    for i in range(n):
        t += draw(st.sampled_from([0.0, 0.0, 1.0, 5.0, 30.0]))
        runtime = float(draw(st.integers(1, 400)))
        limit = draw(st.one_of(st.none(), st.integers(1, 600).map(float)))
        jobs.append(
            Job(
                id=i,
                tenant=f"t{i % 3}",
                submit=t,
                gpus=draw(st.sampled_from([1, 2, 3, 4, 8, 12, 16, 72, 80, 144])),
                runtime=runtime,
                models=draw(st.sampled_from([(), ("H100",), ("B200", "GB200"), ("GB200",)])),
                priority=draw(st.integers(0, 3)),
                topology=draw(st.sampled_from(TOPOLOGIES)),
                time_limit=limit,
                group=f"g{i % 2}",
            )
        )
    return jobs
