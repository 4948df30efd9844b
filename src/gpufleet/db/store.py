"""Reads and writes of the control plane's state; every write is one short transaction.

SQLite (in WAL mode, synchronous=FULL, so a committed job survives a crash) is the default;
a `postgresql://` URL uses PostgreSQL through psycopg 3. Each transaction starts with its write
so that SQLite takes the write lock first and waits for it instead of failing on an upgrade.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Text,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from gpufleet.db import migrate, tokens
from gpufleet.db.records import (
    PENDING,
    RUNNING,
    Ended,
    Evicted,
    JobRecord,
    JobSpec,
    Live,
    NewJob,
    Started,
    TenantRecord,
    Usage,
)
from gpufleet.db.schema import EventRow, JobRow, TenantRow
from gpufleet.errors import ConfigError

DB_FILE = "gpufleet.db"


def database_url(data_dir: Path | None, database: str | None) -> str:
    """The SQLAlchemy URL: `--database` if given, else SQLite in the data directory."""
    if database:
        if database.startswith("postgresql://") or database.startswith("postgres://"):
            return "postgresql+psycopg://" + database.split("://", 1)[1]
        if database.startswith(("postgresql+", "sqlite:")):
            return database
        raise ConfigError(
            f"--database {database!r}: expected postgresql://USER@HOST[:PORT]/DB or sqlite:///FILE"
        )
    root = data_dir if data_dir is not None else Path("gpufleet-data")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--data-dir {root}: cannot create: {e.strerror or e}") from None
    return f"sqlite:///{root / DB_FILE}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


_JOB_COLUMNS = (
    JobRow.id,
    JobRow.tenant,
    JobRow.state,
    JobRow.submit,
    JobRow.start,
    JobRow.end,
    JobRow.gpus,
    JobRow.runtime,
    JobRow.time_limit,
    JobRow.ref_model,
    type_coerce(JobRow.models, Text).label("models"),
    type_coerce(JobRow.sites, Text).label("sites"),
    JobRow.priority,
    JobRow.kind,
    JobRow.topology,
    JobRow.preemptible,
    JobRow.group,
    JobRow.command,
    JobRow.script,
    type_coerce(JobRow.env, Text).label("env"),
    JobRow.cluster,
    JobRow.site,
    type_coerce(JobRow.allocation, Text).label("allocation"),
    JobRow.executor,
    JobRow.executor_id,
    JobRow.exit_code,
    JobRow.reason,
    JobRow.idempotency_key,
    JobRow.data_class,
    JobRow.preempt_at,
    JobRow.preemptions,
    JobRow.preempted_gpu_seconds,
)


def _row(n: NewJob, now: float) -> dict[str, Any]:
    spec = n.spec
    return {
        "tenant": n.tenant,
        "group": spec.group,
        "state": PENDING,
        "submit": now,
        "gpus": spec.gpus,
        "runtime": spec.runtime,
        "time_limit": spec.time_limit,
        "ref_model": spec.ref_model,
        "models": list(spec.models),
        "sites": list(spec.sites),
        "priority": spec.priority,
        "kind": spec.kind,
        "topology": spec.topology,
        "preemptible": spec.preemptible,
        "command": spec.command,
        "script": spec.script,
        "env": dict(spec.env),
        "idempotency_key": n.idempotency_key,
        "reason": "",
        "data_class": spec.data_class,
        "preemptions": 0,
        "preempted_gpu_seconds": 0.0,
    }


def _json(v: Any) -> Any:
    """A JSON column read as text (SQLite) or already decoded (psycopg); the common empty
    values skip the parser, which matters when a restart reads 100,000 jobs."""
    if not isinstance(v, str):
        return v
    if v == "[]":
        return []
    if v == "{}":
        return {}
    return json.loads(v)


def _record(r: Any) -> JobRecord:
    """A row of `_JOB_COLUMNS` as a record; positional, since a restart reads 100,000 rows."""
    (
        id_,
        tenant,
        state,
        submit,
        start,
        end,
        gpus,
        runtime,
        time_limit,
        ref_model,
        models,
        sites,
        priority,
        kind,
        topology,
        preemptible,
        group,
        command,
        script,
        env,
        cluster,
        site,
        allocation,
        executor,
        executor_id,
        exit_code,
        reason,
        idempotency_key,
        data_class,
        preempt_at,
        preemptions,
        preempted_gpu_seconds,
    ) = r
    env = _json(env)
    spec = JobSpec(
        gpus,
        runtime,
        time_limit,
        ref_model,
        tuple(_json(models)),
        tuple(_json(sites)),
        priority,
        kind,
        topology,
        bool(preemptible),
        group,
        command,
        script,
        tuple(sorted(env.items())) if env else (),
        data_class or "",
    )
    return JobRecord(
        id_,
        tenant,
        state,
        submit,
        spec,
        start,
        end,
        cluster,
        site,
        _json(allocation) if allocation is not None else None,
        executor,
        executor_id,
        exit_code,
        reason,
        idempotency_key,
        preempt_at,
        int(preemptions or 0),
        float(preempted_gpu_seconds or 0.0),
    )


def used_gpu_seconds(now: float) -> Any:
    """SQL for a job's GPU-seconds: its current or last run (up to `now` while it runs)
    plus its preempted runs."""
    ran = func.coalesce(JobRow.end, now) - JobRow.start
    return func.coalesce(JobRow.gpus * ran, 0.0) + JobRow.preempted_gpu_seconds


def ran_at_all() -> Any:
    """SQL: the job has run, now or before a preemption."""
    return or_(JobRow.start.is_not(None), JobRow.preemptions > 0)


class Store:
    """The database behind the control plane. Thread-safe: each call takes its own connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=url.startswith("postgresql"))
        # SQLite has one writer at a time; queueing our own writers here is cheaper than
        # SQLite's busy-wait sleeps. PostgreSQL takes concurrent writers as they come.
        self._write_lock: AbstractContextManager[Any] = nullcontext()
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._write_lock = threading.Lock()
        try:
            migrate.upgrade(self.engine)
        except OperationalError as e:
            self.engine.dispose()
            raise ConfigError(f"database {self.engine.url!r}: {e.orig}") from None

    @staticmethod
    def open(data_dir: Path | None = None, database: str | None = None) -> Store:
        return Store(database_url(data_dir, database))

    def close(self) -> None:
        self.engine.dispose()

    def _writing(self) -> AbstractContextManager[Any]:
        return self._write_lock

    # -- tenants ----------------------------------------------------------------------------
    def add_tenant(self, name: str, admin: bool = False) -> str:
        """Create a tenant; return its API token, which is shown this once and never stored."""
        tok = tokens.new_token()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(TenantRow).values(
                        name=name,
                        admin=admin,
                        key_id=tok.key_id,
                        salt=tok.salt,
                        token_hash=tok.digest,
                        created=time.time(),
                    )
                )
        except IntegrityError:
            raise ConfigError(f"tenant {name!r} exists already") from None
        return tok.token

    def tenant_for_token(self, token: str) -> TenantRecord | None:
        parts = tokens.split(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self.engine.connect() as conn:
            r = conn.execute(
                select(
                    TenantRow.id,
                    TenantRow.name,
                    TenantRow.admin,
                    TenantRow.salt,
                    TenantRow.token_hash,
                ).where(TenantRow.key_id == key_id)
            ).first()
        if r is None or not tokens.matches(r.salt, r.token_hash, secret):
            return None
        return TenantRecord(r.id, r.name, r.admin)

    def tenants(self) -> list[TenantRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TenantRow.id, TenantRow.name, TenantRow.admin).order_by(TenantRow.id)
            ).all()
        return [TenantRecord(r.id, r.name, r.admin) for r in rows]

    # -- jobs -------------------------------------------------------------------------------
    def add_job(
        self, tenant: str, spec: JobSpec, now: float, idempotency_key: str | None = None
    ) -> tuple[JobRecord, bool]:
        """Store a pending job and commit: (job, True); a known idempotency key: (its job, False)
        without storing anything."""
        return self.add_jobs([NewJob(tenant, spec, idempotency_key)], now)[0]

    def add_jobs(self, new: Sequence[NewJob], now: float) -> list[tuple[JobRecord, bool]]:
        """Store pending jobs in one transaction (one commit for many requests); per job as
        `add_job`. Ids follow the order of `new`."""
        keys = {(n.tenant, n.idempotency_key) for n in new if n.idempotency_key is not None}
        known: dict[tuple[str, str | None], JobRecord] = {}
        if keys:
            q = select(*_JOB_COLUMNS).where(JobRow.idempotency_key.in_({k for _, k in keys}))
            with self.engine.connect() as conn:
                for r in conn.execute(q):
                    if (r.tenant, r.idempotency_key) in keys:
                        known[(r.tenant, r.idempotency_key)] = _record(r)
        fresh: list[NewJob] = []
        seen: set[tuple[str, str | None]] = set()
        for n in new:
            k = (n.tenant, n.idempotency_key)
            if n.idempotency_key is None or (k not in known and k not in seen):
                fresh.append(n)
                seen.add(k)
        ids: list[int] = []
        if fresh:
            try:
                with self._writing(), self.engine.begin() as conn:
                    stmt = insert(JobRow).returning(JobRow.id, sort_by_parameter_order=True)
                    ids = list(conn.execute(stmt, [_row(n, now) for n in fresh]).scalars())
                    conn.execute(
                        insert(EventRow),
                        [{"time": now, "job_id": i, "kind": "submit", "detail": {}} for i in ids],
                    )
            except IntegrityError:
                if len(new) == 1:  # another process stored the same key meanwhile
                    if new[0].idempotency_key is None:
                        raise
                    return [(self._keyed(new[0]), False)]
                return [self.add_jobs([n], now)[0] for n in new]
        made = {id(n): i for n, i in zip(fresh, ids, strict=True)}
        out: list[tuple[JobRecord, bool]] = []
        for n in new:
            k = (n.tenant, n.idempotency_key)
            if id(n) in made:
                rec = JobRecord(
                    id=made[id(n)],
                    tenant=n.tenant,
                    state=PENDING,
                    submit=now,
                    spec=n.spec,
                    idempotency_key=n.idempotency_key,
                )
                out.append((rec, True))
                if n.idempotency_key is not None:
                    known[k] = rec
            else:
                out.append((known[k], False))
        return out

    def _keyed(self, n: NewJob) -> JobRecord:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(*_JOB_COLUMNS).where(
                    JobRow.tenant == n.tenant, JobRow.idempotency_key == n.idempotency_key
                )
            ).one()
        return _record(r)

    def job(self, job_id: int) -> JobRecord | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(*_JOB_COLUMNS).where(JobRow.id == job_id)).first()
        return None if r is None else _record(r)

    def jobs(
        self,
        tenant: str | None = None,
        state: str | None = None,
        limit: int = 1000,
        oldest_first: bool = False,
    ) -> list[JobRecord]:
        """Jobs, newest first (or oldest first: the head of a queue); `tenant` None means
        every tenant's."""
        q = select(*_JOB_COLUMNS)
        if tenant is not None:
            q = q.where(JobRow.tenant == tenant)
        if state is not None:
            q = q.where(JobRow.state == state)
        q = q.order_by(JobRow.id if oldest_first else JobRow.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(q)]

    def live(self) -> Live:
        """Running and pending jobs, pending in submission order (time, then id)."""
        q = (
            select(*_JOB_COLUMNS)
            .where(JobRow.state.in_((PENDING, RUNNING)))
            .order_by(JobRow.submit, JobRow.id)
        )
        out = Live()
        with self.engine.connect() as conn:
            for r in conn.execute(q).all():
                rec = _record(r)
                (out.running if rec.state == RUNNING else out.pending).append(rec)
        return out

    def record_starts(self, starts: Sequence[Started]) -> None:
        """Mark pending jobs running (no executor id yet), before the executor launches them."""
        if not starts:
            return
        with self._writing(), self.engine.begin() as conn:
            events = []
            for s in starts:
                done = conn.execute(
                    update(JobRow)
                    .where(JobRow.id == s.job_id, JobRow.state == PENDING)
                    .values(
                        state=RUNNING,
                        start=s.time,
                        cluster=s.cluster,
                        site=s.site,
                        allocation=s.allocation,
                        executor=s.executor,
                    )
                )
                if done.rowcount:
                    detail = {"cluster": s.cluster, **s.allocation}
                    events.append(
                        {"time": s.time, "job_id": s.job_id, "kind": "start", "detail": detail}
                    )
            if events:
                conn.execute(insert(EventRow), events)

    def record_launched(self, launched: Iterable[tuple[int, str]]) -> None:
        rows = [{"jid": j, "xid": x} for j, x in launched]
        if not rows:
            return
        with self._writing(), self.engine.begin() as conn:
            for r in rows:
                conn.execute(
                    update(JobRow).where(JobRow.id == r["jid"]).values(executor_id=r["xid"])
                )

    def record_ends(self, ends: Sequence[Ended]) -> None:
        """Jobs that ended (or were rejected or cancelled while pending); an ended job stays
        as it ended."""
        if not ends:
            return
        with self._writing(), self.engine.begin() as conn:
            events = []
            for e in ends:
                done = conn.execute(
                    update(JobRow)
                    .where(JobRow.id == e.job_id, JobRow.state.in_((PENDING, RUNNING)))
                    .values(state=e.state, end=e.time, exit_code=e.exit_code, reason=e.reason)
                )
                if done.rowcount:
                    detail = {"exit_code": e.exit_code, "reason": e.reason}
                    events.append(
                        {"time": e.time, "job_id": e.job_id, "kind": e.state, "detail": detail}
                    )
            if events:
                conn.execute(insert(EventRow), events)

    def record_preempt(self, job_id: int, at: float, reason: str, now: float) -> None:
        """A running job is to be stopped at `at` (reclaim): kept with the job so that a
        restart still stops it, and logged."""
        with self._writing(), self.engine.begin() as conn:
            done = conn.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == RUNNING)
                .values(preempt_at=at, reason=reason)
            )
            if done.rowcount:
                conn.execute(
                    insert(EventRow).values(
                        time=now,
                        job_id=job_id,
                        kind="preempt",
                        detail={"at": at, "reason": reason},
                    )
                )

    def record_evicted(self, evicted: Sequence[Evicted]) -> None:
        """Preempted runs that have stopped: each job waits again (pending, no allocation),
        its preemptions counted and the run's GPU-seconds kept for accounting."""
        if not evicted:
            return
        with self._writing(), self.engine.begin() as conn:
            events = []
            for e in evicted:
                done = conn.execute(
                    update(JobRow)
                    .where(JobRow.id == e.job_id, JobRow.state == RUNNING)
                    .values(
                        state=PENDING,
                        start=None,
                        end=None,
                        cluster=None,
                        site=None,
                        allocation=None,
                        executor=None,
                        executor_id=None,
                        exit_code=None,
                        preempt_at=None,
                        reason="",
                        preemptions=JobRow.preemptions + 1,
                        preempted_gpu_seconds=JobRow.preempted_gpu_seconds + e.gpu_seconds,
                    )
                )
                if done.rowcount:
                    detail = {"gpu_seconds": e.gpu_seconds, "reason": e.reason}
                    events.append(
                        {"time": e.time, "job_id": e.job_id, "kind": "evicted", "detail": detail}
                    )
            if events:
                conn.execute(insert(EventRow), events)

    def usage(self, now: float, tenant: str | None = None) -> list[Usage]:
        """GPU-seconds per tenant over started jobs; running jobs count up to `now`, and
        preempted runs of jobs that wait again count too."""
        q = (
            select(JobRow.tenant, func.count(), func.coalesce(func.sum(used_gpu_seconds(now)), 0.0))
            .where(ran_at_all())
            .group_by(JobRow.tenant)
            .order_by(JobRow.tenant)
        )
        if tenant is not None:
            q = q.where(JobRow.tenant == tenant)
        with self.engine.connect() as conn:
            return [Usage(t, int(n), float(s)) for t, n, s in conn.execute(q)]

    def events(self, job_id: int) -> list[tuple[float, str, dict[str, Any]]]:
        q = select(EventRow.time, EventRow.kind, EventRow.detail).where(EventRow.job_id == job_id)
        with self.engine.connect() as conn:
            return [(t, k, d) for t, k, d in conn.execute(q.order_by(EventRow.id))]
