"""operators' TOTP second factor; when a session's hosted link was first opened (the funnel)

`operators.totp_secret` holds an `EncryptedJSON` envelope bound to the row, like the email; the
factor is on once `totp_enabled_at` is set (a secret without it is an enrolment not yet
confirmed). `totp_last_step` is the time step of the last code accepted: a code of that step or
an earlier one is refused, so a code seen over a shoulder cannot be used again. The console's
funnel counts `verification_sessions.opened_at`, set on the first open of the link: a time, no
personal data.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operators", sa.Column("totp_secret", sa.JSON(), nullable=True))
    op.add_column(
        "operators",
        sa.Column("totp_enabled_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column("operators", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column(
        "verification_sessions",
        sa.Column("opened_at", webapp.models.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("verification_sessions", "opened_at")
    for column in ("totp_last_step", "totp_enabled_at", "totp_secret"):
        op.drop_column("operators", column)
