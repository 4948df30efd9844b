"""Tables of the control plane as SQLAlchemy 2 models; migrations/ creates the same tables.

Times are seconds since the epoch (floats), like every time in gpufleet. A job's allocation is
stored as JSON by cluster id and local domain index, so it survives a reordered fleet file.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class TenantRow(Base):
    """A tenant with one API token, kept as a salted SHA-256 digest (the token is random)."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Float)


class JobRow(Base):
    """A submitted job: the spec, then where and when it ran and how it ended."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant", "idempotency_key", name="uq_jobs_tenant_idempotency_key"),
        Index("ix_jobs_state_submit", "state", "submit", "id"),
        Index("ix_jobs_tenant_id", "tenant", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column("group", String(64), default="")
    state: Mapped[str] = mapped_column(String(16))
    submit: Mapped[float] = mapped_column(Float)
    start: Mapped[float | None] = mapped_column(Float, nullable=True)
    end: Mapped[float | None] = mapped_column(Float, nullable=True)
    gpus: Mapped[int] = mapped_column(Integer)
    runtime: Mapped[float] = mapped_column(Float)
    time_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    ref_model: Mapped[str] = mapped_column(String(32))
    models: Mapped[list[str]] = mapped_column(JSON)
    sites: Mapped[list[str]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    topology: Mapped[str] = mapped_column(String(16))
    preemptible: Mapped[bool] = mapped_column(Boolean, default=False)
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    script: Mapped[str | None] = mapped_column(Text, nullable=True)
    env: Mapped[dict[str, str]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    cluster: Mapped[str | None] = mapped_column(String(64), nullable=True)
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)
    allocation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    executor: Mapped[str | None] = mapped_column(String(16), nullable=True)
    executor_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    data_class: Mapped[str] = mapped_column(String(32), default="")
    preempt_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    preemptions: Mapped[int] = mapped_column(Integer, default=0)
    preempted_gpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class EventRow(Base):
    """The log of what happened to jobs: submit, start, end, cancel, reject, preempt, evict."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[float] = mapped_column(Float)
    job_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
