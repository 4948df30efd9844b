"""Fleets for the workload tests: the built-in scenarios and a small national-style fleet."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpufleet.fleet.catalog import CATALOG
from gpufleet.fleet.loader import load_fleet
from gpufleet.fleet.model import Cluster, Fleet, Site


def _site(site_id: str, owner: str, program: str = "", kind: str = "sovereign_cloud") -> Site:
    return Site(id=site_id, owner=owner, kind=kind, region="KR", program=program)


def _cluster(cid: str, site: str, model: str, gpus: int) -> Cluster:
    domain = CATALOG[model].nvlink_domain if model != "GH200" else 4
    domain = max(domain, 8) if model == "RTXPRO6000" else domain
    block = 8 if domain == 72 else 32
    return Cluster(cid, site, model, gpus, domain, min(domain, 8), block)


def build_mini_national() -> Fleet:
    """Every pool of the national generator at ~1/30 scale.

    Each pool has GPU models no other pool has, so that the capacity of a job's allowed models
    is its pool's capacity (the generator's landing weights), which the share test relies on.
    """
    sites = (
        _site("gov", "NHN Cloud", "MSIT GPU tranche 1"),
        _site("kisti", "KISTI", "KISTI supercomputer", "research_cloud"),
        _site("naver", "NAVER Cloud", "NAVER AI factory"),
        _site("sk", "SK Telecom", "SK AI factory", "ai_factory"),
        _site("samsung", "Samsung Electronics", "", "ai_factory"),
        _site("hyundai", "Hyundai Motor Group", "", "ai_factory"),
    )
    clusters = (
        _cluster("gov-b200", "gov", "B200", 1024),
        _cluster("gov-h200", "gov", "H200", 512),
        _cluster("kisti-gh200", "kisti", "GH200", 512),
        _cluster("naver-gb300", "naver", "GB300", 2304),
        _cluster("naver-h100", "naver", "H100", 512),
        _cluster("naver-a100", "naver", "A100", 512),
        _cluster("sk-gb200", "sk", "GB200", 1152),
        _cluster("samsung-b300", "samsung", "B300", 1024),
        _cluster("samsung-rtx", "samsung", "RTXPRO6000", 256),
        _cluster("hyundai-v100", "hyundai", "V100", 1024),
    )
    return Fleet.build("mini-national", "test fleet", sites, clusters, CATALOG)


def build_single(owner: str = "Example Lab", model: str = "H100", gpus: int = 4096) -> Fleet:
    """One site with one cluster; "Example Lab" matches no national pool (the generic mix)."""
    sites = (_site("site", owner, "", "research_cloud"),)
    clusters = (_cluster("site-1", "site", model, gpus),)
    return Fleet.build("single", "test fleet", sites, clusters, CATALOG)


@pytest.fixture(scope="session")
def mini_national() -> Fleet:
    return build_mini_national()


@pytest.fixture(scope="session")
def single() -> Callable[..., Fleet]:
    """The `build_single` factory, for tests that need an owner-specific one-cluster fleet."""
    return build_single


@pytest.fixture(scope="session")
def lab() -> Fleet:
    return build_single()


@pytest.fixture(scope="session")
def korea() -> Fleet:
    return load_fleet("korea-2025")


@pytest.fixture(scope="session", params=["korea-2025", "two-nodes", "small-mixed"])
def scenario(request: pytest.FixtureRequest) -> Fleet:
    return load_fleet(request.param)
