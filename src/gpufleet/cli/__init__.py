"""The `gpufleet` command: parse at the edge, call inward, print.

One module per face: `twin` (fleet, policies, simulate), `reports`, `traces`, `service`.
"""

from gpufleet.cli import reports, service, traces, twin
from gpufleet.cli.base import main

__all__ = ["main", "reports", "service", "traces", "twin"]
