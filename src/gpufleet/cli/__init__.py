"""The `gpufleet` command: parse at the edge, call inward, print.

One module per face: `twin` (fleet, policies, simulate), `plan` (what-if sweeps), `reports`,
`traces`, `service`, `validate` (reproduction checks).
"""

from gpufleet.cli import plan, reports, service, traces, twin, validate
from gpufleet.cli.base import main

__all__ = ["main", "plan", "reports", "service", "traces", "twin", "validate"]
