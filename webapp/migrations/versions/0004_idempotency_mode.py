"""Idempotency-Key replies belong to a mode: a test key must never replay a live reply.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The table is rebuilt with `livemode` in its primary key. Stored replies cannot be told apart by
mode after the fact, so they are dropped: at worst a request retried across the upgrade runs again
instead of replaying (replies only live for a day anyway).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _table(with_mode: bool) -> None:
    mode: list[sa.Column[bool]] = (
        [sa.Column("livemode", sa.Boolean(), nullable=False)] if with_mode else []
    )
    key = ["platform_id", "livemode", "key"] if with_mode else ["platform_id", "key"]
    op.create_table(
        "idempotency_records",
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        *mode,
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),  # holds EncryptedJSON envelopes
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"]),
        sa.PrimaryKeyConstraint(*key),
    )


def upgrade() -> None:
    op.drop_table("idempotency_records")
    _table(with_mode=True)


def downgrade() -> None:
    op.drop_table("idempotency_records")
    _table(with_mode=False)
