"""The hosted flow when things happen at once or go wrong half-way: racing requests and job
holders, a job that keeps dying, files that vanish. Real database, real storage, real checks.

Races are made certain with SQLite's own write lock: another connection holds it while the
racing requests (or job holders) read, so all of them wait at their first write and then write
one after the other, each on what it read before, as they would on a busy server.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.support.flow import (
    blurred_passport,
    consent,
    html,
    passport_photo,
    send,
    session_row,
    start,
)
from tests.support.jobs import write_locked
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.support.threads import Paused
from webapp import jobs, verification
from webapp.db import database
from webapp.models import (
    Event,
    Job,
    UploadedFile,
    VerificationReport,
    VerificationSession,
    utcnow,
)
from webapp.platforms import create_platform
from webapp.storage import storage

PASSPORT_ONLY = {"document": {"allowed_types": ["passport"]}}
LOCK_SECONDS = 1.5  # long enough for every racer to reach its first write


@pytest.fixture
def flow(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def tester(app: Flask) -> ApiPlatform:
    """A test key: its sessions take a chosen outcome, so a verdict needs no OCR."""
    with database(app).sessions() as db:
        created = create_platform(db, "Race platform")
    return ApiPlatform(created.platform.id, created.test_secret_key)


def at_once(app: Flask, *racers: Callable[[], Any]) -> list[Any]:
    """Run the racers in threads while the write lock is held, then let them write."""
    results: list[Any] = [None] * len(racers)

    def run(index: int) -> None:
        results[index] = racers[index]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(racers))]
    with write_locked(app):
        for thread in threads:
            thread.start()
        time.sleep(LOCK_SECONDS)
    for thread in threads:
        thread.join()
    return results


def count(app: Flask, statement: Any) -> int:
    with database(app).sessions() as db:
        return int(db.scalar(statement) or 0)


def events(app: Flask, session_id: str, kind: str) -> int:
    return count(
        app,
        select(func.count())
        .select_from(Event)
        .where(
            Event.object_id == session_id, Event.type == f"identity.verification_session.{kind}"
        ),
    )


def to_review(client: FlaskClient, link: str) -> None:
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303


def expire_leases(app: Flask) -> None:
    with database(app).sessions() as db:
        db.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.commit()


def test_two_holders_of_a_verify_job_write_one_verdict(
    flow: Flask, client: FlaskClient, tester: ApiPlatform
) -> None:
    session_id, link = start(client, tester, options=PASSPORT_ONLY)
    to_review(client, link)
    assert jobs.run_pending(flow) == 1  # the verdict prepared from the photo: not this one's
    submitted = client.post(f"{link}/review", data={"outcome": "document_expired"})
    assert submitted.status_code == 303
    with database(flow).sessions() as db:
        late = jobs.claim(flow, db, lease_seconds=60)
    expire_leases(flow)  # its runner stalled; another takes the job
    with database(flow).sessions() as db:
        holder = jobs.claim(flow, db, lease_seconds=60)
    assert late is not None and holder is not None
    at_once(
        flow,
        lambda: jobs.run_job(flow, late, 60),
        lambda: jobs.run_job(flow, holder, 60),
    )
    reports = select(func.count()).select_from(VerificationReport)
    assert count(flow, reports.where(VerificationReport.session_id == session_id)) == 1
    row = session_row(flow, session_id)
    assert (row.status, row.last_error_code, row.rejections) == (
        "requires_input",
        "document_expired",
        1,
    )
    assert events(flow, session_id, "requires_input") == 1
    with database(flow).sessions() as db:
        job = db.scalar(select(Job).where(Job.kind == "verify_session"))
        assert job is not None and (job.status, job.attempts) == ("done", 2)


def test_parallel_rejected_uploads_each_count(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)
    phones = [flow.test_client(), flow.test_client()]
    statuses = at_once(
        flow,
        *[lambda c=c: send(c, f"{link}/front", blurred_passport()).status_code for c in phones],
    )
    assert statuses == [422, 422]
    assert session_row(flow, session_id).rejections == 2
    uploads = select(func.count()).select_from(UploadedFile)
    assert count(flow, uploads.where(UploadedFile.session_id == session_id)) == 2


def test_the_upload_that_reaches_the_limit_cancels_once(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(flow, MAX_ATTEMPTS=2)
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)
    phones = [flow.test_client() for _ in range(3)]
    at_once(flow, *[lambda c=c: send(c, f"{link}/front", blurred_passport()) for c in phones])
    row = session_row(flow, session_id)
    assert (row.status, row.last_error_code) == ("canceled", verification.TOO_MANY_ATTEMPTS)
    assert events(flow, session_id, "canceled") == 1


def test_two_submits_at_once_start_one_verification(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    to_review(client, link)
    phones = [flow.test_client(), flow.test_client()]
    statuses = at_once(
        flow,
        *[
            lambda c=c: c.post(f"{link}/review", data={"submit": "Submit"}).status_code
            for c in phones
        ],
    )
    assert sorted(statuses) == [303, 400]  # the second is told it was submitted already
    assert (
        count(flow, select(func.count()).select_from(Job).where(Job.kind == "verify_session")) == 1
    )
    assert events(flow, session_id, "processing") == 1


def test_a_front_discarded_after_the_submit_asks_for_it_again(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    to_review(client, link)
    assert client.post(f"{link}/review", data={"submit": "Submit"}).status_code == 303
    with database(flow).sessions() as db:
        db.execute(update(UploadedFile).values(accepted=False))
        db.commit()
    assert jobs.run_pending(flow) >= 1
    row = session_row(flow, session_id)
    assert (row.status, row.last_error_code, row.last_error_step) == (
        "requires_input",
        "document_unverified_other",
        "front",
    )
    assert "front of the document is missing" in (row.last_error_reason or "")
    with database(flow).sessions() as db:
        job = db.scalar(select(Job).where(Job.kind == "verify_session"))
        assert job is not None and job.status == "done"
    assert client.get(link).headers["Location"] == f"{link}/front"


def test_a_verification_that_keeps_killing_its_runner_asks_to_try_again(
    flow: Flask, client: FlaskClient, tester: ApiPlatform
) -> None:
    session_id, link = start(client, tester, options=PASSPORT_ONLY)
    to_review(client, link)
    assert jobs.run_pending(flow) == 1  # the verdict prepared from the photo: not this one's
    assert client.post(f"{link}/review", data={"outcome": "verified"}).status_code == 303
    for _ in range(jobs.DEFAULT_RETRY.attempts):
        with database(flow).sessions() as db:
            assert jobs.claim(flow, db, lease_seconds=60) is not None  # the process dies
        expire_leases(flow)
    jobs.run_pending(flow)
    row = session_row(flow, session_id)
    assert (row.status, row.last_error_code) == ("requires_input", "processing_failed")
    assert events(flow, session_id, "requires_input") == 1
    with database(flow).sessions() as db:
        job = db.scalar(select(Job).where(Job.kind == "verify_session"))
        assert job is not None and (job.status, job.last_error) == ("failed", "lease expired")


def test_declining_consent_tells_the_platform(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform)
    assert client.post(f"{link}/decline", data={"confirm": "Yes, decline"}).status_code == 303
    assert events(flow, session_id, "requires_input") == 1
    event = client.get("/v1/events", headers=platform.headers).json
    assert event is not None
    (declined,) = [e for e in event["data"] if e["type"].endswith("requires_input")]
    assert declined["data"]["object"]["last_error"]["code"] == "consent_declined"


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["DATA_DIR"]) / "files"
    return [path for path in root.rglob("*") if path.is_file()]


def test_a_failed_upload_leaves_no_file(
    flow: Flask, client: FlaskClient, platform: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)

    def fails(*_args: Any) -> None:  # the row cannot be written after the file was
        raise IntegrityError("INSERT", {}, Exception("FOREIGN KEY constraint failed"))

    monkeypatch.setattr(verification, "discard_uploads", fails)
    photo = io.BytesIO(passport_photo())
    with (
        flow.app_context(),
        database(flow).sessions() as db,
        pytest.raises(IntegrityError, match="FOREIGN KEY"),
    ):
        row = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert row is not None
        verification.save_upload(db, storage(flow), row, "front", photo, "image/jpeg", 10)
        db.commit()
    assert stored_files(flow) == []


def test_a_deleted_or_unreadable_file_is_not_found(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform, options=PASSPORT_ONLY)
    to_review(client, link)
    (path,) = stored_files(flow)
    with database(flow).sessions() as db:
        upload = db.scalar(select(UploadedFile))
        assert upload is not None
    url = f"{link}/files/{upload.id}"
    assert client.get(url).status_code == 200
    path.write_bytes(path.read_bytes()[:-100])  # cut short: it no longer decrypts
    broken = client.get(url)
    assert broken.status_code == 404 and broken.mimetype == "text/html"
    path.unlink()  # removed by retention
    assert client.get(url).status_code == 404


def test_the_document_step_changes_nothing_on_get(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)
    with database(flow).sessions() as db:  # a session from before consent chose the type
        db.execute(update(VerificationSession).values(document_type=None))
        db.commit()
    page = client.get(f"{link}/document")
    assert page.status_code == 200 and 'value="passport"' in html(page)
    assert session_row(flow, session_id).document_type is None
    chosen = client.post(f"{link}/document", data={"document_type": "passport"})
    assert chosen.status_code == 303
    assert session_row(flow, session_id).document_type == "passport"


def test_another_document_with_one_allowed_type_keeps_the_type(
    flow: Flask, client: FlaskClient, tester: ApiPlatform
) -> None:
    session_id, link = start(client, tester, options=PASSPORT_ONLY)
    to_review(client, link)
    assert client.post(f"{link}/review", data={"outcome": "document_expired"}).status_code == 303
    jobs.run_pending(flow)
    row = session_row(flow, session_id)
    assert (row.status, row.last_error_step) == ("requires_input", "front")
    assert row.document_type == "passport"  # nothing to choose again: a new photo is needed
    assert client.get(link).headers["Location"] == f"{link}/front"


# ---- uploads racing a redaction or a cancel ---------------------------------------------------


def _stored_files(app: Flask, session_id: str) -> list[Path]:
    folder = Path(app.config["DATA_DIR"]) / "files" / "sessions" / session_id
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _kept_uploads(app: Flask, session_id: str) -> list[UploadedFile]:
    with database(app).sessions() as db:
        return list(
            db.scalars(
                select(UploadedFile).where(
                    UploadedFile.session_id == session_id, UploadedFile.storage_key.is_not(None)
                )
            )
        )


def _upload_in_background(app: Flask, link: str) -> tuple[threading.Thread, list[int]]:
    phone = app.test_client()
    answers: list[int] = []
    upload = threading.Thread(
        target=lambda: answers.append(send(phone, f"{link}/front", passport_photo()).status_code)
    )
    upload.start()
    return upload, answers


@pytest.fixture
def raced(migrating_app: Flask) -> tuple[Flask, FlaskClient, ApiPlatform]:
    """An app on SQLite or on a real PostgreSQL (its row locks differ from SQLite's write lock)."""
    return migrating_app, migrating_app.test_client(), make_platform(migrating_app)


@pytest.mark.parametrize("action", ["redact", "cancel"])
def test_a_photo_checked_before_a_redaction_or_cancel_is_not_kept_after_it(
    raced: tuple[Flask, FlaskClient, ApiPlatform], monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """The upload passed its state check and is judging the photo when the platform redacts
    (or cancels) the session: the redaction answers at once, and the upload must then store
    nothing (before, its file and row appeared seconds after the redaction, decryptable)."""
    flow, client, platform = raced
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)
    judging = Paused(monkeypatch, verification, "check_capture")
    upload, answers = _upload_in_background(flow, link)
    assert judging.arrived.wait(30)
    url = f"/v1/verification_sessions/{session_id}/{action}"
    assert client.post(url, headers=platform.headers).status_code == 200
    judging.release.set()
    upload.join(30)
    assert answers and answers[0] != 303
    assert _stored_files(flow, session_id) == []
    assert _kept_uploads(flow, session_id) == []
    row = session_row(flow, session_id)
    assert row.status == "canceled"


def test_a_redaction_while_a_photo_is_being_stored_removes_it(
    raced: tuple[Flask, FlaskClient, ApiPlatform], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: the upload is writing its file when the redaction comes. The
    redaction waits for it, then removes the row's pointer to the file, and its job the file."""
    flow, client, platform = raced
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)
    files = storage(flow)
    writing = Paused(monkeypatch, files, "save")
    upload, answers = _upload_in_background(flow, link)
    assert writing.arrived.wait(30)
    redaction: list[int] = []
    url = f"/v1/verification_sessions/{session_id}/redact"
    redactor = threading.Thread(
        target=lambda: redaction.append(client.post(url, headers=platform.headers).status_code)
    )
    redactor.start()
    time.sleep(0.5)  # the redaction has read the session and waits for, or raced, the upload
    writing.release.set()
    upload.join(30)
    redactor.join(30)
    assert redaction == [200]
    assert answers and answers[0] in (303, 400, 409)
    jobs.run_pending(flow)  # the redaction's job deletes the files
    assert _stored_files(flow, session_id) == []
    assert _kept_uploads(flow, session_id) == []
    assert session_row(flow, session_id).redacted_at is not None
