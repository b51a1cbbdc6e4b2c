"""The verdict worked out before Submit (`webapp.prepared`): the same verdict as after Submit,
never a stale one, and nothing published before the person submits."""

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
from sqlalchemy import delete, select

from processing.samples import photograph
from tests.support.flow import consent, passport_photo, send, session_row, start
from tests.support.images import jpeg
from tests.support.platform import ApiPlatform
from tests.support.stand_ins import stand_in
from webapp import jobs, verification
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import Event, Job, VerificationReport, utcnow
from webapp.retention import run_retention
from webapp.verification import PREPARE

PASSPORT_ONLY = {"document": {"allowed_types": ["passport"]}}
_EVENT = "identity.verification_session."


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
    return payload


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
    reads: list[int] = []
    real_verify = verification._verify

    def counted(*args: Any) -> Any:
        reads.append(1)
        return real_verify(*args)

    monkeypatch.setattr(verification, "_verify", counted)
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
