"""The `gpufleet` command: parse at the edge, call inward, print.

One module per face: `twin` (fleet, policies, simulate), `plan` (what-if sweeps), `reports`,
`traces`, `service`, `pollux` (the Pollux reproduction check).
"""

from gpufleet.cli import plan, pollux, reports, service, traces, twin
from gpufleet.cli.base import main

__all__ = ["main", "plan", "pollux", "reports", "service", "traces", "twin"]
