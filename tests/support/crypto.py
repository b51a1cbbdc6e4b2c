"""Apps with encryption keys of the test's own, a session full of personal details, and what
a search of the stored bytes finds of them."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support.database import migrate
from tests.support.flow import consent, passport_photo, send
from tests.support.platform import ApiPlatform
from webapp import create_app
from webapp.crypto import Key, open_json, row_purpose
from webapp.db import alembic_config, database
from webapp.jobs import run_pending
from webapp.keys import encrypted_columns
from webapp.models import Base

DETAILS = {
    "first_name": "ÞÓR",
    "last_name": "GUÐMUNDSSON",
    "dob": "1969-11-12",
    "id_number": "XW7HZWLLK",
    "email": "thor@example.is",
}
# What a platform may say about its own user in a session: stored encrypted like the rest.
REFERENCES: dict[str, Any] = {
    "return_url": "https://platform.example/done?customer=cust-RURL-5521",
    "client_reference_id": "cust-CREF-8841",
    "metadata": {"customer_email": "meta.person@example.org"},
}
FULL_SESSION: dict[str, Any] = {  # what `full_session` creates, under Idempotency-Key create-1
    "type": "document",
    "options": {"document": {"allowed_types": ["passport"]}},
    "provided_details": DETAILS,
    **REFERENCES,
}
REFERENCE_PROBES = ("cust-RURL-5521", "cust-CREF-8841", "meta.person@example.org")
# The generated passport (td3, seed 1) belongs to ÞÓR GUÐMUNDSSON, document XW7HZWLLK.
PERSONAL = (
    "GUÐMUNDSSON",
    "GU\\u00d0MUNDSSON",  # how JSON escapes it
    "GUDMUNDSSON",  # how the MRZ writes it
    "XW7HZWLLK",
    "1969-11-12",
    "thor@example.is",
    *REFERENCE_PROBES,
)


def ring(*names: str) -> tuple[str, dict[str, Key]]:
    """An `IDFLOW_ENCRYPTION_KEYS` value with fresh keys, and the keys by id."""
    keys = {name: Key(name, os.urandom(32)) for name in names}
    value = ",".join(f"{k.kid}:{base64.b64encode(k.secret).decode()}" for k in keys.values())
    return value, keys


def app_with(data_dir: Path, keys: str, **config: Any) -> Flask:
    app = create_app(
        {
            **config,
            "TESTING": True,
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": "test-secret",
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 0,
            "ENCRYPTION_KEYS": keys,
            "WTF_CSRF_ENABLED": False,
        }
    )
    migrate(app)
    return app


def full_session(app: Flask, client: FlaskClient, platform: ApiPlatform) -> tuple[str, str]:
    """Created with personal details (and an Idempotency-Key), photographed, verified."""
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        "/v1/verification_sessions",
        headers={**platform.headers, "Idempotency-Key": "create-1"},
        json=FULL_SESSION,
    )
    assert response.status_code == 200, response.get_json()
    session_id, link = response.get_json()["id"], urlsplit(response.get_json()["url"]).path
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    assert client.post(f"{link}/review", data={"submit": "Submit"}).status_code == 303
    assert run_pending(app) >= 1
    return session_id, link


def plaintext_dump(app: Flask) -> str:
    """All rows of all tables as the app reads them (decrypted), as one searchable text."""
    ring_ = app.extensions["idflow.keyring"]
    sealed = {
        (model_table.name, model_column.name): (purpose, row)
        for model_table, model_column, purpose, row in encrypted_columns()
    }
    rows: list[Any] = []
    with database(app).engine.connect() as connection:
        for model_table in Base.metadata.sorted_tables:
            for found_row in connection.execute(select(model_table)):
                values = dict(found_row._mapping)
                for name, value in values.items():
                    if (model_table.name, name) in sealed and value is not None:
                        purpose, row = sealed[(model_table.name, name)]
                        bound = row_purpose(purpose, [values[key] for key in row])
                        values[name] = open_json(ring_, value, bound)
                rows.append({key: str(value) for key, value in values.items()})
    return json.dumps(rows, ensure_ascii=False) + json.dumps(rows)


def found(text: str) -> list[str]:
    return [probe for probe in PERSONAL if probe in text]


def run_migration(app: Flask, revision: str, *, down: bool = False) -> None:
    config = alembic_config(app.config["DATABASE_URL"])
    with database(app).engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def checkpoint(app: Flask) -> None:
    """Move SQLite's WAL into the database file and empty it."""
    if app.config["DATABASE_URL"].startswith("sqlite"):
        with database(app).engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
