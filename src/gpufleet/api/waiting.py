"""Why a pending job waits, in words a tenant can act on, from what the API can see.

The scheduler core does not yet say why it holds a job (a `Hold(job, reason)` decision is to
come), so this guesses from the job's request and the free GPUs now. It is one function on
purpose: when the core reports its own reasons, they replace this call and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpufleet.db.records import JobSpec
from gpufleet.fleet.model import Fleet

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
