"""signals across sessions: the risk_marks table and the session's last risk assessment

`risk_marks` holds what `webapp.risk` compares a new verdict with: keyed hashes (HMAC-SHA256
under a key per platform) of a verified document's number, name and date of birth and of a
client's address, and a face descriptor encrypted like the rest of the personal data (its
JSON column holds `EncryptedJSON` envelopes bound to the row). `verification_sessions.risk`
keeps the last verdict's signals and review flag (no personal data) for the API and events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_marks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=True),
        sa.Column("name_hash", sa.String(length=64), nullable=True),
        sa.Column("dob_hash", sa.String(length=64), nullable=True),
        sa.Column("descriptor", sa.JSON(), nullable=True),  # holds EncryptedJSON envelopes
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["verification_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("session_id", "platform_id", "value_hash", "created_at"):
        op.create_index(op.f(f"ix_risk_marks_{column}"), "risk_marks", [column], unique=False)
    op.add_column("verification_sessions", sa.Column("risk", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("verification_sessions", "risk")
    op.drop_table("risk_marks")
