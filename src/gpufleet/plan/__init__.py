"""What-if planning: sweep fleet variants x policies x loads x seeds through the twin.

spec      sweep.yaml -> Sweep (validated at the edge, errors name file, field, line)
variant   a Variant applied to the base Fleet -> a modified Fleet
grid      Sweep -> Points (one simulate() run each)
run       Point -> Row: the unit of work, the same whichever backend runs it
backends  run Points on local processes or Ray tasks, rows back in point order
pareto    fleet size or cost against p95 wait: the non-dominated configurations
bisect    the smallest scale factor that meets a target (a state machine, no I/O)
search    drives one bisection per (policy, load) through a backend
tables    Parquet and Markdown; chart: the Pareto PNG
"""

from gpufleet.plan.row import Row
from gpufleet.plan.spec import Sweep, load_sweep

__all__ = ["Row", "Sweep", "load_sweep"]
