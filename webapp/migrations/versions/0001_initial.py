"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:16:21.878791
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_jobs_run_at"), "jobs", ["run_at"], unique=False)
    op.create_index(op.f("ix_jobs_status"), "jobs", ["status"], unique=False)
    op.create_table(
        "platforms",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index(op.f("ix_api_keys_platform_id"), "api_keys", ["platform_id"], unique=False)
    op.create_table(
        "idempotency_records",
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
        ),
        sa.PrimaryKeyConstraint("platform_id", "key"),
    )
    op.create_table(
        "verification_sessions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("provided_details", sa.JSON(), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("client_reference_id", sa.String(length=500), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("link_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=True),
        sa.Column("consented_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.Column("last_error_code", sa.String(length=60), nullable=True),
        sa.Column("last_error_reason", sa.Text(), nullable=True),
        sa.Column("last_error_step", sa.String(length=20), nullable=True),
        sa.Column("last_report_id", sa.String(length=40), nullable=True),
        sa.Column("verified_outputs", sa.JSON(), nullable=True),
        sa.Column("redacted_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("link_token"),
    )
    op.create_index(
        op.f("ix_verification_sessions_platform_id"),
        "verification_sessions",
        ["platform_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_verification_sessions_status"), "verification_sessions", ["status"], unique=False
    )
    op.create_table(
        "uploaded_files",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("check", sa.JSON(), nullable=False),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["verification_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_uploaded_files_session_id"), "uploaded_files", ["session_id"], unique=False
    )
    op.create_table(
        "verification_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
        ),
        sa.ForeignKeyConstraint(["session_id"], ["verification_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_verification_reports_platform_id"),
        "verification_reports",
        ["platform_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_verification_reports_session_id"),
        "verification_reports",
        ["session_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_verification_reports_session_id"), table_name="verification_reports")
    op.drop_index(op.f("ix_verification_reports_platform_id"), table_name="verification_reports")
    op.drop_table("verification_reports")
    op.drop_index(op.f("ix_uploaded_files_session_id"), table_name="uploaded_files")
    op.drop_table("uploaded_files")
    op.drop_index(op.f("ix_verification_sessions_status"), table_name="verification_sessions")
    op.drop_index(op.f("ix_verification_sessions_platform_id"), table_name="verification_sessions")
    op.drop_table("verification_sessions")
    op.drop_table("idempotency_records")
    op.drop_index(op.f("ix_api_keys_platform_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("platforms")
    op.drop_index(op.f("ix_jobs_status"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_run_at"), table_name="jobs")
    op.drop_table("jobs")
