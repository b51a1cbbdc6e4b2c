"""verification_sessions.prepared: the verdict worked out before Submit (`webapp.prepared`)

It holds personal data (the report), so it is an `EncryptedJSON` envelope like the rest.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "verification_sessions",
        sa.Column("prepared", sa.JSON(), nullable=True),  # holds EncryptedJSON envelopes
    )


def downgrade() -> None:
    op.drop_column("verification_sessions", "prepared")
