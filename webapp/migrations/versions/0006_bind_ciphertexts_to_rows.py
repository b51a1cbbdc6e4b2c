"""bind every encrypted column value to its row

Until now a value's associated data named its table and column only, so someone able to write
to the database could copy one session's encrypted fields into another session's row and have
the first person's data shown under the second session. Each value is re-sealed with its row's
identity as well (`webapp.crypto.row_purpose`: the public id, or an idempotency record's
platform, mode and key); the ORM reads and writes them through `webapp.crypto.Sealed`. A value
stored in clear (from before encryption) is sealed on the way, as key rotation does, and one
already bound (written by newer code) is left as it is, in both directions.

As for 0003 and 0005, the key ring is the one `webapp.create_app` bound to this engine: run it
through `idflow db upgrade` (or app start). Rows are rewritten a batch at a time, on SQLite and
PostgreSQL alike (the column types do not change).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 23:10:00.000000
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from webapp import crypto

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 500
_ID = (("id", sa.String(40)),)
# table, the columns that identify a row (with their types), the encrypted columns
SEALED: tuple[
    tuple[str, tuple[tuple[str, sa.types.TypeEngine[Any]], ...], tuple[str, ...]], ...
] = (
    (
        "verification_sessions",
        _ID,
        ("provided_details", "return_url", "client_reference_id", "metadata", "verified_outputs"),
    ),
    ("uploaded_files", _ID, ("check",)),
    ("verification_reports", _ID, ("payload",)),
    (
        "idempotency_records",
        (("platform_id", sa.String(40)), ("livemode", sa.Boolean()), ("key", sa.String(255))),
        ("response",),
    ),
    ("webhook_endpoints", _ID, ("secret",)),
    ("events", _ID, ("data",)),
)

Reseal = Callable[[crypto.KeyRing, Any, str, str], Any]


def _bind_row(ring: crypto.KeyRing, value: Any, purpose: str, bound: str) -> Any:
    if not crypto.is_envelope(value):
        return crypto.seal_json(ring, value, bound)
    try:
        plain = crypto.open_json(ring, value, purpose)
    except crypto.DecryptionFailed:
        crypto.open_json(ring, value, bound)  # already bound (written by newer code): kept
        return value
    return crypto.seal_json(ring, plain, bound)


def _unbind_row(ring: crypto.KeyRing, value: Any, purpose: str, bound: str) -> Any:
    try:
        plain = crypto.open_json(ring, value, bound)
    except crypto.DecryptionFailed:
        crypto.open_json(ring, value, purpose)  # not bound to its row: kept
        return value
    return crypto.seal_json(ring, plain, purpose)


def _reseal(change: Reseal) -> None:
    connection = op.get_bind()
    for name, identity, columns in SEALED:
        keys = [sa.column(key, kind) for key, kind in identity]
        raw = sa.table(name, *keys, *(sa.column(c, sa.JSON()) for c in columns))
        query = sa.select(*raw.c).order_by(*keys).limit(BATCH)
        where = sa.and_(*(raw.c[key] == sa.bindparam(f"row_{key}") for key, _ in identity))
        store = (
            sa.update(raw)
            .where(where)
            .values({c: sa.bindparam(f"new_{c}", type_=sa.JSON()) for c in columns})
        )
        offset = 0
        while True:
            rows = connection.execute(query.offset(offset)).all()
            if not rows:
                break
            offset += len(rows)
            values = []
            for row in rows:
                ids = [row._mapping[key] for key, _ in identity]
                params = {
                    f"row_{key}": ident for (key, _), ident in zip(identity, ids, strict=True)
                }
                for column in columns:
                    value = row._mapping[column]
                    purpose = f"{name}.{column}"
                    bound = crypto.row_purpose(purpose, ids)
                    params[f"new_{column}"] = (
                        None
                        if value is None
                        else change(crypto.ring_for(connection.dialect), value, purpose, bound)
                    )
                values.append(params)
            connection.execute(store, values)


def upgrade() -> None:
    _reseal(_bind_row)


def downgrade() -> None:
    _reseal(_unbind_row)
