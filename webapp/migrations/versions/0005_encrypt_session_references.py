"""encrypt sessions' return_url, client_reference_id and metadata at rest

Platforms often put their user's id or other personal data in these, so they become
`EncryptedJSON` columns (an envelope in a JSON column) like the rest of the personal data, and
every existing value is encrypted with the app's current key under the purpose the model binds
in. As for 0003, the key ring is the one `webapp.create_app` bound to this engine: run it through
`idflow db upgrade` (or app start), not the bare `alembic` command. Nothing filters on these
columns in SQL (lists filter by status only), so no query loses its meaning.

Rows are rewritten a batch at a time in `pk` order, so a large sessions table never sits in
memory whole. SQL NULLs stay NULL. SQLite cannot change a column's type in place and a batch-mode
table rebuild would cascade deletes into uploads and reports (foreign keys are on), so there a new
column takes the values and replaces the old one (ADD, DROP and RENAME COLUMN, SQLite 3.35+).
On PostgreSQL the text columns are converted in place to JSON strings, then encrypted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:10:00.000000
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from webapp import crypto

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "verification_sessions"
BATCH = 500
# column, its type in clear, how SQLite declares that type, how PostgreSQL casts JSON back to it
TEXT_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], str], ...] = (
    ("return_url", sa.Text(), "TEXT"),
    ("client_reference_id", sa.String(length=500), "VARCHAR(500)"),
)
METADATA = "metadata"  # already JSON: only its values change


def _purpose(name: str) -> str:
    return f"{TABLE}.{name}"


def _ring() -> crypto.KeyRing:
    """Looked up only when a row needs it, so an empty database migrates without the app."""
    return crypto.ring_for(op.get_bind().dialect)


def _sealer(name: str) -> Callable[[Any], Any]:
    """Encrypts a clear value; a JSON null (how the ORM stores None) stays one."""
    return lambda value: None if value is None else crypto.seal_json(_ring(), value, _purpose(name))


def _opener(name: str) -> Callable[[Any], Any]:
    """Decrypts an envelope; a JSON null stays one."""
    return lambda value: None if value is None else crypto.open_json(_ring(), value, _purpose(name))


def _rewrite(
    source: str,
    source_type: sa.types.TypeEngine[Any],
    target: str,
    target_type: sa.types.TypeEngine[Any],
    change: Callable[[Any], Any],
) -> None:
    """Write `change(value)` of every non-NULL `source` into `target` (maybe the same column)."""
    connection = op.get_bind()
    read = sa.table(TABLE, sa.column("pk", sa.Integer()), sa.column(source, source_type))
    write = sa.table(TABLE, sa.column("pk", sa.Integer()), sa.column(target, target_type))
    store = (
        sa.update(write)
        .where(write.c.pk == sa.bindparam("row_pk"))
        .values({target: sa.bindparam("new_value", type_=target_type)})
    )
    query = (
        sa.select(read.c.pk, read.c[source])
        .where(read.c[source].is_not(None))
        .order_by(read.c.pk)
        .limit(BATCH)
    )
    after: int | None = None
    while True:
        page = query if after is None else query.where(read.c.pk > after)
        rows = connection.execute(page).all()
        if not rows:
            return
        values = [{"row_pk": pk, "new_value": change(value)} for pk, value in rows]
        connection.execute(store, values)
        after = rows[-1][0]


def _replace_column(
    name: str,
    declared: str,
    source_type: sa.types.TypeEngine[Any],
    target_type: sa.types.TypeEngine[Any],
    change: Callable[[Any], Any],
) -> None:
    """SQLite: fill a new column, drop the old one, give the new one its name."""
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN {name}_new {declared}")
    _rewrite(name, source_type, f"{name}_new", target_type, change)
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {name}")
    op.execute(f"ALTER TABLE {TABLE} RENAME COLUMN {name}_new TO {name}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, clear_type, _declared in TEXT_COLUMNS:
        if sqlite:
            _replace_column(name, "JSON", clear_type, sa.JSON(), _sealer(name))
            continue
        op.alter_column(
            TABLE,
            name,
            existing_type=clear_type,
            type_=sa.JSON(),
            existing_nullable=True,
            postgresql_using=f"to_json({name})",
        )
        _rewrite(name, sa.JSON(), name, sa.JSON(), _sealer(name))
    _rewrite(METADATA, sa.JSON(), METADATA, sa.JSON(), _sealer(METADATA))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _rewrite(METADATA, sa.JSON(), METADATA, sa.JSON(), _opener(METADATA))
    for name, clear_type, declared in TEXT_COLUMNS:
        opener = _opener(name)
        if sqlite:
            _replace_column(name, declared, sa.JSON(), clear_type, opener)
            continue
        # The clear value goes in as a JSON string (a stored JSON null stays one), then `#>>`
        # takes it out as text (a JSON null becomes NULL).
        _rewrite(name, sa.JSON(), name, sa.JSON(), opener)
        op.alter_column(
            TABLE,
            name,
            existing_type=sa.JSON(),
            type_=clear_type,
            existing_nullable=True,
            postgresql_using=f"{name} #>> '{{}}'",
        )
