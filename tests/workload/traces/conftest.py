"""The shared public traces for the reader tests, skipped when this checkout lacks them."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_files import SHARED


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared/traces beside the project root (resolved from this file), or skip."""
    if not SHARED.is_dir():
        pytest.skip(
            f"shared traces not found at {SHARED}: the public traces sit in ../shared/traces "
            "beside the project root"
        )
    return SHARED
