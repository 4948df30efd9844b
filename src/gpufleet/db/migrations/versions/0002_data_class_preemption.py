"""Jobs: data class, and what reclaim preemption needs to survive a restart.

`preempt_at` is when a running job's preempted run is to be stopped (persisted so that a
restart keeps the eviction); `preemptions` counts its preempted runs and
`preempted_gpu_seconds` keeps their GPU-seconds for accounting.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("data_class", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("preempt_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("preemptions", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("preempted_gpu_seconds", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("preempted_gpu_seconds")
        batch.drop_column("preemptions")
        batch.drop_column("preempt_at")
        batch.drop_column("data_class")
