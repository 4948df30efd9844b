"""Why a job waits: a machine-readable code, a sentence for a person, and an estimated start.

Read-only questions to the core, asked by the engines between passes (never during one):

- `quota` / `grant`: held back by its tenant's limits or grants (the core's park reason);
- `resources`: first in line, waiting for GPUs to free up; the estimate is the reservation's
  shadow time when backfill computed one;
- `topology`: enough GPUs are free in its clusters, but not inside one NVLink domain, block
  or cluster as it needs;
- `priority`: behind other waiting jobs that come first in the policy's order;
- `new`: submitted since the last pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpufleet.scheduler.fairqueue import FairQueue

if TYPE_CHECKING:
    from gpufleet.scheduler.core import Scheduler

CODES = ("quota", "grant", "resources", "topology", "priority", "new")


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a pending job is not running now."""

    job_id: int
    code: str
    text: str
    estimate: float | None = None  # when it should start, if the core can tell


def why(core: Scheduler, job_id: int) -> Hold:
    """The reason `job_id` (pending) waits; raises KeyError when it is not pending."""
    job = core.pending[job_id]
    parked = core.park_reason.get(job_id)
    if parked is not None:
        code = "grant" if parked.startswith("grant") else "quota"
        return Hold(job_id, code, parked)
    shape = core._job_shape[job_id]
    if job_id in core._unqueued:
        return Hold(job_id, "new", "submitted; the next scheduling pass looks at it")
    models = ", ".join(job.models) if job.models else "any model"
    unit = {"domain": "NVLink domain", "block": "network block"}.get(job.topology, "cluster")
    free = sum(core.state.cluster_free[ci] for ci in shape.clusters)
    blocked = core._blocked
    if blocked is not None and blocked[1] == job_id:
        resv = core._resv
        estimate = resv.shadow if resv is not None and resv.job_id == job_id else None
        if free >= job.gpus:
            return Hold(
                job_id,
                "topology",
                f"{free} GPUs of {models} are free, but not {job.gpus} inside one {unit}",
                estimate,
            )
        return Hold(
            job_id,
            "resources",
            f"first in line: waiting for {job.gpus} GPUs of {models} in one {unit} "
            f"({free} free now)",
            estimate,
        )
    ahead = _ahead(core, job_id)
    return Hold(job_id, "priority", f"behind {ahead} waiting jobs that come first in the order")


def _ahead(core: Scheduler, job_id: int) -> int:
    """Waiting jobs (queued, not held by quota) ahead of `job_id` in the policy's order."""
    key = core._key[job_id]
    if core._fair is not None:
        key = (core._fair.ranks[core.pending_leaf(job_id)], *key)
    n = 0
    for shape in core._active.values():
        q = shape.queue
        if isinstance(q, FairQueue):
            n += q.count_before((key, job_id))
        else:
            n += q.bisect_left((key, job_id))
    return n


def waiting_summary(core: Scheduler) -> tuple[dict[str, int], int]:
    """(waiting jobs per reason code, free GPUs that no waiting job can use now).

    Cheap enough to sample hourly in the twin: the codes come from counters and the shapes'
    sizes, not from per-job questions. A free GPU is unusable when no queued shape could start
    a job on its cluster now (fragmentation: too few free in one domain, block or cluster).
    """
    counts = dict.fromkeys(CODES, 0)
    for reason in core.park_reason.values():
        counts["grant" if reason.startswith("grant") else "quota"] += 1
    counts["new"] = len(core._unqueued)
    queued = len(core.pending) - counts["grant"] - counts["quota"] - counts["new"]
    blocked = core._blocked
    if blocked is not None and blocked[1] in core.pending and queued > 0:
        counts[why(core, blocked[1]).code] += 1
        queued -= 1
    counts["priority"] = max(0, queued)
    state = core.state
    usable: set[int] = set()
    shapes = sorted((sh for sh in core._active.values() if sh.queue), key=lambda sh: sh.gpus)
    for ci, free in enumerate(state.cluster_free):
        if not free:
            continue
        place = core.policy.placement
        for sh in shapes:
            if (
                ci in sh.clusters
                and sh.gpus <= free
                and place(sh.gpus, sh.topology, (ci,), state, None) is not None
            ):
                usable.add(ci)
                break
    unusable = 0
    if shapes:
        unusable = sum(f for ci, f in enumerate(state.cluster_free) if f and ci not in usable)
    return counts, unusable
