"""The one exception tree of gpufleet.

    GpufleetError            anything gpufleet raises on purpose
    ├── ConfigError          a scenario, fleet or policy file or option is wrong
    ├── TraceError           a workload or trace file is wrong
    ├── ServiceError         the control plane refused a request or cannot be reached
    ├── ExecutorError        an executor could not start, stop or query a job
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


class ServiceError(GpufleetError):
    """A request to the control plane failed; the message has the status and the reason."""


class ExecutorError(GpufleetError):
    """An executor (local processes, Slurm) could not start, stop or query a job.

    The message names the command and what it printed on stderr (SlurmCommandError in
    `engine.slurm` keeps both as attributes).
    """


class InvariantError(GpufleetError):
    """Internal state broke an invariant; this is a bug in gpufleet, never bad input."""
