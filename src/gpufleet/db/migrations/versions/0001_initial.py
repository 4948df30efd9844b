"""Tenants, jobs and the event log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("submit", sa.Float(), nullable=False),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("end", sa.Float(), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("runtime", sa.Float(), nullable=False),
        sa.Column("time_limit", sa.Float(), nullable=True),
        sa.Column("ref_model", sa.String(32), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("topology", sa.String(16), nullable=False),
        sa.Column("preemptible", sa.Boolean(), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("script", sa.Text(), nullable=True),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("cluster", sa.String(64), nullable=True),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("allocation", sa.JSON(), nullable=True),
        sa.Column("executor", sa.String(16), nullable=True),
        sa.Column("executor_id", sa.String(256), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.UniqueConstraint("tenant", "idempotency_key", name="uq_jobs_tenant_idempotency_key"),
    )
    op.create_index("ix_jobs_state_submit", "jobs", ["state", "submit", "id"])
    op.create_index("ix_jobs_tenant_id", "jobs", ["tenant", "id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_job_id", "events", ["job_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("jobs")
    op.drop_table("tenants")
