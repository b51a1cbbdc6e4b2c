"""Stripe's last fields: webhook endpoints' metadata and api_version, the API request behind an
event, a redaction's status (processing until its job has deleted everything), and the id number
the person typed in the hosted flow (sealed like the other personal details)

Sessions redacted before this revision were redacted at once: their status is `redacted`.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs, no batch: SQLite's batch copies the table, and dropping the old one would
    # cascade to the endpoints' deliveries.
    op.add_column(
        "webhook_endpoints",
        sa.Column("metadata", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("webhook_endpoints", sa.Column("api_version", sa.String(40), nullable=True))
    op.add_column("events", sa.Column("request", sa.JSON(), nullable=True))
    op.add_column(
        "verification_sessions", sa.Column("redaction_status", sa.String(10), nullable=True)
    )
    op.add_column("verification_sessions", sa.Column("id_number_given", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE verification_sessions SET redaction_status = 'redacted' "
        "WHERE redacted_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("verification_sessions", "id_number_given")
    op.drop_column("verification_sessions", "redaction_status")
    op.drop_column("events", "request")
    op.drop_column("webhook_endpoints", "api_version")
    op.drop_column("webhook_endpoints", "metadata")
