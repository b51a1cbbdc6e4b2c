"""Images in an S3 bucket (moto's server on loopback): stored encrypted, read back, deleted by
redaction and retention, rewritten by key rotation, and a store that is down refuses an upload
with a 503 while nothing already accepted is lost."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from bench.servers import free_port
from tests.support import s3_server
from tests.support.crypto import app_with, full_session, ring
from tests.support.flow import consent, passport_photo, send, session_row, start
from tests.support.platform import make_platform
from tests.support.settings import reconfigure
from webapp.crypto import FILE_MAGIC, file_kid
from webapp.db import database
from webapp.jobs import run_pending
from webapp.keys import rotate
from webapp.models import Job, UploadedFile, VerificationReport
from webapp.retention import run_retention
from webapp.storage import storage

pytestmark = [
    pytest.mark.s3,
    pytest.mark.skipif(
        not s3_server.installed(), reason="moto[server] is not installed (make test installs it)"
    ),
]

PREFIX = "idflow/run"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server.server() as url:
        yield url


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in s3_server.CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return s3_server.new_bucket(endpoint)


def _s3_app(tmp_path: Path, keys: str, bucket: str, endpoint: str) -> Flask:
    return app_with(
        tmp_path,
        keys,
        STORAGE_URL=f"s3://{bucket}/{PREFIX}",
        S3_ENDPOINT_URL=endpoint,
    )


def _objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    return s3_server.objects(endpoint, bucket)


def test_uploads_are_stored_encrypted_in_the_bucket_and_read_back(
    tmp_path: Path, bucket: str, endpoint: str
) -> None:
    keys, _ = ring("k1")
    app = _s3_app(tmp_path, keys, bucket, endpoint)
    session_id, _ = full_session(app, app.test_client(), make_platform(app))
    assert session_row(app, session_id).status == "verified"  # the job read it back to verify

    stored = _objects(endpoint, bucket)
    assert list(stored) and all(
        name.startswith(f"{PREFIX}/sessions/{session_id}/") for name in stored
    )
    photo = passport_photo()
    for data in stored.values():
        assert data.startswith(FILE_MAGIC) and file_kid(data) == "k1"
        assert photo[:4096] not in data and photo[-4096:] not in data  # never the image itself
    with database(app).sessions() as db:
        upload = db.scalar(select(UploadedFile).where(UploadedFile.session_id == session_id))
        assert upload is not None and upload.storage_key is not None
    assert storage(app).read(upload.storage_key) == photo
    assert not (tmp_path / "files").exists()  # nothing went to the local folder


def test_redaction_deletes_the_objects(tmp_path: Path, bucket: str, endpoint: str) -> None:
    keys, _ = ring("k1")
    app = _s3_app(tmp_path, keys, bucket, endpoint)
    platform = make_platform(app)
    session_id, _ = full_session(app, app.test_client(), platform)
    assert _objects(endpoint, bucket)
    redacted = app.test_client().post(
        f"/v1/identity/verification_sessions/{session_id}/redact", headers=platform.headers
    )
    assert redacted.status_code == 200, redacted.get_json()
    while run_pending(app):  # the redact_session job empties the session's prefix
        pass
    assert _objects(endpoint, bucket) == {}


def test_retention_deletes_the_objects(tmp_path: Path, bucket: str, endpoint: str) -> None:
    keys, _ = ring("k1")
    app = _s3_app(tmp_path, keys, bucket, endpoint)
    full_session(app, app.test_client(), make_platform(app))
    assert _objects(endpoint, bucket)
    reconfigure(app, RETENTION_DAYS=30)
    with database(app).sessions() as db:
        for report in db.scalars(select(VerificationReport)):
            report.created_at -= timedelta(days=31)
        for upload in db.scalars(select(UploadedFile)):
            upload.created_at -= timedelta(days=31)
        db.commit()
    assert run_retention(app) == 1
    assert _objects(endpoint, bucket) == {}


def test_rotation_rewrites_the_objects(tmp_path: Path, bucket: str, endpoint: str) -> None:
    old, _ = ring("old")
    first = _s3_app(tmp_path, old, bucket, endpoint)
    session_id, _ = full_session(first, first.test_client(), make_platform(first))
    assert {file_kid(data) for data in _objects(endpoint, bucket).values()} == {"old"}

    new, keys = ring("new")
    second = _s3_app(tmp_path, f"{new},{old}", bucket, endpoint)
    done = rotate(second)
    assert done.files == 1 and set(done.by_key) == {"new"}
    assert {file_kid(data) for data in _objects(endpoint, bucket).values()} == {"new"}

    new_only = f"new:{base64.b64encode(keys['new'].secret).decode()}"
    third = _s3_app(tmp_path, new_only, bucket, endpoint)
    with database(third).sessions() as db:
        upload = db.scalar(select(UploadedFile).where(UploadedFile.session_id == session_id))
        assert upload is not None and upload.storage_key is not None
    assert storage(third).read(upload.storage_key) == passport_photo()


def test_a_store_that_is_down_refuses_uploads_with_503_and_loses_nothing(
    tmp_path: Path, bucket: str, endpoint: str
) -> None:
    """Two apps on one database: one reaches the bucket, the other's store is down (nothing
    listens where it looks). What the first accepted survives everything the second is asked."""
    keys, _ = ring("k1")
    up = _s3_app(tmp_path, keys, bucket, endpoint)
    down = _s3_app(tmp_path, keys, bucket, f"http://127.0.0.1:{free_port()}")
    platform = make_platform(up)
    client = up.test_client()
    options = {"options": {"document": {"allowed_types": ["passport"]}}}
    session_id, link = start(client, platform, **options)
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    kept = _objects(endpoint, bucket)
    assert len(kept) == 1

    # The person takes the photo again while the store is down: a friendly 503 page, no try used.
    page = send(down.test_client(), f"{link}/front", passport_photo())
    assert page.status_code == 503
    assert "Please try again in a minute" in page.get_data(as_text=True)
    row = session_row(up, session_id)
    assert row.rejections == 0
    assert _objects(endpoint, bucket) == kept
    with database(up).sessions() as db:
        mine = select(UploadedFile).where(UploadedFile.session_id == session_id)
        uploads = list(db.scalars(mine))
        assert [(u.step, u.accepted) for u in uploads] == [("front", True)]
        assert storage(up).read(uploads[0].storage_key or "") == passport_photo()

    # Submitted, and the verification job first runs where the store is down: it is retried.
    assert client.post(f"{link}/review", data={"submit": "Submit"}).status_code == 303
    assert run_pending(down) == 2  # the preparation (given up: Submit works it out) and the job
    assert session_row(up, session_id).status == "processing"
    with database(up).sessions() as db:
        job = db.scalar(select(Job).where(Job.kind == "verify_session"))
        assert job is not None and (job.status, job.attempts) == ("pending", 1)
        job.run_at -= timedelta(minutes=1)  # its retry is due
        db.commit()
    assert run_pending(up) >= 1
    assert session_row(up, session_id).status == "verified"

    # Redacted while the store is down: the rows are wiped at once (`processing`), and the job
    # that deletes the files is retried until the store answers.
    redacting = down.test_client().post(
        f"/v1/identity/verification_sessions/{session_id}/redact", headers=platform.headers
    )
    assert redacting.get_json()["redaction"] == {"status": "processing"}
    run_pending(down)
    assert _objects(endpoint, bucket) == kept
    with database(up).sessions() as db:
        job = db.scalar(select(Job).where(Job.kind == "redact_session"))
        assert job is not None and (job.status, job.attempts) == ("pending", 1)
        job.run_at -= timedelta(minutes=1)
        db.commit()
    run_pending(up)
    assert session_row(up, session_id).redaction_status == "redacted"
    assert _objects(endpoint, bucket) == {}
