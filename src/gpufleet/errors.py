"""The one exception tree of gpufleet.

    GpufleetError            anything gpufleet raises on purpose
    ├── ConfigError          a scenario, fleet or policy file or option is wrong
    ├── TraceError           a workload or trace file is wrong
    └── InvariantError       internal state broke a rule (a bug, never bad input)

"No fit" is not an error: the scheduler returns a Hold value with a reason instead.
The CLI turns ConfigError and TraceError into one line on stderr and exit code 2.
"""

from __future__ import annotations


class GpufleetError(Exception):
    """Base class of every error gpufleet raises on purpose."""


class ConfigError(GpufleetError):
    """A scenario, fleet file, policy name or option is invalid.

    The message names the file (when there is one), the field path and what is expected.
    """


class TraceError(GpufleetError):
    """A workload or trace file is invalid: missing column, bad value, unreadable file."""


class InvariantError(GpufleetError):
    """Internal state broke an invariant; this is a bug in gpufleet, never bad input."""
