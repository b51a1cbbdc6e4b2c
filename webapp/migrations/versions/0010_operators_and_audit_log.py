"""operator console: staff accounts (`operators`) and the append-only `audit_log`

An operator's email is personal data: the `email` JSON column holds an `EncryptedJSON` envelope
bound to the row, and `email_hash` (HMAC-SHA256 under the lookup key, as link tokens) finds the
account at login. Passwords are kept as werkzeug scrypt hashes. A review decision's note in the
audit log is sealed the same way (`note`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.JSON(), nullable=False),  # holds an EncryptedJSON envelope
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_hash"),
    )
    op.create_table(
        "audit_log",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("note", sa.JSON(), nullable=True),  # holds an EncryptedJSON envelope
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"]),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    for column in ("operator_id", "action", "session_id", "created_at"):
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column], unique=False)


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("operators")
