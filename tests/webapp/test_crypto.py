"""Encryption at rest, key rotation, redaction and retention, checked on the bytes that hit disk."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, String, Text, column, insert, select, table, update

from tests.support.crypto import (
    DETAILS,
    FULL_SESSION,
    REFERENCE_PROBES,
    REFERENCES,
    app_with,
    checkpoint,
    found,
    full_session,
    plaintext_dump,
    ring,
    run_migration,
)
from tests.support.flow import passport_photo
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from webapp.cli import main
from webapp.crypto import (
    FILE_MAGIC,
    KEY_FILE,
    DecryptionFailed,
    Key,
    KeyConfigError,
    KeyNotFound,
    KeyRing,
    SealingStream,
    is_envelope,
    open_file,
    open_json,
    parse_keys,
    seal_json,
)
from webapp.db import database, upgrade
from webapp.jobs import JobRunner, run_pending
from webapp.jobs.registry import PERIODIC
from webapp.keys import encrypted_columns, rotate, usage
from webapp.models import (
    Event,
    Job,
    UploadedFile,
    UTCDateTime,
    VerificationReport,
    VerificationSession,
    WebhookDelivery,
    WebhookEndpoint,
)
from webapp.retention import run_retention
from webapp.storage import storage


def disk_bytes(folder: Path) -> dict[Path, bytes]:
    """Every file idflow wrote (database, its WAL, stored images), key files aside."""
    return {
        path: path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and path.name not in (KEY_FILE, "secret_key")
    }


# ---- the primitives -------------------------------------------------------------------------


def test_json_round_trip_and_tampering() -> None:
    keys = KeyRing([Key("a", os.urandom(32))], "test")
    sealed = seal_json(keys, DETAILS, "verification_sessions.provided_details")
    assert set(sealed) == {"kid", "nonce", "ct"} and sealed["kid"] == "a"
    assert open_json(keys, sealed, "verification_sessions.provided_details") == DETAILS
    with pytest.raises(DecryptionFailed):  # moved to another column
        open_json(keys, sealed, "verification_reports.payload")
    flipped = bytearray(base64.b64decode(sealed["ct"]))
    flipped[3] ^= 1
    with pytest.raises(DecryptionFailed):
        open_json(keys, {**sealed, "ct": base64.b64encode(flipped).decode()}, "x")
    with pytest.raises(DecryptionFailed):  # a plain value put in by hand
        open_json(keys, {"first_name": "EVE"}, "verification_sessions.provided_details")


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024, 2 * 1024 * 1024 + 7])
def test_file_round_trip_in_chunks(size: int) -> None:
    keys = KeyRing([Key("a", os.urandom(32))], "test")
    data = os.urandom(size)
    stream = SealingStream(keys, io.BytesIO(data), "sessions/vs_1/file_1")
    sealed = stream.read()
    assert stream.plaintext_size == size and sealed.startswith(FILE_MAGIC)
    assert open_file(keys, sealed, "sessions/vs_1/file_1") == data


def test_altered_cut_or_moved_files_are_refused() -> None:
    keys = KeyRing([Key("a", os.urandom(32))], "test")
    name = "sessions/vs_1/file_1"
    sealed = SealingStream(keys, io.BytesIO(os.urandom(3 * 1024 * 1024)), name).read()
    flipped = bytearray(sealed)
    flipped[len(sealed) // 2] ^= 1
    frame = 12 + 4 + 1024 * 1024 + 16
    header = len(FILE_MAGIC) + 2 + 1
    for damaged in (bytes(flipped), sealed[:-1], sealed[: header + frame]):
        with pytest.raises(DecryptionFailed):
            open_file(keys, damaged, name)
    with pytest.raises(DecryptionFailed):
        open_file(keys, sealed, "sessions/vs_2/file_1")
    with pytest.raises(DecryptionFailed):
        open_file(keys, b"\xff\xd8\xff plain jpeg", name)


def test_a_missing_key_is_named_in_the_error() -> None:
    old = KeyRing([Key("old-key", os.urandom(32))], "test")
    sealed = seal_json(old, {"a": 1}, "p")
    with pytest.raises(KeyNotFound, match=r"old-key.*IDFLOW_ENCRYPTION_KEYS"):
        open_json(KeyRing([Key("new-key", os.urandom(32))], "test"), sealed, "p")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("k1", "kid:base64key"),
        ("k1:not-base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (
            f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}",
            "twice",
        ),
        (" , ", "no encryption key"),
    ],
)
def test_bad_key_settings_are_explained(value: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message):
        parse_keys(value, "IDFLOW_ENCRYPTION_KEYS")


# ---- what reaches the disk ----------------------------------------------------------------


def test_nothing_personal_is_stored_in_clear(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    hook = client.post(
        "/v1/webhook_endpoints",
        json={"url": "https://platform.example/hooks", "enabled_events": ["*"]},
        headers=platform.headers,
    ).get_json()
    signing_secret = hook["secret"]
    session_id, _ = full_session(app, client, platform)
    readable = plaintext_dump(app)
    assert found(readable), "the session should hold personal data to hide"
    assert set(REFERENCE_PROBES) <= set(found(readable)), "and the platform's references"
    assert signing_secret in readable
    for path, data in disk_bytes(Path(app.config["DATA_DIR"])).items():
        text = data.decode("latin-1") + data.decode("utf-8", "replace")
        assert found(text) == [], path
        assert signing_secret not in text, path
    images = list((Path(app.config["DATA_DIR"]) / "files").rglob("file_*"))
    assert images, "the upload should be on disk"
    for image in images:
        data = image.read_bytes()
        assert data.startswith(FILE_MAGIC)
        photo = passport_photo()  # no run of the photo's bytes (its JPEG header first) is there
        assert all(photo[at : at + 32] not in data for at in range(0, len(photo), 4096))
    with database(app).sessions() as db:
        upload = db.scalar(select(UploadedFile).where(UploadedFile.session_id == session_id))
        assert upload is not None and upload.storage_key is not None
        assert storage(app).read(upload.storage_key) == passport_photo()
        assert upload.size == len(passport_photo())
        payloads = [job.payload for job in db.scalars(select(Job))]
    assert payloads and found(json.dumps(payloads)) == []


def test_a_value_edited_in_the_database_is_detected(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, _ = full_session(app, client, platform)
    raw = table("verification_sessions", column("id"), column("provided_details", JSON))
    with database(app).engine.begin() as connection:
        stored = connection.execute(select(raw.c.provided_details)).scalar_one()
        swapped = connection.execute(
            select(table("verification_reports", column("payload", JSON)).c.payload)
        ).scalar_one()
        assert stored["kid"] == swapped["kid"]
        connection.execute(update(raw).values(provided_details=swapped))
    with database(app).sessions() as db, pytest.raises(DecryptionFailed):
        db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))


def _raw_secret(app: Flask, kind: Any = JSON) -> Any:
    raw = table("webhook_endpoints", column("secret", kind))
    with database(app).engine.connect() as connection:
        return connection.execute(select(raw.c.secret)).scalar_one()


def test_migration_encrypts_existing_webhook_secrets_and_keeps_deliveries(
    tmp_path: Path,
) -> None:
    keys, _ = ring("k1")
    app = app_with(tmp_path, keys)
    platform = make_platform(app)  # made by today's models, then taken back to 0002's tables
    run_migration(app, "0002", down=True)
    legacy = "whsec_written-before-encryption"
    endpoints = table(
        "webhook_endpoints",
        *(column(name) for name in ("id", "platform_id", "livemode", "url", "status")),
        column("enabled_events", JSON),
        column("secret", String(80)),
        column("created_at", UTCDateTime(timezone=True)),
    )
    with database(app).engine.begin() as connection:
        connection.execute(
            insert(endpoints).values(
                id="we_legacy",
                platform_id=platform.id,
                livemode=True,
                url="https://platform.example/hooks",
                status="enabled",
                enabled_events=["*"],
                secret=legacy,
                created_at=datetime.now(UTC),
            )
        )
    with database(app).sessions() as db:
        event = Event(
            id="evt_legacy",
            platform_id=platform.id,
            livemode=True,
            type="identity.verification_session.created",
            object_id="vs_legacy",
            data={"object": {}},
            created_at=datetime.now(UTC),
        )
        db.add(event)
        db.commit()
    deliveries = table(  # the table as 0002 made it, not as the model has it now
        "webhook_deliveries",
        *(column(name) for name in ("event_id", "endpoint_id", "status", "attempts")),
        *(column(name, UTCDateTime(timezone=True)) for name in ("window_started_at", "created_at")),
    )
    with database(app).engine.begin() as connection:
        now = datetime.now(UTC)
        connection.execute(
            insert(deliveries).values(
                event_id="evt_legacy",
                endpoint_id="we_legacy",
                status="failed",
                attempts=1,
                window_started_at=now,
                created_at=now,
            )
        )

    upgrade(app)
    stored = _raw_secret(app)
    assert is_envelope(stored) and stored["kid"] == "k1" and legacy not in json.dumps(stored)
    with database(app).sessions() as db:
        assert db.scalars(select(WebhookEndpoint)).one().secret == legacy
        assert len(db.scalars(select(WebhookDelivery)).all()) == 1  # no cascade on the way

    run_migration(app, "0002", down=True)
    assert _raw_secret(app, String(80)) == legacy
    upgrade(app)
    with database(app).sessions() as db:
        assert db.scalars(select(WebhookEndpoint)).one().secret == legacy
        assert len(db.scalars(select(WebhookDelivery)).all()) == 1


REFERENCE_COLUMNS = ("return_url", "client_reference_id", "metadata")


def _raw_references(app: Flask, *, clear: bool) -> dict[str, tuple[Any, ...]]:
    """Each session's three reference columns as stored, read as before or after 0005."""
    kinds: tuple[Any, ...] = (Text, String(500), JSON) if clear else (JSON, JSON, JSON)
    raw = table(
        "verification_sessions",
        column("id"),
        *(column(name, kind) for name, kind in zip(REFERENCE_COLUMNS, kinds, strict=True)),
    )
    with database(app).engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(select(raw))}


def _on_disk(app: Flask, *, wal: bool = True) -> str:
    """What SQLite wrote: the database file, and its WAL unless told otherwise."""
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        return ""
    files = [
        data
        for path, data in disk_bytes(Path(app.config["DATA_DIR"])).items()
        if wal or not path.name.endswith("-wal")
    ]
    return "".join(data.decode("latin-1") + data.decode("utf-8", "replace") for data in files)


def test_migration_encrypts_existing_session_references(migrating_app: Flask) -> None:
    app = migrating_app
    sqlite = app.config["DATABASE_URL"].startswith("sqlite")
    platform = make_platform(app)
    client = app.test_client()
    full, bare = (
        client.post("/v1/verification_sessions", headers=platform.headers, json=body).get_json()[
            "id"
        ]
        for body in ({"type": "document", **REFERENCES}, {"type": "document"})
    )

    def read(session_id: str) -> Any:
        path = f"/v1/verification_sessions/{session_id}"
        return client.get(path, headers=platform.headers).get_json()

    before = {session_id: read(session_id) for session_id in (full, bare)}
    assert before[full]["metadata"] == REFERENCES["metadata"]

    run_migration(app, "0004", down=True)
    clear = tuple(REFERENCES[name] for name in REFERENCE_COLUMNS)
    assert _raw_references(app, clear=True) == {full: clear, bare: (None, None, {})}
    legacy = "cust-LEGACY-3307"  # written in clear, as the code before 0005 did
    raw = table("verification_sessions", column("id"), column("client_reference_id", String(500)))
    with database(app).engine.begin() as connection:
        connection.execute(update(raw).where(raw.c.id == full).values(client_reference_id=legacy))
    checkpoint(app)
    assert not sqlite or legacy in _on_disk(app, wal=False)  # the probe does see clear values

    upgrade(app)
    stored = _raw_references(app, clear=False)
    assert all(is_envelope(value) and value["kid"] == "k1" for value in stored[full])
    assert stored[bare][:2] == (None, None) and is_envelope(stored[bare][2])
    probes = (*REFERENCE_PROBES, legacy)
    assert [probe for probe in probes if probe in json.dumps(stored)] == []
    # Until a checkpoint, the WAL holds the new pages and the database file the old ones.
    checkpoint(app)
    assert [probe for probe in probes if probe in _on_disk(app)] == []
    before[full]["client_reference_id"] = legacy
    assert {session_id: read(session_id) for session_id in (full, bare)} == before

    run_migration(app, "0004", down=True)
    clear = (REFERENCES["return_url"], legacy, REFERENCES["metadata"])
    assert _raw_references(app, clear=True) == {full: clear, bare: (None, None, {})}
    upgrade(app)
    assert {session_id: read(session_id) for session_id in (full, bare)} == before


SESSION_SEALED = (
    "provided_details",
    "return_url",
    "client_reference_id",
    "metadata",
    "verified_outputs",
)


def test_a_value_copied_into_another_row_does_not_decrypt(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Someone with write access to the database copies one person's encrypted fields into
    another session's row: the second session must not show the first person's data."""
    first, _ = full_session(app, client, platform)
    second = client.post(
        "/v1/verification_sessions", headers=platform.headers, json={"type": "document"}
    ).get_json()["id"]
    raw = table("verification_sessions", column("id"), *(column(n, JSON) for n in SESSION_SEALED))
    with database(app).engine.begin() as connection:
        values = connection.execute(select(raw).where(raw.c.id == first)).one()._mapping
        copied = {name: values[name] for name in SESSION_SEALED}
        connection.execute(update(raw).where(raw.c.id == second).values(copied))
    with database(app).sessions() as db, pytest.raises(DecryptionFailed):
        db.scalar(select(VerificationSession).where(VerificationSession.id == second))
    assert (
        client.get(f"/v1/verification_sessions/{first}", headers=platform.headers).get_json()[
            "provided_details"
        ]["last_name"]
        == DETAILS["last_name"]
    )


# Encrypted columns that later migrations add (0007, 0008, 0010): not there before them.
_ADDED_AFTER_0006 = frozenset(
    {
        "verification_sessions.link_token",
        "risk_marks.descriptor",
        "operators.email",
        "audit_log.note",
        "verification_sessions.id_number_given",
        "operators.totp_secret",
        "verification_sessions.prepared",
    }
)


def _sealed_values(app: Flask) -> dict[tuple[str, str], Any]:
    """Every encrypted column value as stored, by (table, column) and row."""
    found: dict[tuple[str, str], Any] = {}
    with database(app).engine.connect() as connection:
        for model_table, model_column, purpose, _row in encrypted_columns():
            if purpose in _ADDED_AFTER_0006:
                continue
            raw = table(model_table.name, column(model_column.name, JSON))
            values = connection.execute(select(raw)).scalars()
            found[(model_table.name, model_column.name)] = sorted(
                json.dumps(value, sort_keys=True) for value in values
            )
    return found


def test_migration_binds_existing_values_to_their_rows(migrating_app: Flask) -> None:
    """Values sealed before 0006 (table and column only) are re-sealed with their row's id, and
    read the same through the API before and after; downgrading takes the row out again."""
    app = migrating_app
    platform = make_platform(app)
    client = app.test_client()
    session_id, _ = full_session(app, client, platform)
    client.post(
        "/v1/webhook_endpoints",
        json={"url": "https://platform.example/hooks", "enabled_events": ["*"]},
        headers=platform.headers,
    )

    def everything() -> Any:
        session = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers)
        report_id = session.get_json()["last_verification_report"]
        report = client.get(f"/v1/verification_reports/{report_id}", headers=platform.headers)
        events = client.get("/v1/events", headers=platform.headers)
        replay = client.post(  # answered from the stored reply (as full_session sent it)
            "/v1/verification_sessions",
            headers={**platform.headers, "Idempotency-Key": "create-1"},
            json=FULL_SESSION,
        )
        listed = events.get_json()
        for shown in listed["data"]:
            del shown["request"]  # a plain column of 0014, which a downgrade below it drops
        return (
            session.get_json(),
            report.get_json(),
            listed,
            replay.status_code,
            replay.get_json()["id"],
        )

    before = everything()
    bound = _sealed_values(app)
    run_migration(app, "0005", down=True)
    unbound = _sealed_values(app)
    assert all(bound[name] != unbound[name] for name in bound if bound[name] != ["null"])
    ring_ = app.extensions["idflow.keyring"]
    with database(app).engine.connect() as connection:
        raw = table("verification_sessions", column("id"), column("provided_details", JSON))
        stored = connection.execute(select(raw.c.provided_details)).scalar_one()
    assert open_json(ring_, stored, "verification_sessions.provided_details") == DETAILS
    upgrade(app)
    assert everything() == before
    with database(app).engine.connect() as connection:
        stored = connection.execute(select(raw.c.provided_details)).scalar_one()
    with pytest.raises(DecryptionFailed):
        open_json(ring_, stored, "verification_sessions.provided_details")


# ---- keys -----------------------------------------------------------------------------------


def test_the_default_key_file_is_made_once_private_and_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="webapp.crypto")
    first = app_with(tmp_path, "")
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    (key,) = parse_keys(path.read_text(), "file")
    assert key.kid in caplog.text and str(path) in caplog.text
    assert base64.b64encode(key.secret).decode() not in caplog.text
    caplog.clear()
    second = app_with(tmp_path, "")
    assert caplog.text == ""
    assert first.extensions["idflow.keyring"].current == second.extensions["idflow.keyring"].current


def test_rotation_re_encrypts_everything_and_the_old_key_can_go(tmp_path: Path) -> None:
    old_only, _ = ring("old")
    first = app_with(tmp_path, old_only)
    platform = make_platform(first)
    session_id, _ = full_session(first, first.test_client(), platform)
    assert set(usage(first)) == {"old"}

    both, keys = ring("new")
    both = f"{both},{old_only}"
    second = app_with(tmp_path, both)
    done = rotate(second)
    assert done.values >= 5 and done.files == 1
    assert set(done.by_key) == {"new"}
    again = rotate(second)  # safe to re-run: nothing left to do
    assert (again.values, again.files) == (0, 0)

    new_only = f"new:{base64.b64encode(keys['new'].secret).decode()}"
    third = app_with(tmp_path, new_only)
    response = third.test_client().get(
        f"/v1/verification_sessions/{session_id}", headers=platform.headers
    )
    assert response.status_code == 200
    assert response.get_json()["provided_details"]["last_name"] == "GUÐMUNDSSON"
    with database(third).sessions() as db:
        upload = db.scalar(select(UploadedFile).where(UploadedFile.session_id == session_id))
        assert upload is not None and upload.storage_key is not None
        assert storage(third).read(upload.storage_key) == passport_photo()

    lost, _ = ring("other")
    fourth = app_with(tmp_path, lost)
    with database(fourth).sessions() as db, pytest.raises(KeyNotFound, match="'new'"):
        db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))


def test_keys_rotate_command_adds_a_key_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IDFLOW_ENCRYPTION_KEYS", raising=False)
    first = app_with(tmp_path, "")
    full_session(first, first.test_client(), make_platform(first))
    (old,) = parse_keys((tmp_path / KEY_FILE).read_text(), "file")
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    new, kept = parse_keys((tmp_path / KEY_FILE).read_text(), "file")
    assert kept == old and new.kid in out and "re-encrypted" in out
    assert stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode) == 0o600
    assert set(usage(app_with(tmp_path, ""))) == {new.kid}
    # a server started before the rotation still reads what was re-encrypted after it
    with database(first).sessions() as db:
        assert db.scalars(select(VerificationReport)).all()
    assert main(["keys", "status"]) == 0
    assert new.kid in capsys.readouterr().out


# ---- redaction and retention --------------------------------------------------------------


def test_redaction_leaves_nothing_personal_anywhere(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, _ = full_session(app, client, platform)
    files = Path(app.config["DATA_DIR"]) / "files" / "sessions" / session_id
    assert any(files.iterdir())
    redacted = client.post(
        f"/v1/verification_sessions/{session_id}/redact", headers=platform.headers
    )
    assert redacted.status_code == 200 and redacted.get_json()["redaction"] == {
        "status": "processing"
    }
    run_pending(app)  # the redaction's job deletes the files
    assert found(plaintext_dump(app)) == []
    assert not files.exists()
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None and session.status == "verified"  # the stub keeps the outcome
        uploads = list(db.scalars(select(UploadedFile)))
        assert uploads and all(u.storage_key is None and u.check == {} for u in uploads)
    replay = client.post(
        "/v1/verification_sessions",
        headers={**platform.headers, "Idempotency-Key": "create-1"},
        json={"type": "document"},
    )
    assert replay.headers.get("Idempotent-Replayed") is None  # the old reply is gone


def _age_verdicts(app: Flask, days: int, *, uploads: bool = True) -> None:
    with database(app).sessions() as db:
        for report in db.scalars(select(VerificationReport)):
            report.created_at -= timedelta(days=days)
        for upload in db.scalars(select(UploadedFile)) if uploads else ():
            upload.created_at -= timedelta(days=days)
        db.commit()


def _stored(app: Flask) -> list[str | None]:
    with database(app).sessions() as db:
        return list(db.scalars(select(UploadedFile.storage_key)))


def test_retention_deletes_images_after_the_verdict(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, _ = full_session(app, client, platform)
    reconfigure(app, RETENTION_DAYS=30)
    _age_verdicts(app, 29)
    assert run_retention(app) == 0 and None not in _stored(app)
    reconfigure(app, RETENTION_DAYS=0)
    _age_verdicts(app, 2)
    assert run_retention(app) == 0
    reconfigure(app, RETENTION_DAYS=30)
    assert run_retention(app) == 1
    assert _stored(app) == [None]
    assert not any((Path(app.config["DATA_DIR"]) / "files").rglob("file_*"))
    api = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers).get_json()
    assert api["status"] == "verified" and api["verified_outputs"] is not None
    assert run_retention(app) == 0


def test_retention_keeps_photos_taken_after_the_old_verdict(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    full_session(app, client, platform)
    reconfigure(app, RETENTION_DAYS=1)
    _age_verdicts(app, 2, uploads=False)  # as if the person retook the photos just now
    assert run_retention(app) == 0 and None not in _stored(app)


def test_the_job_runner_keeps_retention_scheduled(app: Flask) -> None:
    JobRunner(app, workers=0).start()
    JobRunner(app, workers=0).start()  # a second process does not add another
    with database(app).sessions() as db:
        pending = list(db.scalars(select(Job).where(Job.kind == "retention")))
    assert [job.status for job in pending] == ["pending"]
    assert run_pending(app) == len(PERIODIC)  # retention and the other periodic jobs
    with database(app).sessions() as db:
        jobs = list(db.scalars(select(Job).where(Job.kind == "retention").order_by(Job.id)))
    assert [job.status for job in jobs] == ["done", "pending"]
    wait = jobs[1].run_at - jobs[0].created_at
    assert timedelta(minutes=59) < wait < timedelta(minutes=61)


def test_retention_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IDFLOW_RETENTION_DAYS", "7")
    app = app_with(tmp_path, "")
    full_session(app, app.test_client(), make_platform(app))
    _age_verdicts(app, 8)
    assert main(["retention", "run"]) == 0
    assert "deleted 1 image(s) older than 7 day(s)" in capsys.readouterr().out
    assert _stored(app) == [None]


def test_each_app_seals_with_its_own_keys_when_another_app_is_created_after_it(
    tmp_path: Path,
) -> None:
    """A row's values are sealed before it joins a database session; they were sealed with the
    key ring of whichever app the process created last, so the first of two apps stored values
    it could not open (found by the test tiers' template database)."""
    first = app_with(tmp_path / "first", ring("first")[0])
    platform = make_platform(first)
    app_with(tmp_path / "second", ring("second")[0])
    client = first.test_client()
    body = {"type": "document", "provided_details": DETAILS}
    created = client.post("/v1/verification_sessions", headers=platform.headers, json=body)
    assert created.status_code == 200
    shown = client.get(
        f"/v1/verification_sessions/{created.get_json()['id']}", headers=platform.headers
    )
    assert shown.status_code == 200
    assert shown.get_json()["provided_details"]["last_name"] == DETAILS["last_name"]
