"""The core's capacity side: GPUs out of service, interrupted jobs and site power caps.

Functions of the `Scheduler` (passed as `core`), driven by `Down`, `Up`, `Fail` and
`PowerCap` events; they use the core's internals and run only on the core's thread.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gpufleet.errors import InvariantError
from gpufleet.fleet.state import Allocation
from gpufleet.scheduler import tenants
from gpufleet.scheduler.events import Fail
from gpufleet.workload.job import Job

if TYPE_CHECKING:
    from gpufleet.scheduler.core import Scheduler


def fail(core: Scheduler, event: Fail, now: float) -> None:
    """An interrupted job frees its GPUs and, with `retry`, waits again under its id."""
    run = core.running.get(event.job_id)
    if run is None:
        raise InvariantError(f"failure of job {event.job_id}, which is not running")
    core._evicting.pop(event.job_id, None)
    core._end(event.job_id, now, cancelled=True)
    core.failures[event.job_id] = core.failures.get(event.job_id, 0) + 1
    retry = event.retry
    if retry is None:
        tenants.forget(core, event.job_id)
        return
    if retry.id != event.job_id:
        raise InvariantError(f"job {event.job_id} retried as job {retry.id}")
    core._enqueue(retry if run.job.sites == retry.sites else replace(retry, sites=run.job.sites))


def down(core: Scheduler, domain: int, gpus: int) -> None:
    """Take `gpus` GPUs of `domain` out of service (negative: bring them back).

    Down GPUs are held in the allocation state under the id -(domain + 1), so every index
    and invariant sees them as taken.
    """
    was = core.down.get(domain, 0)
    now_down = was + gpus
    if (
        now_down < 0
        or now_down > core.fleet.clusters[core.fleet.domain_cluster[domain]].domain_gpus
    ):
        raise InvariantError(f"domain {domain}: {was} GPUs down, cannot change by {gpus}")
    key = -(domain + 1)
    ci = core.fleet.domain_cluster[domain]
    if was:
        core.state.release(key)
    if gpus > 0 and core.state.free[domain] < gpus and core._holds:
        tenants.drop_holds_on(core, domain)  # a failure takes GPUs held for a reclaim too
    if gpus > 0 and core.state.free[domain] < gpus:
        if was:
            core.state.take(key, Allocation(ci, ((domain, was),)))
        raise InvariantError(f"domain {domain}: {gpus} GPUs cannot go down, they are in use")
    if now_down:
        core.state.take(key, Allocation(ci, ((domain, now_down),)))
        core.down[domain] = now_down
    else:
        del core.down[domain]
    if gpus < 0:
        core._dirty.add(ci)
    core._resv = None


def powered(core: Scheduler, job: Job, clusters: tuple[int, ...]) -> tuple[int, ...]:
    """The clusters whose site can power `job`'s GPUs on top of what already runs."""
    caps, watts, site_of = core._power_cap, core.site_watts, core._site_of
    ok = tuple(
        ci
        for ci in clusters
        if (cap := caps.get(site_of[ci])) is None
        or watts[site_of[ci]] + job.gpus * core._gpu_watts[ci] <= cap + 1e-6
    )
    return clusters if len(ok) == len(clusters) else ok


def set_power_cap(core: Scheduler, site: str, watts: float | None) -> None:
    si = next((i for i, s in enumerate(core.fleet.sites) if s.id == site), None)
    if si is None:
        raise InvariantError(f"power cap for unknown site {site!r}")
    if watts is None:
        core._power_cap.pop(si, None)
        core._dirty.update(ci for ci, s in enumerate(core._site_of) if s == si)
    else:
        if watts > core._power_cap.get(si, float("inf")):
            core._dirty.update(ci for ci, s in enumerate(core._site_of) if s == si)
        core._power_cap[si] = watts
    core._resv = None
