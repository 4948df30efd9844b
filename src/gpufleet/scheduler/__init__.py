"""The core: events in, decisions out. No clock, no files, no sockets."""

from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Cancel, Decision, Event, Finish, Reject, Start, Submit

__all__ = ["Cancel", "Decision", "Event", "Finish", "Reject", "Scheduler", "Start", "Submit"]
