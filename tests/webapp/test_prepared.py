"""The verdict worked out before Submit (`webapp.prepared`): the same verdict as after Submit,
never a stale one, and nothing published before the person submits; its document stage, worked
out while the person takes the selfie, likewise."""

from __future__ import annotations

import functools
import threading
import time
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from numpy.typing import NDArray
from sqlalchemy import delete, select

from processing.samples import photograph
from processing.verify import DocumentStage
from tests.support.flow import consent, landing, passport_photo, send, session_row, start
from tests.support.images import jpeg
from tests.support.platform import ApiPlatform
from tests.support.shared import SHARED
from tests.support.stand_ins import stand_in
from webapp import jobs, risk, verification
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import Event, Job, VerificationReport, utcnow
from webapp.platforms import create_platform
from webapp.retention import run_retention
from webapp.verification import PREPARE, PREPARE_DOCUMENT

PASSPORT_ONLY = {"document": {"allowed_types": ["passport"]}}
WITH_SELFIE = {"document": {"allowed_types": ["passport"], "require_matching_selfie": True}}
FACES = SHARED / "samples" / "faces"
_EVENT = "identity.verification_session."
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="shared face photos absent")


@functools.cache
def other_passport() -> tuple[bytes, str]:
    """Another genuine passport (another holder): a retake that must change the verdict."""
    document = stand_in("td3", 2)
    photo, _ = photograph(
        document.front, np.random.default_rng(2), machine_box=document.machine_box_front
    )
    return jpeg(photo), document.truth_front["mrz"]["fields"]["surname"]


def events(app: Flask, session_id: str) -> list[str]:
    with database(app).sessions() as db:
        types = db.scalars(
            select(Event.type).where(Event.object_id == session_id).order_by(Event.pk)
        )
        return [kind.removeprefix(_EVENT) for kind in types]


def report(app: Flask, session_id: str) -> dict[str, Any]:
    """The session's report, without what differs between two sessions by construction."""
    with database(app).sessions() as db:
        found = db.scalar(
            select(VerificationReport).where(VerificationReport.session_id == session_id)
        )
        assert found is not None
        payload = dict(found.payload)
    for name in ("id", "verification_session"):
        payload.pop(name)
    payload["document"] = {k: v for k, v in payload["document"].items() if k != "files"}
    if payload.get("selfie") is not None:  # it names the two photos compared by their ids
        payload["selfie"] = {
            k: v for k, v in payload["selfie"].items() if k not in ("document", "selfie")
        }
    return payload


def counted_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per reading of a document's photos by the verdict's jobs."""
    reads: list[int] = []
    real_read = verification._read_document

    def counted(*args: Any) -> Any:
        reads.append(1)
        return real_read(*args)

    monkeypatch.setattr(verification, "_read_document", counted)
    return reads


def photographed_passport(client: FlaskClient, platform: ApiPlatform) -> tuple[str, str]:
    session_id, link = start(client, platform, options=PASSPORT_ONLY)
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    return session_id, link


def test_the_prepared_verdict_is_the_one_worked_out_after_submit(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    early_id, early = photographed_passport(client, platform)
    assert run_pending(no_csrf) == 1  # the preparation, before any Submit
    assert session_row(no_csrf, early_id).status == "requires_input"
    submitted = client.post(f"{early}/review", data={"submit": "Submit"})
    assert submitted.headers["Location"] == f"{early}/processing"
    # Published by the Submit itself: no job left to run, the page goes straight to the result.
    shown = client.get(f"{early}/status").get_json()
    assert (shown["status"], shown["next"]) == ("verified", f"{early}/result")
    assert run_pending(no_csrf) == 0

    late_id, late = photographed_passport(client, platform)
    with database(no_csrf).sessions() as db:  # as before this change: nothing prepared
        db.execute(delete(Job).where(Job.kind == PREPARE))
        db.commit()
    client.post(f"{late}/review", data={"submit": "Submit"})
    assert session_row(no_csrf, late_id).status == "processing"
    assert run_pending(no_csrf) == 1
    assert session_row(no_csrf, late_id).status == "verified"

    assert report(no_csrf, early_id) == report(no_csrf, late_id)
    assert session_row(no_csrf, early_id).verified_outputs == (
        session_row(no_csrf, late_id).verified_outputs
    )
    assert session_row(no_csrf, early_id).prepared is None  # nothing kept once published


def test_nothing_is_published_before_the_person_submits(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Webhooks are sent for events only (`webhooks.emit`): no event, no webhook."""
    session_id, link = photographed_passport(client, platform)
    assert run_pending(no_csrf) == 1
    assert session_row(no_csrf, session_id).prepared is not None
    assert events(no_csrf, session_id) == ["created"]
    api = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers).json
    assert api is not None
    assert api["status"] == "requires_input" and api["last_verification_report"] is None
    status = client.get(f"{link}/status").json
    assert status is not None and status["status"] == "requires_input"

    client.post(f"{link}/review", data={"submit": "Submit"})
    assert events(no_csrf, session_id) == ["created", "processing", "verified"]


def test_a_retake_invalidates_the_prepared_verdict(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = photographed_passport(client, platform)
    assert run_pending(no_csrf) == 1
    first = session_row(no_csrf, session_id).prepared
    assert first is not None and first["verdict"] is not None

    retake, surname = other_passport()
    assert send(client, f"{link}/front", retake).status_code == 303
    # Submitted before the new preparation ran: the kept verdict is the old photo's, not used.
    client.post(f"{link}/review", data={"submit": "Submit"})
    shown = client.get(f"{link}/status").get_json()
    assert (shown["status"], shown["next"]) == ("processing", None)
    run_pending(no_csrf)
    row = session_row(no_csrf, session_id)
    assert row.status == "verified" and row.verified_outputs is not None
    assert row.verified_outputs["last_name"] == surname
    assert events(no_csrf, session_id) == ["created", "processing", "verified"]


def test_details_changed_through_the_api_invalidate_the_prepared_verdict(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = photographed_passport(client, platform)
    assert run_pending(no_csrf) == 1
    changed = client.post(
        f"/v1/verification_sessions/{session_id}",
        headers=platform.headers,
        json={"provided_details": {"first_name": "Zbigniew", "last_name": "Quartermaine"}},
    )
    assert changed.status_code == 200, changed.json
    client.post(f"{link}/review", data={"submit": "Submit"})
    assert session_row(no_csrf, session_id).status == "processing"
    run_pending(no_csrf)
    row = session_row(no_csrf, session_id)
    assert row.status == "requires_input" and row.last_error_code == "document_name_mismatch"


def test_a_submit_during_the_preparation_gets_its_verdict_once(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Submitted before the preparation ran: whichever job runs first publishes, once."""
    session_id, link = photographed_passport(client, platform)
    client.post(f"{link}/review", data={"submit": "Submit"})
    assert run_pending(no_csrf) == 2  # the preparation publishes; the verification finds it done
    assert events(no_csrf, session_id) == ["created", "processing", "verified"]
    with database(no_csrf).sessions() as db:
        reports = db.scalars(
            select(VerificationReport.id).where(VerificationReport.session_id == session_id)
        )
        assert len(list(reports)) == 1


def test_a_verdict_never_submitted_goes_with_the_photos(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """It holds personal data: retention and redaction remove it as they remove the photos."""
    kept_id, _ = photographed_passport(client, platform)
    redacted_id, _ = photographed_passport(client, platform)
    assert run_pending(no_csrf) == 2
    assert session_row(no_csrf, kept_id).prepared is not None

    redacted = client.post(
        f"/v1/verification_sessions/{redacted_id}/redact", headers=platform.headers
    )
    assert redacted.status_code == 200, redacted.json
    assert session_row(no_csrf, redacted_id).prepared is None

    assert session_row(no_csrf, kept_id).prepared is not None
    assert run_retention(no_csrf, utcnow() + timedelta(days=400)) == 1
    assert session_row(no_csrf, kept_id).prepared is None


def test_the_verification_waits_for_the_preparation_running_on_the_same_photos(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Submitted while the preparation runs: the verification does not read the photos again
    beside it; it waits, and the preparation publishes."""
    reads = counted_reads(monkeypatch)
    session_id, link = photographed_passport(client, platform)
    with database(no_csrf).sessions() as db:
        preparing = jobs.claim(no_csrf, db, lease_seconds=60)  # a runner took it ...
    assert preparing is not None and preparing.kind == PREPARE
    client.post(f"{link}/review", data={"submit": "Submit"})
    with database(no_csrf).sessions() as db:
        verifying = jobs.claim(no_csrf, db, lease_seconds=60)
    assert verifying is not None and verifying.kind == "verify_session"
    waiting = threading.Thread(target=jobs.run_job, args=(no_csrf, verifying, 60))
    waiting.start()
    time.sleep(0.5)  # ... and works while the verification starts and finds it running
    assert waiting.is_alive()
    jobs.run_job(no_csrf, preparing, 60)
    waiting.join(30)
    assert not waiting.is_alive()
    assert reads == [1]
    assert events(no_csrf, session_id) == ["created", "processing", "verified"]
    with database(no_csrf).sessions() as db:
        statuses = db.execute(select(Job.kind, Job.status).order_by(Job.id)).all()
    assert [tuple(row) for row in statuses] == [
        (PREPARE, "done"),
        ("verify_session", "done"),
    ]


# ---- the document stage, worked out while the person takes the selfie ---------------------------


@pytest.fixture
def qa(app: Flask) -> ApiPlatform:
    """A test-mode platform: its sessions take the selfie as a file (a live one films it)."""
    with database(app).sessions() as db:
        created = create_platform(db, "QA")
    return ApiPlatform(created.platform.id, created.test_secret_key)


def face(name: str) -> bytes:
    return (FACES / name).read_bytes()


def at_selfie(client: FlaskClient, qa: ApiPlatform) -> tuple[str, str]:
    """A passport with a selfie asked: the front accepted, the person now at the selfie."""
    session_id, link = start(client, qa, options=WITH_SELFIE)
    consent(client, link)
    assert landing(client, send(client, f"{link}/front", passport_photo())) == f"{link}/selfie"
    return session_id, link


def document_stage(app: Flask, session_id: str) -> dict[str, Any] | None:
    kept = session_row(app, session_id).prepared
    stage: dict[str, Any] | None = (kept or {}).get("document")
    return stage


def kinds_run(app: Flask) -> list[str]:
    with database(app).sessions() as db:
        return list(db.scalars(select(Job.kind).order_by(Job.id)))


@needs_faces
def test_the_document_stage_starts_before_the_selfie_and_gives_the_same_verdict(
    no_csrf: Flask, client: FlaskClient, qa: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = counted_reads(monkeypatch)
    early_id, early = at_selfie(client, qa)
    assert kinds_run(no_csrf) == [PREPARE_DOCUMENT]
    assert run_pending(no_csrf) == 1 and reads == [1]  # the document, before the selfie
    stage = document_stage(no_csrf, early_id)
    assert stage is not None and stage["stage"] is not None
    assert session_row(no_csrf, early_id).status == "requires_input"
    assert events(no_csrf, early_id) == ["created"]  # nothing published, so no webhook
    status = client.get(f"{early}/status").get_json()
    assert status["status"] == "requires_input"

    assert send(client, f"{early}/selfie", face("obama/obama2.jpg")).status_code == 303
    assert run_pending(no_csrf) == 1 and reads == [1]  # the verdict finished from the stage
    assert events(no_csrf, early_id) == ["created"]
    client.post(f"{early}/review", data={"submit": "Submit", "outcome": "real"})
    assert session_row(no_csrf, early_id).status == "verified"

    late_id, late = at_selfie(client, qa)  # as before any preparation: read after Submit
    assert send(client, f"{late}/selfie", face("obama/obama2.jpg")).status_code == 303
    with database(no_csrf).sessions() as db:
        db.execute(delete(Job).where(Job.kind.in_((PREPARE, PREPARE_DOCUMENT))))
        db.commit()
    client.post(f"{late}/review", data={"submit": "Submit", "outcome": "real"})
    assert session_row(no_csrf, late_id).status == "processing"
    assert run_pending(no_csrf) == 1 and reads == [1, 1]
    assert report(no_csrf, early_id) == report(no_csrf, late_id)
    selfie = report(no_csrf, early_id)["selfie"]
    assert selfie["status"] == "verified" and selfie["similarity"] is not None


@needs_faces
def test_a_document_retake_after_its_stage_is_never_answered_with_the_old_read(
    no_csrf: Flask, client: FlaskClient, qa: ApiPlatform
) -> None:
    session_id, link = at_selfie(client, qa)
    assert run_pending(no_csrf) == 1
    first = document_stage(no_csrf, session_id)
    assert first is not None and first["stage"] is not None

    retake, surname = other_passport()
    assert landing(client, send(client, f"{link}/front", retake)) == f"{link}/selfie"
    moved = document_stage(no_csrf, session_id)
    assert moved is not None and moved["stage"] is None  # another stage queued for the retake
    assert moved["fingerprint"] != first["fingerprint"]
    with database(no_csrf).sessions() as db:  # its job never ran (a runner that fell behind)
        db.execute(delete(Job).where(Job.kind == PREPARE_DOCUMENT))
        db.commit()
    assert send(client, f"{link}/selfie", face("obama/obama2.jpg")).status_code == 303
    client.post(f"{link}/review", data={"submit": "Submit", "outcome": "real"})
    run_pending(no_csrf)
    row = session_row(no_csrf, session_id)
    assert row.status == "verified" and row.verified_outputs is not None
    assert row.verified_outputs["last_name"] == surname
    assert events(no_csrf, session_id) == ["created", "processing", "verified"]


@needs_faces
def test_a_selfie_retake_keeps_the_document_stage_and_redoes_the_selfie(
    no_csrf: Flask, client: FlaskClient, qa: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = counted_reads(monkeypatch)
    session_id, link = at_selfie(client, qa)
    assert send(client, f"{link}/selfie", face("obama/obama2.jpg")).status_code == 303
    assert run_pending(no_csrf) == 2 and reads == [1]  # the document's stage, then the verdict
    kept = session_row(no_csrf, session_id).prepared
    assert kept is not None and kept["verdict"]["status"] == "verified"

    assert send(client, f"{link}/selfie", face("biden/biden.jpg")).status_code == 303
    assert run_pending(no_csrf) == 1 and reads == [1]  # the same document stage, a new selfie
    again = session_row(no_csrf, session_id).prepared
    assert again is not None and again["document"] == kept["document"]
    assert again["verdict"]["last_error"]["code"] == "selfie_face_mismatch"
    assert events(no_csrf, session_id) == ["created"]

    client.post(f"{link}/review", data={"submit": "Submit", "outcome": "real"})
    row = session_row(no_csrf, session_id)
    assert (row.status, row.last_error_code) == ("requires_input", "selfie_face_mismatch")
    assert row.prepared is None
    assert events(no_csrf, session_id) == ["created", "processing", "requires_input"]


@needs_faces
def test_the_verdict_waits_for_the_document_stage_running_on_the_same_photos(
    no_csrf: Flask, client: FlaskClient, qa: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selfie sent while the document is being read: the verdict does not read it again
    beside the stage's job; it waits for it, then finishes from it."""
    reads = counted_reads(monkeypatch)
    session_id, link = at_selfie(client, qa)
    with database(no_csrf).sessions() as db:
        reading = jobs.claim(no_csrf, db, lease_seconds=60)  # a runner took it ...
    assert reading is not None and reading.kind == PREPARE_DOCUMENT
    assert send(client, f"{link}/selfie", face("obama/obama2.jpg")).status_code == 303
    with database(no_csrf).sessions() as db:
        finishing = jobs.claim(no_csrf, db, lease_seconds=60)
    assert finishing is not None and finishing.kind == PREPARE
    waiting = threading.Thread(target=jobs.run_job, args=(no_csrf, finishing, 60))
    waiting.start()
    time.sleep(0.5)  # ... and reads while the verdict's job starts and finds it running
    assert waiting.is_alive()
    jobs.run_job(no_csrf, reading, 60)
    waiting.join(30)
    assert not waiting.is_alive()
    assert reads == [1]
    kept = session_row(no_csrf, session_id).prepared
    assert kept is not None and kept["verdict"]["status"] == "verified"
    assert events(no_csrf, session_id) == ["created"]
    client.post(f"{link}/review", data={"submit": "Submit", "outcome": "real"})
    assert events(no_csrf, session_id) == ["created", "processing", "verified"]


@needs_faces
def test_the_selfie_is_described_while_the_document_stage_still_runs(
    no_csrf: Flask, client: FlaskClient, qa: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The face the risk signals compare is the selfie's, which needs nothing of the document:
    the verdict's job describes it while the stage's job is still reading, not once the stage is
    kept, and it is the face of the selfie sent."""
    started, release = threading.Event(), threading.Event()
    read = verification._read_document

    def held(images: dict[str, bytes]) -> DocumentStage:
        started.set()
        assert release.wait(30)
        return read(images)

    stage_kept_when_described: list[bool] = []
    describing = risk.descriptor_of

    def recorded(photo: bytes | None, portrait: NDArray[np.uint8] | None) -> list[float] | None:
        stage = document_stage(no_csrf, session_id)
        stage_kept_when_described.append(stage is not None and stage["stage"] is not None)
        return describing(photo, portrait)

    monkeypatch.setattr(verification, "_read_document", held)
    monkeypatch.setattr(risk, "descriptor_of", recorded)
    session_id, link = at_selfie(client, qa)
    with database(no_csrf).sessions() as db:
        reading = jobs.claim(no_csrf, db, lease_seconds=60)
    assert reading is not None and reading.kind == PREPARE_DOCUMENT
    document = threading.Thread(target=jobs.run_job, args=(no_csrf, reading, 60))
    document.start()
    assert started.wait(30)  # the stage's job is reading ...
    selfie = face("obama/obama2.jpg")
    assert send(client, f"{link}/selfie", selfie).status_code == 303
    with database(no_csrf).sessions() as db:
        finishing = jobs.claim(no_csrf, db, lease_seconds=60)
    assert finishing is not None and finishing.kind == PREPARE
    verdict = threading.Thread(target=jobs.run_job, args=(no_csrf, finishing, 60))
    verdict.start()
    deadline = time.monotonic() + 10
    while not stage_kept_when_described and time.monotonic() < deadline:
        time.sleep(0.05)
    release.set()  # ... until the selfie was described (or 10 s went by)
    document.join(30)
    verdict.join(30)
    assert not document.is_alive() and not verdict.is_alive()
    assert stage_kept_when_described == [False]
    kept = session_row(no_csrf, session_id).prepared
    assert kept is not None and kept["verdict"]["status"] == "verified"
    assert kept["document"]["stage"] is not None  # the verdict was finished from it
    assert kept["descriptor"] == describing(selfie, None)
