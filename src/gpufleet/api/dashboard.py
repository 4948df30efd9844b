"""The live dashboard: a public page at `/` with no data in it, and `GET /dashboard/data`, the
JSON it polls with the tenant's bearer token.

The page holds no data so that it can be served to anyone; everything a tenant sees comes
through the authenticated endpoint, filtered as the rest of the API filters: a tenant's own
jobs, an admin's view of all. Fleet capacity (busy and free GPUs) is shown to every tenant, as
`GET /fleet` shows it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from gpufleet.api.schemas import UsageOut
from gpufleet.api.waiting import waiting_reason
from gpufleet.db import activity
from gpufleet.db.records import PENDING, RUNNING, JobRecord, TenantRecord
from gpufleet.db.store import Store
from gpufleet.engine.live import LiveEngine, Snapshot
from gpufleet.fleet.model import Fleet

# Rows of each list the page shows; the counts above the lists are exact.
QUEUE_ROWS = 200
RUNNING_ROWS = 200
DECISION_ROWS = 50

# The page's only code and style are inline; it may talk to this server only.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SiteLoad(BaseModel):
    site: str
    models: list[str]
    gpus: int
    busy: int
    free: int


class QueuedJob(BaseModel):
    id: int
    tenant: str
    group: str
    gpus: int
    models: list[str]
    submit: float
    reason: str


class RunningJob(BaseModel):
    id: int
    tenant: str
    group: str
    gpus: int
    site: str | None
    cluster: str | None
    start: float | None


class DecisionOut(BaseModel):
    """A start or an end; `cluster` for a start, `exit_code` and `reason` for an end."""

    time: float
    job_id: int
    tenant: str
    group: str
    kind: str
    cluster: str | None
    exit_code: int | None
    reason: str


class GroupUsageOut(BaseModel):
    group: str
    jobs: int
    gpu_seconds: float
    gpu_hours: float


class DashboardOut(BaseModel):
    """What the page draws. Jobs, decisions and usage are the caller's own (all for an
    admin); `sites` is the whole fleet."""

    now: float
    tenant: str
    admin: bool
    fleet: str
    gpus: int
    busy: int
    free: int
    sites: list[SiteLoad]
    pending_jobs: int
    running_jobs: int
    queue: list[QueuedJob]
    running: list[RunningJob]
    decisions: list[DecisionOut]
    groups: list[GroupUsageOut]
    tenants: list[UsageOut]


def site_loads(fleet: Fleet, snap: Snapshot) -> list[SiteLoad]:
    """Busy and free GPUs per site, in the fleet's order, from the engine's free counts."""
    out: dict[str, SiteLoad] = {
        s.id: SiteLoad(site=s.id, models=[], gpus=0, busy=0, free=0) for s in fleet.sites
    }
    for ci, c in enumerate(fleet.clusters):
        load = out[c.site]
        if c.gpu_model not in load.models:
            load.models.append(c.gpu_model)
        free = snap.cluster_free[ci]
        load.gpus += c.gpus
        load.free += free
        load.busy += c.gpus - free
    return list(out.values())


def dashboard_data(
    who: TenantRecord, store: Store, fleet: Fleet, snap: Snapshot, now: float
) -> DashboardOut:
    """The dashboard as `who` may see it, at `now`."""
    mine = None if who.admin else who.name
    sites = site_loads(fleet, snap)
    pending, running = activity.live_counts(store, mine)
    queue = store.jobs(mine, PENDING, QUEUE_ROWS, oldest_first=True)
    runs = store.jobs(mine, RUNNING, RUNNING_ROWS, oldest_first=True)
    return DashboardOut(
        now=now,
        tenant=who.name,
        admin=who.admin,
        fleet=fleet.name,
        gpus=sum(s.gpus for s in sites),
        busy=sum(s.busy for s in sites),
        free=sum(s.free for s in sites),
        sites=sites,
        pending_jobs=pending,
        running_jobs=running,
        queue=[_queued(r, fleet, snap) for r in queue],
        running=[_running(r) for r in runs],
        decisions=[_decision(e) for e in activity.recent_decisions(store, DECISION_ROWS, mine)],
        groups=[
            GroupUsageOut(
                group=u.group,
                jobs=u.jobs,
                gpu_seconds=u.gpu_seconds,
                gpu_hours=u.gpu_seconds / 3600,
            )
            for u in activity.group_usage(store, now, mine)
        ],
        tenants=[
            UsageOut(
                tenant=u.tenant,
                jobs=u.jobs,
                gpu_seconds=u.gpu_seconds,
                gpu_hours=u.gpu_seconds / 3600,
            )
            for u in store.usage(now, mine)
        ],
    )


def _queued(r: JobRecord, fleet: Fleet, snap: Snapshot) -> QueuedJob:
    # The core's own reason (quota, grants) wins over the estimate from free GPUs.
    reason = snap.park_reason.get(r.id) or waiting_reason(r.spec, fleet, snap.cluster_free)
    return QueuedJob(
        id=r.id,
        tenant=r.tenant,
        group=r.spec.group,
        gpus=r.spec.gpus,
        models=list(r.spec.models),
        submit=r.submit,
        reason=reason,
    )


def _running(r: JobRecord) -> RunningJob:
    return RunningJob(
        id=r.id,
        tenant=r.tenant,
        group=r.spec.group,
        gpus=r.spec.gpus,
        site=r.site,
        cluster=r.cluster,
        start=r.start,
    )


def _decision(e: activity.LoggedEvent) -> DecisionOut:
    d = e.detail
    code = d.get("exit_code")
    return DecisionOut(
        time=e.time,
        job_id=e.job_id,
        tenant=e.tenant,
        group=e.group,
        kind=e.kind,
        cluster=d.get("cluster"),
        exit_code=code if isinstance(code, int) else None,
        reason=str(d.get("reason") or ""),
    )


def dashboard_router(
    tenant: Callable[..., Awaitable[TenantRecord]], store: Store, engine: LiveEngine
) -> APIRouter:
    """The page and its data; `tenant` is the app's bearer-token dependency."""
    router = APIRouter()
    # A default rather than Annotated[...]: annotations are strings here (PEP 563), and
    # FastAPI resolves them in module globals, where this function's `tenant` is not.
    caller = Depends(tenant)
    page = resources.files("gpufleet.api").joinpath("dashboard.html").read_text("utf-8")

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard_page() -> HTMLResponse:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    @router.get("/dashboard/data", response_model=DashboardOut, tags=["dashboard"])
    def data(response: Response, who: TenantRecord = caller) -> Any:
        """The live dashboard's data: the fleet by site, your queue with why each job waits,
        your running jobs, recent starts and ends, GPU-hours per tenant group and tenant
        (an admin sees every tenant's)."""
        response.headers["Cache-Control"] = "no-store"
        return dashboard_data(who, store, engine.fleet, engine.snapshot(), engine.clock.now())

    return router
