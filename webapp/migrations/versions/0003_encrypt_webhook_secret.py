"""encrypt webhook signing secrets at rest

The column becomes an `EncryptedJSON` one (an envelope in a JSON column) and every existing
secret is encrypted with the app's current key, under the purpose the model binds in. The key
ring is the one `webapp.create_app` bound to this engine, so run it through `idflow db upgrade`
(or app start), not the bare `alembic` command.

SQLite cannot change a column's type in place, and Alembic's batch mode would rebuild the table
by dropping it, which with foreign keys on cascades into every delivery and attempt. So on SQLite
a new column takes the values and replaces the old one (ADD, DROP and RENAME COLUMN, SQLite 3.35+).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from webapp import crypto

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "webhook_endpoints"
PURPOSE = "webhook_endpoints.secret"


def _table(name: str, kind: sa.types.TypeEngine[Any]) -> sa.TableClause:
    return sa.table(TABLE, sa.column("pk", sa.Integer()), sa.column(name, kind))


def _replace_column(kind: str, values: list[tuple[int, Any]], sa_type: Any, empty: str) -> None:
    """SQLite: fill a new column, drop the old one, give the new one its name."""
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN secret_new {kind} NOT NULL DEFAULT '{empty}'")
    target = _table("secret_new", sa_type)
    for pk, value in values:
        op.execute(sa.update(target).where(target.c.pk == pk).values(secret_new=value))
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN secret")
    op.execute(f"ALTER TABLE {TABLE} RENAME COLUMN secret_new TO secret")


def upgrade() -> None:
    connection = op.get_bind()
    plain = _table("secret", sa.String(80))
    rows = connection.execute(sa.select(plain.c.pk, plain.c.secret)).all()
    sealed: list[tuple[int, Any]] = []
    if rows:
        ring = crypto.ring_for(connection.dialect)
        sealed = [(pk, crypto.seal_json(ring, secret, PURPOSE)) for pk, secret in rows]
    if connection.dialect.name == "sqlite":
        _replace_column("JSON", sealed, sa.JSON(), "{}")
        return
    op.alter_column(
        TABLE,
        "secret",
        existing_type=sa.String(length=80),
        type_=sa.JSON(),
        existing_nullable=False,
        postgresql_using="to_json(secret)",
    )
    target = _table("secret", sa.JSON())
    for pk, envelope in sealed:
        connection.execute(sa.update(target).where(target.c.pk == pk).values(secret=envelope))


def downgrade() -> None:
    connection = op.get_bind()
    sealed = _table("secret", sa.JSON())
    rows = connection.execute(sa.select(sealed.c.pk, sealed.c.secret)).all()
    plain: list[tuple[int, Any]] = []
    if rows:
        ring = crypto.ring_for(connection.dialect)
        plain = [(pk, crypto.open_json(ring, envelope, PURPOSE)) for pk, envelope in rows]
    if connection.dialect.name == "sqlite":
        _replace_column("VARCHAR(80)", plain, sa.String(80), "")
        return
    op.alter_column(
        TABLE,
        "secret",
        existing_type=sa.JSON(),
        type_=sa.String(length=80),
        existing_nullable=False,
        postgresql_using="left(secret::text, 80)",
    )
    target = _table("secret", sa.String(80))
    for pk, secret in plain:
        connection.execute(sa.update(target).where(target.c.pk == pk).values(secret=secret))
