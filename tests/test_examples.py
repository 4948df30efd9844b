"""The examples run as tests, so the README and docs never lie about them."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_compare_policies_runs_and_backfill_helps() -> None:
    waits = runpy.run_path(str(EXAMPLES / "compare_policies.py"))["main"]()
    assert set(waits) == {"fifo", "fifo+easy", "sjf+easy"}
    assert waits["fifo+easy"] <= waits["fifo"]
