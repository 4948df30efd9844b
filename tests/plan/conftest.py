"""Sweep files for the plan tests: tiny grids on the two built-in test fleets."""

from __future__ import annotations

from pathlib import Path

import pytest

# Two fleet variants x one policy x one load x two seeds = 4 points, one simulated day each.
TINY = """\
scenario: small-mixed
days: 1
variants:
  - name: base
  - {name: gov-x2, scale: {gov-cloud: 2}}
policies: [fifo+easy]
loads: [0.9]
seeds: [0, 1]
"""


@pytest.fixture(scope="session")
def tiny() -> str:
    """A 4-point sweep on small-mixed, one simulated day per point."""
    return TINY


@pytest.fixture
def write_sweep(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a sweep file's text to tmp_path and return its path."""

    def write(text: str, name: str = "sweep.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write
