"""The hypothesis profiles: `dev` (quick) by default, `ci` (thorough, deterministic) in CI;
the `source_only` marker (see tests/test_native.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from gpufleet import _native

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "source_only: patches a function of the hot path that compiled callers call "
        "directly; with a compiled install, tests/test_native.py runs it from source",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _native.mode() != "compiled":
        return
    skip = pytest.mark.skip(reason="compiled install: run from source by tests/test_native.py")
    for item in items:
        if "source_only" in item.keywords:
            item.add_marker(skip)
