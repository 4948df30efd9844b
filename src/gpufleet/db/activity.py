"""Read-only summaries of the store for the live dashboard: recent decisions, GPU-seconds per
tenant group, and how many jobs wait and run.

Kept apart from `store.py`, which holds what the engine and the API need to work; these are
queries for people to look at, and each is one short read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from gpufleet.db.records import PENDING, RUNNING
from gpufleet.db.schema import EventRow, JobRow
from gpufleet.db.store import Store, ran_at_all, used_gpu_seconds

# Event kinds that are not decisions: a submission is the tenant's act, not the scheduler's.
_NOT_DECISIONS = ("submit",)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One row of the event log with the job's tenant and group: a start or an end."""

    time: float
    job_id: int
    tenant: str
    group: str
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GroupUsage:
    """GPU-seconds of started jobs accounted to one tenant group."""

    group: str
    jobs: int
    gpu_seconds: float


def recent_decisions(store: Store, limit: int, tenant: str | None = None) -> list[LoggedEvent]:
    """The latest starts and ends (and rejections, cancellations), newest first; `tenant`
    None means every tenant's."""
    q = (
        select(
            EventRow.time,
            EventRow.job_id,
            JobRow.tenant,
            JobRow.group,
            EventRow.kind,
            EventRow.detail,
        )
        .join(JobRow, JobRow.id == EventRow.job_id)
        .where(EventRow.kind.not_in(_NOT_DECISIONS))
    )
    if tenant is not None:
        q = q.where(JobRow.tenant == tenant)
    q = q.order_by(EventRow.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [LoggedEvent(t, j, who, g, k, d or {}) for t, j, who, g, k, d in conn.execute(q)]


def group_usage(store: Store, now: float, tenant: str | None = None) -> list[GroupUsage]:
    """GPU-seconds per tenant group over started jobs, running jobs up to `now`, as
    `Store.usage` counts them per tenant."""
    q = (
        select(JobRow.group, func.count(), func.coalesce(func.sum(used_gpu_seconds(now)), 0.0))
        .where(ran_at_all())
        .group_by(JobRow.group)
        .order_by(JobRow.group)
    )
    if tenant is not None:
        q = q.where(JobRow.tenant == tenant)
    with store.engine.connect() as conn:
        return [GroupUsage(g, int(n), float(s)) for g, n, s in conn.execute(q)]


def live_counts(store: Store, tenant: str | None = None) -> tuple[int, int]:
    """(pending, running) jobs; an index range on state, however many jobs have ended."""
    q = (
        select(JobRow.state, func.count())
        .where(JobRow.state.in_((PENDING, RUNNING)))
        .group_by(JobRow.state)
    )
    if tenant is not None:
        q = q.where(JobRow.tenant == tenant)
    with store.engine.connect() as conn:
        counts = {s: int(n) for s, n in conn.execute(q)}
    return counts.get(PENDING, 0), counts.get(RUNNING, 0)
