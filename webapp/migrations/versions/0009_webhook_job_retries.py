"""webhook deliveries are retried by the jobs runner: a delivery names the job that holds it

Delivery used to schedule a new job for each retry and keep the time in `next_attempt_at`; now
one job per delivery is retried by the runner under the handler's retry policy, so the job's
`run_at` is the next attempt and the delivery keeps `job_id` instead (a job that no longer holds
its delivery, replaced by a redelivery, stops). Deliveries waiting at the upgrade are handed to
the job that was to make their next attempt, found by the payload it was written with.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_DELIVERIES = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.Integer()),
    sa.column("status", sa.String(10)),
    sa.column("attempts", sa.Integer()),
    sa.column("job_id", sa.Integer()),
)
_JOBS = sa.table(
    "jobs",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String(60)),
    sa.column("status", sa.String(10)),
    sa.column("payload", sa.JSON()),
)


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("job_id", sa.Integer(), nullable=True))
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(_JOBS.c.id, _JOBS.c.payload).where(
            _JOBS.c.kind == "deliver_event", _JOBS.c.status.in_(("pending", "sent", "running"))
        )
    )
    for job_id, payload in waiting.all():
        connection.execute(
            sa.update(_DELIVERIES)
            .where(
                _DELIVERIES.c.id == int(payload["delivery_id"]),
                _DELIVERIES.c.status == "pending",
                _DELIVERIES.c.attempts == int(payload["after"]),  # the old guard's rule
            )
            .values(job_id=job_id)
        )
    op.drop_column("webhook_deliveries", "next_attempt_at")


def downgrade() -> None:
    op.add_column(
        "webhook_deliveries",
        sa.Column("next_attempt_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
    )
    op.drop_column("webhook_deliveries", "job_id")
