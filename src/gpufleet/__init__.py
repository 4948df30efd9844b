"""gpufleet: control plane and digital twin of a national GPU fleet.

Data flows one way: fleet and workload in, policy decides, the scheduler core turns events
into decisions, an engine advances time, metrics and reports come out.
"""

from gpufleet.errors import ConfigError, GpufleetError, InvariantError, TraceError

__version__ = "0.1.0"

__all__ = ["ConfigError", "GpufleetError", "InvariantError", "TraceError", "__version__"]
