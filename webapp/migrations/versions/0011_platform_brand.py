"""a platform's brand on the hosted pages: display name, accent colour and icon

`brand_icon` holds the icon re-encoded as PNG (small and bounded by `webapp.branding`);
`brand_icon_version` is the start of its SHA-256, which versions the icon's URL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("platforms", sa.Column("brand_name", sa.String(length=200), nullable=True))
    op.add_column("platforms", sa.Column("brand_color", sa.String(length=7), nullable=True))
    op.add_column("platforms", sa.Column("brand_icon", sa.LargeBinary(), nullable=True))
    op.add_column("platforms", sa.Column("brand_icon_version", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for column in ("brand_icon_version", "brand_icon", "brand_color", "brand_name"):
        op.drop_column("platforms", column)
