"""Inference services in the twin: replicas as ordinary jobs, scaling as Submit and Cancel.

The autoscaler's decisions depend only on the offered demand and its own replica count
(`policy/autoscale.py`), so the whole run's scaling is known before the run: a replica is a
job submitted at the decision that adds it, and a scale-down cancels the newest replicas
(pending ones are the newest, so they go first). At the end of the horizon every replica
left is cancelled: the services stop with the arrival window and the queue then drains as
before. Everything reaches the core as its ordinary events; whether a replica runs, waits or
reclaims GPUs that batch work borrowed is the core's tenancy semantics, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.policy.autoscale import schedule
from gpufleet.workload.job import Job
from gpufleet.workload.services import Service, ServiceSet

# A replica runs until cancelled; its run time only has to outlast the horizon [A]. It is the
# oracle run time (no separate time limit): a limit on the reference model would scale with
# the GPU model's speed and cut replicas short on faster models.
_MARGIN_S = 86400.0


@dataclass(frozen=True, slots=True)
class ReplicaPlan:
    """What the services add to a run: replica jobs, when each is cancelled, and the target
    replica count of each service over time ((time, replicas) at each change)."""

    jobs: tuple[Job, ...]
    cancels: tuple[tuple[float, int], ...]  # (time, job id), in time order
    service_of: dict[int, int]  # replica job id -> service index
    targets: tuple[tuple[tuple[float, int], ...], ...]
    horizon: float


def replica_job(service: Service, job_id: int, t: float, horizon: float, group: str) -> Job:
    """One replica of `service`, submitted at `t`, running to the horizon unless cancelled."""
    run = horizon - t + _MARGIN_S
    return Job(
        id=job_id,
        tenant=service.tenant,
        submit=t,
        gpus=service.gpus,
        runtime=run,
        ref_model=service.models[0],
        models=service.models,
        priority=service.priority,
        kind="inference",
        topology=service.topology,
        group=group,
        runtimes=tuple((m, run) for m in service.models),
        sites=service.sites,
    )


def plan_replicas(services: ServiceSet, horizon: float, first_id: int) -> ReplicaPlan:
    """Replica jobs (ids from `first_id`) and cancels for every service over [0, horizon)."""
    jobs: list[Job] = []
    cancels: list[tuple[float, int]] = []
    service_of: dict[int, int] = {}
    targets = []
    next_id = first_id
    group = services.placement.node
    for si, s in enumerate(services.services):
        steps = schedule(s, horizon)
        targets.append(tuple(steps))
        live: list[int] = []
        for t, n in steps:
            while len(live) < n:
                jobs.append(replica_job(s, next_id, t, horizon, group))
                service_of[next_id] = si
                live.append(next_id)
                next_id += 1
            while len(live) > n:
                cancels.append((t, live.pop()))
        cancels.extend((horizon, jid) for jid in reversed(live))
    cancels.sort(key=lambda c: c[0])  # stable: a service's newest replica first
    return ReplicaPlan(tuple(jobs), tuple(cancels), service_of, tuple(targets), horizon)
