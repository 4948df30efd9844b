"""Why a pending job waits, in words a tenant can act on.

The core says why when it holds a job back on its tenant tree (quota, grants:
`Scheduler.park_reason`, published by the engine's snapshot); that always wins. Otherwise the
job waits for GPUs or its turn, and `waiting_reason` guesses which from its request and the
free GPUs now (the dashboard); the job API says the short `QUEUED` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gpufleet.db.records import JobSpec
from gpufleet.fleet.model import Fleet

QUEUED = "waiting for GPUs or its turn in the queue"

_WITHIN = {"domain": "one NVLink domain", "block": "one block", "any": "one cluster"}


def waiting_reason(spec: JobSpec, fleet: Fleet, cluster_free: Sequence[int]) -> str:
    """E.g. "waiting for 16 GPUs of H100 in one cluster; the most free in one allowed
    cluster is 8" or, when enough are free, that the job waits its turn (queue order, a
    backfill reservation, or free GPUs split across NVLink domains)."""
    models = "/".join(spec.models) if spec.models else "any model"
    at = f" at {'/'.join(spec.sites)}" if spec.sites else ""
    within = _WITHIN.get(spec.topology, "one cluster")
    most = max(
        (
            cluster_free[ci]
            for ci, c in enumerate(fleet.clusters)
            if (not spec.models or c.gpu_model in spec.models)
            and (not spec.sites or c.site in spec.sites)
        ),
        default=0,
    )
    asked = f"waiting for {spec.gpus} GPUs of {models}{at} in {within}"
    if most < spec.gpus:
        return f"{asked}; the most free in one allowed cluster is {most}"
    return f"{asked}; {most} are free in one allowed cluster: it waits its turn"


def core_reason(job_id: int, park_reason: Mapping[int, str]) -> str:
    """The core's reason for holding the job back, else the generic `QUEUED`."""
    return park_reason.get(job_id) or QUEUED
