"""gpufleet: control plane and digital twin of a national GPU fleet.

Data flows one way: fleet and workload in, policy decides, the scheduler core turns events
into decisions, an engine advances time, metrics and reports come out.
"""

from gpufleet._native import use_source_if_needed
from gpufleet.errors import ConfigError, GpufleetError, InvariantError, TraceError

use_source_if_needed()  # before the compiled hot path can be imported (see _native)

__version__ = "0.1.0"

__all__ = ["ConfigError", "GpufleetError", "InvariantError", "TraceError", "__version__"]
