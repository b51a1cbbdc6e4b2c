"""Key rotation: re-encrypt every encrypted column value and stored image with the current key.

Each value and each file is rewritten on its own (a row update, an atomic file replace), and what
already uses the current key is skipped, so an interrupted rotation is finished by running it
again. Values written before encryption existed (plain JSON, plain files) are encrypted on the way.
The service keeps running meanwhile, so nothing changed since it was read (a redaction) is undone.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import JSON, Column, Table, Text, and_, cast, column, select, table, update

from webapp.crypto import (
    RING_EXTENSION,
    EncryptedJSON,
    KeyConfigError,
    KeyRing,
    file_kid,
    is_envelope,
    open_file,
    open_json,
    row_purpose,
    seal_json,
)
from webapp.db import database
from webapp.models import Base, UploadedFile
from webapp.storage import EncryptingStorage, storage

UNENCRYPTED = "(not encrypted)"


@dataclass
class Rotation:
    key_id: str
    values: int = 0  # column values re-encrypted
    files: int = 0  # files re-encrypted
    missing_files: int = 0
    by_key: Counter[str] = field(default_factory=Counter)  # what is stored under which key after


def keyring(app: Flask) -> KeyRing:
    ring: KeyRing = app.extensions[RING_EXTENSION]
    return ring


def encrypted_columns() -> Iterator[tuple[Table, Column[Any], str, tuple[str, ...]]]:
    """Every `EncryptedJSON` column of the models, with its purpose and the columns that identify
    a row (both bound into its ciphertexts, see `row_purpose`)."""
    for model_table in Base.metadata.sorted_tables:
        for model_column in model_table.columns:
            if isinstance(model_column.type, EncryptedJSON):
                yield model_table, model_column, model_column.type.purpose, model_column.type.row


def _rotate_column(
    app: Flask, model_table: Table, model_column: Column[Any], purpose: str, row: tuple[str, ...]
) -> int:
    """Works on the raw stored text (not through `EncryptedJSON`) so legacy plain values are
    readable. Each write is a compare-and-swap on that text: a value changed since it was read
    (a redaction, an update) was written with the current key or cleared, and must not be undone.
    Compared as text because PostgreSQL's `json` has no equality operator."""
    ring = keyring(app)
    identity = [column(name, model_table.c[name].type) for name in row]  # True stays True
    raw = table(model_table.name, *identity, column(model_column.name, JSON))
    stored = cast(raw.c[model_column.name], Text)
    changed = 0
    with database(app).engine.connect() as connection:
        rows = connection.execute(select(*identity, stored)).all()
        for found in rows:
            *ids, before = found
            value = None if before is None else json.loads(before)
            if value is None:
                continue
            if is_envelope(value) and value["kid"] == ring.current.kid:
                continue
            bound = row_purpose(purpose, ids)
            plain = open_json(ring, value, bound) if is_envelope(value) else value
            where = and_(*(raw.c[name] == ident for name, ident in zip(row, ids, strict=True)))
            result = connection.execute(
                update(raw)
                .where(where, stored == before)
                .values({model_column.name: seal_json(ring, plain, bound)})
            )
            connection.commit()
            changed += result.rowcount
    return changed


def _stored_keys(app: Flask) -> list[str]:
    with database(app).sessions() as db:
        return [
            key
            for key in db.scalars(
                select(UploadedFile.storage_key).where(UploadedFile.storage_key.is_not(None))
            )
            if key is not None
        ]


def _still_stored(app: Flask, key: str) -> bool:
    """Whether a file row still points at `key` (redaction and retention clear it)."""
    with database(app).sessions() as db:
        found = db.scalar(select(UploadedFile.id).where(UploadedFile.storage_key == key))
        return found is not None


def _files(app: Flask) -> EncryptingStorage:
    files = storage(app)
    if not isinstance(files, EncryptingStorage):
        raise KeyConfigError("The app's storage does not encrypt; nothing to rotate.")
    return files


def rotate(app: Flask) -> Rotation:
    """Re-encrypt with the ring's current key whatever is not under it yet."""
    ring = keyring(app)
    done = Rotation(ring.current.kid)
    for model_table, model_column, purpose, row in encrypted_columns():
        done.values += _rotate_column(app, model_table, model_column, purpose, row)
    files = _files(app)
    for key in _stored_keys(app):
        try:
            raw = files.inner.read(key)
        except FileNotFoundError:
            done.missing_files += 1
            continue
        kid = file_kid(raw)
        if kid == ring.current.kid:
            continue
        plain = open_file(ring, raw, key) if kid is not None else raw
        files.save(key, io.BytesIO(plain))
        if not _still_stored(app, key):  # redacted or deleted since the read: no orphan image
            files.delete(key)
            continue
        done.files += 1
    done.by_key = usage(app)
    return done


def usage(app: Flask) -> Counter[str]:
    """How many stored values and files each key id protects: a key at zero can be removed."""
    counts: Counter[str] = Counter()
    with database(app).engine.connect() as connection:
        for model_table, model_column, _purpose, _row in encrypted_columns():
            raw = table(model_table.name, column(model_column.name, JSON))
            for (value,) in connection.execute(select(*raw.c)):
                if value is not None:
                    counts[value["kid"] if is_envelope(value) else UNENCRYPTED] += 1
    files = _files(app)
    for key in _stored_keys(app):
        try:
            counts[file_kid(files.inner.read(key)) or UNENCRYPTED] += 1
        except FileNotFoundError:
            continue
    return counts
