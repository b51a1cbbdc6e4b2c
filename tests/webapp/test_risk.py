"""Signals across sessions (webapp.risk): each fires on its attack and stays quiet on the genuine
case, per platform and mode, flagged or failing, stored only hashed or encrypted, and gone with
redaction and retention."""

from __future__ import annotations

import functools
import io
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from numpy.typing import NDArray
from sqlalchemy import select, text

from processing.load import load_image
from processing.samples import photograph
from processing.verify import (
    CheckError,
    DocumentCheck,
    DocumentStage,
    ReportChecks,
    SelfieCheck,
    Verdict,
    VerifiedOutputs,
    VerifyOptions,
)
from tests.support.platform import ApiPlatform, make_platform
from tests.support.shared import SHARED
from tests.support.stand_ins import stand_in
from webapp import risk, verification
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import Platform, RiskMark, VerificationSession, utcnow
from webapp.platforms import issue_key
from webapp.retention import run_retention
from webapp.sessions import redacted_report

FACES = SHARED / "samples" / "faces"
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="shared face photos absent")
NUMBER = "C01X00T47"


def verdict(
    number: str = NUMBER,
    first: str = "ERIKA",
    last: str = "MUSTERMANN",
    dob: str = "1964-08-12",
    *,
    selfie: bool = False,
    status: str = "verified",
) -> Verdict:
    """What the reader would return for a document with these details."""
    error = None if status == "verified" else CheckError("document_expired", "Expired.")
    document = DocumentCheck(
        "verified" if error is None else "unverified",
        error,
        "D",
        "passport",
        number,
        first,
        last,
        dob,
        "2017-11-01",
        "2027-10-31",
        None,
    )
    selfie_check = SelfieCheck("verified", None, 0.9, True, True, "dlib_hog") if selfie else None
    outputs = VerifiedOutputs(first, last, dob, number, None) if error is None else None
    return Verdict(
        "verified" if error is None else "requires_input",
        error,
        ReportChecks(document, selfie_check, None),
        outputs,
        {},
    )


@functools.cache
def face(photo: str) -> tuple[float, ...]:
    """A real person's descriptor, as the verdict job computes it."""
    image = load_image((FACES / photo).read_bytes(), min_side=100).image
    found = risk.face_descriptor(image)
    assert found is not None
    return tuple(found)


def create(
    client: FlaskClient, platform: ApiPlatform, mode: str | None = None, **params: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "document", **params}
    if mode is not None:
        body["options"] = {**body.get("options", {}), "idflow": {"risk_signals": mode}}
    response = client.post("/v1/verification_sessions", headers=platform.headers, json=body)
    assert response.status_code == 200, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def judge(
    app: Flask,
    session_id: str,
    given: Verdict,
    descriptor: tuple[float, ...] | None = None,
    address: str | None = None,
) -> tuple[Verdict, dict[str, Any]]:
    """The verdict after the signals, and the session's `idflow` block."""
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None
        risk.note_address(db, session, address)
        judged = risk.judge(db, session, given, list(descriptor) if descriptor else None)
        block = risk.to_api(session)
        db.commit()
    return judged, block


def fired(block: dict[str, Any]) -> list[str]:
    return [signal["name"] for signal in block["risk_signals"]]


def marks(app: Flask, session_id: str | None = None) -> list[RiskMark]:
    with database(app).sessions() as db:
        query = select(RiskMark)
        if session_id is not None:
            query = query.where(RiskMark.session_id == session_id)
        return list(db.scalars(query))


# ---- each signal, both ways ---------------------------------------------------------------------


def test_a_document_number_verified_under_another_name_fires_and_the_same_holder_does_not(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    first = create(client, platform)["id"]
    assert fired(judge(app, first, verdict())[1]) == []
    again = create(client, platform)["id"]  # the holder again, read with other accents and case
    _, quiet = judge(app, again, verdict(first="Érika", last="mustermann"))
    assert fired(quiet) == [] and quiet["review"] == {"required": False, "reason": None}

    other_name = create(client, platform)["id"]
    _, block = judge(app, other_name, verdict(first="JOHN", last="SMITH"))
    assert fired(block) == ["document_reuse"]
    signal = block["risk_signals"][0]
    assert "different name" in signal["reason"] and "date of birth" not in signal["reason"]
    assert signal["verification_sessions"] == [first, again]
    assert block["review"]["required"] is True and "document_reuse" in block["review"]["reason"]

    other_dob = create(client, platform)["id"]
    _, block = judge(app, other_dob, verdict(number="c01x-00t47", dob="1990-01-01"))
    assert fired(block) == ["document_reuse"]  # the number as people type it is the same number
    assert block["risk_signals"][0]["reason"].endswith("name and date of birth.")
    assert block["risk_signals"][0]["verification_sessions"] == [first, again, other_name]

    another_document = create(client, platform)["id"]
    assert fired(judge(app, another_document, verdict(number="L01X00T47", first="JOHN"))[1]) == []


@needs_faces
def test_a_face_verified_on_another_document_fires_and_another_person_does_not(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    first = create(client, platform)["id"]
    judge(app, first, verdict(), face("obama/obama.jpg"))
    same_document = create(client, platform)["id"]  # re-verifying one's own document
    assert fired(judge(app, same_document, verdict(), face("obama/obama1.jpg"))[1]) == []
    other_person = create(client, platform)["id"]
    other = verdict(number="X1234567", first="ROSE", last="LESLIE", dob="1987-02-09")
    assert fired(judge(app, other_person, other, face("rose_leslie/img1.jpg"))[1]) == []

    reuse = create(client, platform)["id"]
    forged = verdict(number="P7654321", first="JOHN", last="SMITH", dob="1970-01-01")
    _, block = judge(app, reuse, forged, face("obama/obama2.jpg"))
    assert fired(block) == ["face_reuse"]
    assert block["risk_signals"][0]["verification_sessions"] == [first, same_document]
    assert "another document" in block["risk_signals"][0]["reason"]


def test_many_sessions_from_one_address_fire_and_a_few_do_not(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    numbers = iter(f"N{index:07d}" for index in range(100))

    def from_address(address: str) -> dict[str, Any]:
        session_id = create(client, platform)["id"]
        return judge(app, session_id, verdict(number=next(numbers)), address=address)[1]

    for _ in range(risk.ADDRESS_LIMIT):  # a household, a person retrying: up to the limit
        assert fired(from_address("198.51.100.7")) == []
    assert fired(from_address("198.51.100.8")) == []  # the neighbour's address counts apart
    block = from_address("198.51.100.7")
    assert fired(block) == ["address_velocity"]
    assert len(block["risk_signals"][0]["verification_sessions"]) == risk.ADDRESS_LIMIT
    # One IPv6 host has a /64 to walk through: its addresses count together.
    for host in range(1, risk.ADDRESS_LIMIT + 1):
        assert fired(from_address(f"2001:db8:1:2::{host}")) == []
    assert fired(from_address("2001:db8:1:2:ffff::1")) == ["address_velocity"]


def test_sessions_older_than_the_address_window_do_not_count(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    for _ in range(risk.ADDRESS_LIMIT + 1):
        judge(app, create(client, platform)["id"], verdict(status="expired"), address="192.0.2.1")
    with database(app).sessions() as db:
        for mark in db.scalars(select(RiskMark)):
            mark.created_at = utcnow() - risk.ADDRESS_WINDOW - timedelta(minutes=1)
        db.commit()
    _, block = judge(app, create(client, platform)["id"], verdict(), address="192.0.2.1")
    assert fired(block) == []


# ---- flag or fail -------------------------------------------------------------------------------


def test_fail_refuses_the_session_with_a_stripe_code_and_flag_only_asks_for_a_review(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    judge(app, create(client, platform)["id"], verdict())
    created = create(client, platform, "fail")
    assert created["options"]["idflow"] == {"risk_signals": "fail"}
    refused, block = judge(app, created["id"], verdict(first="JOHN"))
    assert refused.status == "requires_input" and refused.verified_outputs is None
    assert refused.last_error is not None
    assert refused.last_error.code == "document_unverified_other"
    assert "JOHN" not in refused.last_error.reason and "name" not in refused.last_error.reason
    assert refused.report.document.error == refused.last_error
    assert fired(block) == ["document_reuse"] and block["review"]["required"] is False

    flagged, block = judge(app, create(client, platform, "flag")["id"], verdict(first="JOHN"))
    assert flagged.status == "verified" and flagged.last_error is None
    assert block["review"]["required"] is True


def test_a_refused_face_with_a_selfie_is_a_selfie_error() -> None:
    signal = risk.RiskSignal("face_reuse", "This face was verified before.", ("vs_1",))
    refused = risk.refuse(verdict(selfie=True), signal)
    assert refused.last_error is not None and refused.last_error.code == "selfie_unverified_other"
    assert refused.report.selfie is not None and refused.report.selfie.status == "unverified"
    assert refused.report.document.error is None
    without_selfie = risk.refuse(verdict(), signal)
    assert without_selfie.report.document.error == without_selfie.last_error
    assert without_selfie.last_error is not None
    assert without_selfie.last_error.code == "document_unverified_other"


def test_the_option_is_checked_and_defaults_to_flag(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    assert create(client, platform)["options"]["idflow"] == {"risk_signals": "flag"}
    for options in ({"risk_signals": "block"}, {"other": "flag"}, "fail"):
        body = {"type": "document", "options": {"idflow": options}}
        response = client.post("/v1/verification_sessions", headers=platform.headers, json=body)
        assert response.status_code == 400, options
        assert response.get_json()["error"]["param"].startswith("options[idflow]")


def test_only_a_verified_session_leaves_a_mark_to_compare_with(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    failed = create(client, platform)["id"]
    judge(app, failed, verdict(status="expired"))
    assert marks(app, failed) == []
    assert fired(judge(app, create(client, platform)["id"], verdict(first="JOHN"))[1]) == []


# ---- where the marks live -----------------------------------------------------------------------


@needs_faces
def test_marks_hold_keyed_hashes_and_an_encrypted_descriptor_only(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id = create(client, platform)["id"]
    judge(app, session_id, verdict(), face("obama/obama.jpg"), address="203.0.113.9")
    with database(app).sessions() as db:
        rows = db.execute(text("SELECT * FROM risk_marks")).mappings().all()
    stored = json.dumps([dict(row) for row in rows], default=str)
    for clear in (NUMBER, "MUSTERMANN", "ERIKA", "1964-08-12", "203.0.113.9"):
        assert clear not in stored
    descriptors = [json.loads(row["descriptor"] or "null") for row in rows]
    descriptors = [found for found in descriptors if found is not None]
    assert len(descriptors) == 1 and set(descriptors[0]) == {"kid", "nonce", "ct"}
    (verified,) = [mark for mark in marks(app) if mark.kind == "verified"]
    assert verified.descriptor is not None
    assert np.allclose(verified.descriptor, face("obama/obama.jpg"))


def test_platforms_and_modes_never_see_each_others_marks(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    judge(app, create(client, platform)["id"], verdict(), address="192.0.2.50")
    other = make_platform(app, "Other platform")
    _, block = judge(app, create(client, other)["id"], verdict(first="JOHN"))
    assert fired(block) == []
    with database(app).sessions() as db:
        hashes = {(m.platform_id, m.value_hash) for m in db.scalars(select(RiskMark))}
    assert len({value for _, value in hashes}) == len(hashes)  # one number, two hashes

    test_key = ApiPlatform(platform.id, _test_key(app, platform))
    _, block = judge(app, create(client, test_key)["id"], verdict(first="JOHN"))
    assert fired(block) == []


def _test_key(app: Flask, platform: ApiPlatform) -> str:
    with database(app).sessions() as db:
        found = db.get(Platform, platform.id)
        assert found is not None
        key = issue_key(db, found, livemode=False)
        db.commit()
    return key


def test_redaction_deletes_the_marks_and_the_signal_stays_quiet_after(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    first = create(client, platform)["id"]
    judge(app, first, verdict(), address="192.0.2.77")
    assert {mark.kind for mark in marks(app, first)} == {"verified", "address"}
    response = client.post(f"/v1/verification_sessions/{first}/redact", headers=platform.headers)
    assert response.status_code == 200
    assert marks(app, first) == []
    assert fired(judge(app, create(client, platform)["id"], verdict(first="JOHN"))[1]) == []


def test_retention_deletes_verified_marks_with_the_images_and_addresses_after_their_window(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id = create(client, platform)["id"]
    judge(app, session_id, verdict(), address="192.0.2.99")
    run_retention(app, utcnow() + risk.ADDRESS_WINDOW + timedelta(minutes=1))
    assert [mark.kind for mark in marks(app, session_id)] == ["verified"]
    days = int(app.config["RETENTION_DAYS"])
    run_retention(app, utcnow() + timedelta(days=days, minutes=1))
    assert marks(app, session_id) == []


# ---- the hosted flow, the report and the webhook payload ----------------------------------------


def jpeg(image: NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(encoded.tobytes())


@functools.cache
def passport_photo(seed: int, face_photo: str) -> bytes:
    """A genuine stand-in passport (live sessions refuse idflow's own samples), photographed."""
    document = stand_in("td3", seed, face_photo=face_photo)
    photo, _ = photograph(
        document.front, np.random.default_rng(seed), machine_box=document.machine_box_front
    )
    return jpeg(photo)


@pytest.fixture
def no_csrf(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def through_the_flow(
    client: FlaskClient,
    platform: ApiPlatform,
    photo: bytes,
    mode: str | None = None,
    address: str = "192.0.2.10",
) -> str:
    """A passport session taken to its verdict by a person at `address`; its id."""
    created = create(client, platform, mode, options={"document": {"allowed_types": ["passport"]}})
    link = urlsplit(created["url"]).path
    environ = {"REMOTE_ADDR": address}
    assert client.post(f"{link}/consent", data={"accept": "Continue"}).status_code == 303
    sent = client.post(
        f"{link}/front",
        data={"photo": (io.BytesIO(photo), "photo.jpg", "image/jpeg")},
        content_type="multipart/form-data",
        environ_base=environ,
    )
    assert sent.status_code == 303
    submitted = client.post(f"{link}/review", data={"submit": "Submit"}, environ_base=environ)
    assert submitted.status_code == 303
    session_id: str = created["id"]
    return session_id


def api(client: FlaskClient, platform: ApiPlatform, path: str) -> dict[str, Any]:
    response = client.get(f"/v1/{path}", headers=platform.headers)
    assert response.status_code == 200
    found: dict[str, Any] = response.get_json()
    return found


def event_object(client: FlaskClient, platform: ApiPlatform, session_id: str) -> dict[str, Any]:
    """What the last webhook about the session carries."""
    events = api(client, platform, "events")["data"]
    about = [event for event in events if event["data"]["object"]["id"] == session_id]
    found: dict[str, Any] = about[0]["data"]["object"]
    return found


@needs_faces
def test_one_face_on_two_passports_is_flagged_in_the_session_report_and_webhook(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """The real reader and face matcher: a stand-in passport with Obama's portrait, then
    another passport (another number) with another photo of him."""
    first = through_the_flow(client, platform, passport_photo(1, "obama/obama.jpg"))
    run_pending(no_csrf)
    assert api(client, platform, f"verification_sessions/{first}")["status"] == "verified"
    (mark,) = [mark for mark in marks(no_csrf, first) if mark.kind == "verified"]
    assert mark.descriptor is not None and mark.value_hash is not None

    second = through_the_flow(client, platform, passport_photo(2, "obama/obama2.jpg"))
    run_pending(no_csrf)
    session = api(client, platform, f"verification_sessions/{second}")
    # Flagged, not failed (the default): the verdict waits for a reviewer. It is not published
    # as `verified`, which a platform reading only Stripe's fields would take as a pass.
    assert session["status"] == "processing" and session["verified_outputs"] is None
    assert fired(session["idflow"]) == ["face_reuse"]
    assert session["idflow"]["risk_signals"][0]["verification_sessions"] == [first]
    assert session["idflow"]["review"]["required"] is True
    report = api(client, platform, f"verification_reports/{session['last_verification_report']}")
    assert report["idflow"] == session["idflow"]
    assert event_object(client, platform, second)["status"] == "processing"  # submitted, no more
    quiet = api(client, platform, f"verification_sessions/{first}")["idflow"]
    assert quiet == {"risk_signals": [], "review": {"required": False, "reason": None}}


@needs_faces
def test_fail_mode_in_the_flow_sends_the_person_back_without_saying_why(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reading is stubbed (the reader is tested elsewhere); the job, the report, the event
    and the address recorded on submit are the real ones."""
    readings = iter([verdict(), verdict(first="JOHN", last="SMITH")])

    def read(
        stage: DocumentStage, images: dict[str, bytes], options: VerifyOptions, provided: Any
    ) -> Verdict:
        return next(readings)

    monkeypatch.setattr(verification, "_verify", read)
    photo = passport_photo(1, "obama/obama.jpg")
    first = through_the_flow(client, platform, photo, address="192.0.2.200")
    run_pending(no_csrf)
    assert {mark.kind for mark in marks(no_csrf, first)} == {"verified", "address"}

    second = through_the_flow(client, platform, photo, "fail", address="192.0.2.201")
    run_pending(no_csrf)
    session = api(client, platform, f"verification_sessions/{second}")
    assert session["status"] == "requires_input"
    assert session["last_error"]["code"] == "document_unverified_other"
    assert "name" not in session["last_error"]["reason"]
    assert fired(session["idflow"]) == ["document_reuse"]
    assert session["idflow"]["review"]["required"] is False
    report = api(client, platform, f"verification_reports/{session['last_verification_report']}")
    assert report["status"] == "requires_input"
    assert report["document"]["error"]["code"] == "document_unverified_other"
    assert fired(report["idflow"]) == ["document_reuse"]
    assert event_object(client, platform, second)["idflow"] == session["idflow"]
    assert [mark.kind for mark in marks(no_csrf, second)] == ["address"]


def test_a_redacted_report_keeps_the_signal_names_and_reasons() -> None:
    """They say what happened, not who it happened to: no personal data to wipe."""
    block = risk.assessment(
        [risk.RiskSignal("document_reuse", "Verified before.", ("vs_1",))], "flag"
    )
    stub = redacted_report({"status": "verified", "document": None, "idflow": block})
    assert stub["idflow"] == block
