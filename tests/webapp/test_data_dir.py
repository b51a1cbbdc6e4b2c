"""The data folder as another local user would see it: closed to them, and no link token in
clear in any file of it (database, its -wal and -shm, stored images)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, String, column, select, table

from tests.support.crypto import (
    app_with,
    checkpoint,
    full_session,
    ring,
    run_migration,
)
from tests.support.platform import ApiPlatform, make_platform
from webapp.db import database, upgrade
from webapp.jobs import run_pending


def _files_holding(folder: Path, secret: str) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


def test_link_tokens_are_nowhere_in_the_data_folder_in_clear(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = full_session(app, client, platform)
    token = link.rsplit("/", 1)[1]
    opened = client.post(
        "/v1/verification_sessions", headers=platform.headers, json={"type": "document"}
    ).get_json()
    open_token = opened["url"].rsplit("/", 1)[1]
    assert opened["client_secret"] == f"{opened['id']}_secret_{open_token}"  # still given out
    assert client.get(f"/v/{open_token}").status_code == 302  # and the link still opens
    data_dir = Path(app.config["DATA_DIR"])
    assert (data_dir / "idflow.sqlite3-wal").exists()
    assert _files_holding(data_dir, token) == []
    assert _files_holding(data_dir, open_token) == []
    checkpoint(app)
    assert _files_holding(data_dir, open_token) == []
    assert session_id


def test_the_data_folder_is_closed_to_other_users(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)  # as an older version (or a careless mkdir) left it
    app = app_with(data_dir, "")  # the key file made in the folder
    client = app.test_client()
    full_session(app, client, make_platform(app))
    modes = {
        path.relative_to(data_dir).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [data_dir, *data_dir.rglob("*")]
    }
    assert modes["."] == 0o700
    for name in ("idflow.sqlite3", "idflow.sqlite3-wal", "idflow.sqlite3-shm", "encryption_keys"):
        assert modes[name] == 0o600, name
    assert any(name.startswith("files/") for name in modes), "an image should be stored"
    assert {name: mode for name, mode in modes.items() if mode & 0o077} == {}


def test_a_database_made_before_is_closed_when_the_app_starts(tmp_path: Path) -> None:
    keys, _ = ring("k1")
    app = app_with(tmp_path / "data", keys)
    database(app).engine.dispose()
    for path in [tmp_path / "data", *(tmp_path / "data").rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    again = app_with(tmp_path / "data", keys)
    with database(again).engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    for path in [tmp_path / "data", *(tmp_path / "data").glob("idflow.sqlite3*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_migration_keeps_only_a_keyed_hash_and_the_encrypted_token(migrating_app: Flask) -> None:
    app = migrating_app
    platform = make_platform(app)
    client = app.test_client()
    created = client.post(
        "/v1/verification_sessions", headers=platform.headers, json={"type": "document"}
    ).get_json()
    token = created["url"].rsplit("/", 1)[1]
    run_migration(app, "0006", down=True)
    legacy = table("verification_sessions", column("id"), column("link_token", String(64)))
    with database(app).engine.connect() as connection:
        assert connection.execute(select(legacy.c.link_token)).scalar_one() == token

    upgrade(app)
    raw = table(
        "verification_sessions",
        column("link_token_hash", String(64)),
        column("link_token", JSON),
    )
    with database(app).engine.connect() as connection:
        hashed, sealed = connection.execute(select(raw.c.link_token_hash, raw.c.link_token)).one()
    assert len(hashed) == 64 and token not in hashed and token not in json.dumps(sealed)
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert _files_holding(Path(app.config["DATA_DIR"]), token) == []
    assert client.get(f"/v/{token}").status_code == 302
    again = client.get(f"/v1/verification_sessions/{created['id']}", headers=platform.headers)
    assert again.get_json()["url"] == created["url"]
    assert again.get_json()["client_secret"] == created["client_secret"]

    run_migration(app, "0006", down=True)
    with database(app).engine.connect() as connection:
        assert connection.execute(select(legacy.c.link_token)).scalar_one() == token
    upgrade(app)
    assert client.get(f"/v/{token}").status_code == 302


def test_redacted_ciphertexts_do_not_linger_in_the_database_files(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Redaction overwrites the session's encrypted values; SQLite keeps the old pages in the
    write-ahead log (and the database file keeps them until a checkpoint), so a copy of the data
    folder plus the keys would still hold them. The redaction's job checkpoints the log and
    empties it."""
    session_id, _ = full_session(app, client, platform)
    raw = table("verification_sessions", column("id"), column("provided_details", JSON))
    with database(app).engine.connect() as connection:
        sealed = connection.execute(select(raw.c.provided_details)).scalar_one()
    data_dir = Path(app.config["DATA_DIR"])
    assert _files_holding(data_dir, sealed["ct"]), "the ciphertext should be on disk first"
    redacted = client.post(
        f"/v1/verification_sessions/{session_id}/redact", headers=platform.headers
    )
    assert redacted.status_code == 200
    run_pending(app)
    assert _files_holding(data_dir, sealed["ct"]) == []
