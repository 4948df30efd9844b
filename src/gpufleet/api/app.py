"""The FastAPI app: jobs, accounting, the fleet, metrics and health, per-tenant bearer tokens.

Handlers run on the server's thread pool and talk to the store directly for reads and for
storing a submission (committed before the answer), and to the engine through its inbox. The
engine thread alone touches the scheduler core.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from gpufleet.api.admission import Admission
from gpufleet.api.dashboard import dashboard_router
from gpufleet.api.metrics import Metrics
from gpufleet.api.schemas import ClusterOut, FleetOut, JobIn, JobOut, UsageOut, to_spec
from gpufleet.api.waiting import core_reason
from gpufleet.db.batch import GroupCommit
from gpufleet.db.records import ENDED, PENDING, JobRecord, TenantRecord
from gpufleet.db.store import Store
from gpufleet.engine.live import LiveEngine

CANCEL_WAIT_S = 10.0
_TOKEN_CACHE_MAX = 10_000

_bearer = HTTPBearer(auto_error=False)


class _Auth:
    """Bearer tokens to tenants, with a cache of tokens already checked."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.known: dict[str, TenantRecord] = {}

    def tenant(self, token: str) -> TenantRecord | None:
        found = self.known.get(token)
        if found is None:
            found = self.store.tenant_for_token(token)
            if found is not None:
                if len(self.known) >= _TOKEN_CACHE_MAX:
                    self.known.clear()
                self.known[token] = found
        return found


async def _tenant(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TenantRecord:
    """The caller's tenant; async so that a known token costs no thread hand-off."""
    if creds is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    auth: _Auth = request.app.state.auth
    found = auth.known.get(creds.credentials)
    if found is None:
        found = await run_in_threadpool(auth.tenant, creds.credentials)
    if found is None:
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
    return found


Tenant = Annotated[TenantRecord, Depends(_tenant)]

# Job ids are 64-bit in the database; anything else is not a job (and must not reach SQL).
JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]

StateName = Literal["pending", "running", "completed", "failed", "cancelled", "timeout", "rejected"]


def create_app(
    store: Store, engine: LiveEngine, metrics: Metrics | None = None, poll_interval: float = 0.2
) -> FastAPI:
    """The app over a store and an engine; the engine recovers and starts with the app and
    polls its executor every `poll_interval` seconds when nothing else wakes it."""
    fleet = engine.fleet
    metrics = metrics or Metrics(engine.snapshot)
    engine.observe = metrics.observe

    commits = GroupCommit(store, engine.clock.now, engine.submit)
    tenancy = engine.core.tenancy  # read-only after start
    admission = Admission(tenancy, fleet) if tenancy is not None else None

    def job_out(rec: JobRecord, reasons: Mapping[int, str] | None = None) -> dict[str, Any]:
        """The job as shown; a pending one says why it waits, the core's word first."""
        if rec.state != PENDING:
            return JobOut.of(rec)
        if reasons is None:
            reasons = engine.snapshot().park_reason
        return JobOut.of(rec, core_reason(rec.id, reasons))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine.start(poll_interval, recover=True)
        commits.start()
        try:
            yield
        finally:
            commits.stop()
            engine.stop()

    app = FastAPI(
        title="gpufleet",
        summary="The live control plane of a GPU fleet",
        version="0.1.0",
        lifespan=lifespan,
    )

    def own_job(job_id: int, who: TenantRecord) -> JobRecord:
        rec = store.job(job_id)
        if rec is None or (rec.tenant != who.name and not who.admin):
            raise HTTPException(404, f"job {job_id} not found")  # others' jobs do not exist
        return rec

    @app.post("/jobs", status_code=201, response_model=JobOut, tags=["jobs"])
    async def submit(
        body: JobIn,
        who: Tenant,
        response: Response,
        idempotency_key: Annotated[
            str | None, Header(min_length=1, max_length=128, alias="Idempotency-Key")
        ] = None,
    ) -> Any:
        """Submit a job. It is stored before the answer; a repeated Idempotency-Key returns
        the job that key created (status 200). With a tenant tree, a tenant that is not one
        of its leaves gets 403, and a job the tree can never run 422 naming the field:
        checked here, so that nothing is stored (the core would only reject it later)."""
        spec = to_spec(body, fleet)
        if isinstance(spec, tuple):
            loc, msg = spec
            raise HTTPException(422, [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}])
        refusal = admission.check(who.name, spec) if admission is not None else None
        if refusal is not None and refusal.field == "tenant":
            raise HTTPException(403, refusal.message)
        if refusal is not None:
            err = {"loc": ["body", refusal.field], "msg": refusal.message, "type": "value_error"}
            raise HTTPException(422, [err])
        rec, created = await asyncio.wrap_future(commits.submit(who.name, spec, idempotency_key))
        if not created:
            response.status_code = 200
        return job_out(rec)

    @app.get("/jobs", response_model=list[JobOut], tags=["jobs"])
    def jobs(
        who: Tenant,
        state: StateName | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Any:
        """Your jobs, newest first (an admin sees every tenant's)."""
        rows = store.jobs(None if who.admin else who.name, state, limit)
        reasons = engine.snapshot().park_reason
        return [job_out(r, reasons) for r in rows]

    @app.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
    def show(job_id: JobId, who: Tenant) -> Any:
        return job_out(own_job(job_id, who))

    @app.delete("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
    def cancel(job_id: JobId, who: Tenant) -> Any:
        """Cancel a pending or running job; 409 if it has ended."""
        rec = own_job(job_id, who)
        if rec.state in ENDED:
            raise HTTPException(409, f"job {job_id} has already ended: {rec.state}")
        try:
            engine.cancel(job_id).result(timeout=CANCEL_WAIT_S)
        except TimeoutError:
            raise HTTPException(503, f"job {job_id}: cancel not confirmed in time") from None
        return job_out(own_job(job_id, who))

    @app.get("/acct", response_model=list[UsageOut], tags=["accounting"])
    def acct(who: Tenant) -> Any:
        """GPU-seconds per tenant of started jobs (yours; an admin sees every tenant)."""
        rows = store.usage(engine.clock.now(), None if who.admin else who.name)
        return [
            {
                "tenant": u.tenant,
                "jobs": u.jobs,
                "gpu_seconds": u.gpu_seconds,
                "gpu_hours": u.gpu_seconds / 3600.0,
            }
            for u in rows
        ]

    @app.get("/fleet", response_model=FleetOut, tags=["fleet"])
    def fleet_view(who: Tenant) -> Any:
        snap = engine.snapshot()
        return FleetOut(
            name=fleet.name,
            sites=[s.id for s in fleet.sites],
            clusters=[
                ClusterOut(
                    id=c.id,
                    site=c.site,
                    gpu_model=c.gpu_model,
                    gpus=c.gpus,
                    free_gpus=snap.cluster_free[ci],
                    domain_gpus=c.domain_gpus,
                    node_gpus=c.node_gpus,
                )
                for ci, c in enumerate(fleet.clusters)
            ],
            pending_jobs=snap.pending,
            running_jobs=sum(snap.running_jobs.values()),
        )

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus() -> Response:
        """Prometheus text exposition."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/healthz", tags=["operations"])
    async def healthz(response: Response) -> dict[str, str]:
        """Serving; `engine` is `recovering` while a restart reloads the queue, then `ready`
        (503 if recovery failed: the message says why)."""
        if engine.error:
            response.status_code = 503
            return {"status": "failed", "engine": engine.error}
        return {"status": "ok", "engine": "ready" if engine.ready.is_set() else "recovering"}

    app.include_router(dashboard_router(_tenant, store, engine))
    app.state.metrics = metrics
    app.state.engine = engine
    app.state.auth = _Auth(store)
    return app
