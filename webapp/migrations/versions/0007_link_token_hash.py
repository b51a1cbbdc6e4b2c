"""look hosted links up by a keyed hash of their token; keep the token only encrypted

Link tokens were stored in clear, so anyone who could read the database could open a person's
verification and their ID photo through `/v/<token>`. The unique `link_token` column becomes
`link_token_hash` (HMAC-SHA256 of the token under a key derived from the app's secret key,
`webapp.crypto.lookup_hash`; 64 hex characters, so the column, its unique index and its place
stay), and a new `link_token` column holds the token encrypted and bound to its row, for the
API's `url` and `client_secret` while the session is open. Renaming keeps SQLite from a table
rebuild (which would cascade deletes into uploads and reports); its overwritten values are
zeroed (`secure_delete`) and `webapp.db.upgrade` empties the write-ahead log afterwards.

The lookup key and the encryption keys are the ones `webapp.create_app` bound to this engine:
run it through `idflow db upgrade` (or app start), not the bare `alembic` command.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from webapp import crypto

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "verification_sessions"
PURPOSE = f"{TABLE}.link_token"
BATCH = 500


def _rewrite(change: Callable[[crypto.KeyRing, str, Any], dict[str, Any]], source: str) -> None:
    """Give every row the values `change(ring, id, value of source)` returns, a batch at a time
    in `pk` order."""
    connection = op.get_bind()
    raw = sa.table(
        TABLE,
        sa.column("pk", sa.Integer()),
        sa.column("id", sa.String(40)),
        sa.column("link_token_hash", sa.String(64)),
        sa.column("link_token", sa.JSON()),
    )
    query = sa.select(raw.c.pk, raw.c.id, raw.c[source]).order_by(raw.c.pk).limit(BATCH)
    after: int | None = None
    while True:
        page = query if after is None else query.where(raw.c.pk > after)
        rows = connection.execute(page).all()
        if not rows:
            return
        ring = crypto.ring_for(connection.dialect)
        for pk, session_id, value in rows:
            connection.execute(
                sa.update(raw).where(raw.c.pk == pk).values(change(ring, session_id, value))
            )
        after = rows[-1][0]


def _hide(ring: crypto.KeyRing, session_id: str, token: str) -> dict[str, Any]:
    return {
        "link_token_hash": crypto.lookup_hash(ring, token),
        "link_token": crypto.seal_json(ring, token, crypto.row_purpose(PURPOSE, [session_id])),
    }


def _reveal(ring: crypto.KeyRing, session_id: str, sealed: Any) -> dict[str, Any]:
    return {
        "link_token_hash": crypto.open_json(ring, sealed, crypto.row_purpose(PURPOSE, [session_id]))
    }


def upgrade() -> None:
    op.execute(f"ALTER TABLE {TABLE} RENAME COLUMN link_token TO link_token_hash")
    op.add_column(TABLE, sa.Column("link_token", sa.JSON(), nullable=True))
    _rewrite(_hide, "link_token_hash")  # still the clear token until rewritten


def downgrade() -> None:
    _rewrite(_reveal, "link_token")
    op.drop_column(TABLE, "link_token")
    op.execute(f"ALTER TABLE {TABLE} RENAME COLUMN link_token_hash TO link_token")
