"""Test mode: test keys, test sessions kept apart from live ones, chosen outcomes, samples."""

from __future__ import annotations

import io
import json
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from idflow_signature import HEADER, verify
from processing.authenticity.specimen import SPECIMEN_STATE
from processing.result import to_plain
from processing.verify import ProvidedDetails, VerifyOptions
from tests.support.api import passport_jpeg
from tests.support.openapi import Checker
from tests.support.platform import ApiPlatform
from tests.support.settings import reconfigure
from tests.support.shared import SHARED
from tests.support.webhooks import serve_receiver
from webapp import test_mode, verification
from webapp.cli import main
from webapp.db import database
from webapp.errors import InvalidRequest
from webapp.jobs import run_pending
from webapp.models import VerificationSession
from webapp.platforms import create_platform

SESSIONS = "/v1/verification_sessions"
SIMULATED = [name for name in test_mode.OUTCOMES if name != test_mode.REAL_CHECKS]


@pytest.fixture
def keys(app: Flask) -> tuple[ApiPlatform, ApiPlatform]:
    """The same platform's live and test keys, as `idflow platform create` issues them."""
    with database(app).sessions() as db:
        created = create_platform(db, "Both modes")
    return (
        ApiPlatform(created.platform.id, created.secret_key),
        ApiPlatform(created.platform.id, created.test_secret_key),
    )


@pytest.fixture
def flow_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    reconfigure(app, WEBHOOK_ALLOW_PRIVATE=True)  # the webhook receiver listens on loopback
    return app


def start(client: FlaskClient, platform: ApiPlatform, **body: Any) -> tuple[str, str]:
    params = {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}}
    response = client.post(SESSIONS, json={**params, **body}, headers=platform.headers)
    assert response.status_code == 200, response.get_json()
    created = response.get_json()
    return created["id"], urlsplit(created["url"]).path


def to_review(client: FlaskClient, link: str, photo: bytes) -> None:
    assert client.post(f"{link}/consent", data={"accept": "Continue"}).status_code == 303
    upload = {"photo": (io.BytesIO(photo), "passport.jpg", "image/jpeg")}
    response = client.post(f"{link}/front", data=upload, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def test_cli_issues_a_live_and_a_test_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDFLOW_DATA_DIR", str(tmp_path / "cli"))
    for name in ("IDFLOW_DATABASE_URL", "IDFLOW_SECRET_KEY", "IDFLOW_JOB_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["platform", "create", "Acme"]) == 0
    text = capsys.readouterr().out
    assert "sk_live_" in text and "sk_test_" in text


def test_modes_never_mix(client: FlaskClient, keys: tuple[ApiPlatform, ApiPlatform]) -> None:
    live, test = keys
    live_id, _ = start(client, live)
    test_id, _ = start(client, test)
    assert client.get(f"{SESSIONS}/{test_id}", headers=test.headers).get_json()["livemode"] is False
    assert client.get(f"{SESSIONS}/{live_id}", headers=live.headers).get_json()["livemode"] is True
    for caller, other_id in ((live, test_id), (test, live_id)):
        assert client.get(f"{SESSIONS}/{other_id}", headers=caller.headers).status_code == 404
        refused = client.post(f"{SESSIONS}/{other_id}/cancel", headers=caller.headers)
        assert refused.status_code == 404
    listed = {
        mode: [s["id"] for s in client.get(SESSIONS, headers=k.headers).get_json()["data"]]
        for mode, k in (("live", live), ("test", test))
    }
    assert listed == {"live": [live_id], "test": [test_id]}
    events = {
        mode: [
            e["data"]["object"]["id"]
            for e in client.get("/v1/events", headers=k.headers).get_json()["data"]
        ]
        for mode, k in (("live", live), ("test", test))
    }
    assert events == {"live": [live_id], "test": [test_id]}


@pytest.mark.parametrize("outcome", SIMULATED)
@pytest.mark.parametrize("seed", [f"vs_{n}" for n in range(12)])
def test_simulated_verdicts_are_real_shaped(outcome: str, seed: str) -> None:
    provided = ProvidedDetails(first_name="Anna", last_name="Müller", id_number="C01X00T47")
    options = VerifyOptions(require_matching_selfie=True, min_age=18)
    verdict = test_mode.simulated_verdict(outcome, seed, "passport", options, provided)
    plain = json.loads(json.dumps(to_plain(verdict)))
    # Live verification refuses ICAO's specimen state as a specimen (and it has no ISO code, so
    # a Stripe report showed no issuing_country): no made-up document comes from it.
    assert verdict.report.document.issuing_country != SPECIMEN_STATE
    expiry = verdict.report.document.expiration_date
    assert outcome == "document_unverified_other" or expiry is not None
    if outcome not in ("document_expired", "document_unverified_other"):
        assert expiry is not None and expiry > date.today().isoformat()
    if outcome == "verified":
        assert verdict.status == "verified" and verdict.last_error is None
        assert plain["verified_outputs"]["first_name"] == "ANNA"
        assert plain["verified_outputs"]["id_number"] == "C01X00T47"
        assert plain["report"]["selfie"]["status"] == "verified"
    else:
        assert verdict.status == "requires_input" and verdict.verified_outputs is None
        assert verdict.last_error is not None and verdict.last_error.code == outcome
    again = test_mode.simulated_verdict(outcome, seed, "passport", options, provided)
    assert again.report == verdict.report  # the same session gets the same made-up document


def test_only_outcomes_a_live_session_could_reach_are_offered() -> None:
    plain = test_mode.outcomes_for(VerifyOptions(), ProvidedDetails())
    assert set(plain) == {"verified", "document_expired", "document_unverified_other", "real"}
    everything = test_mode.outcomes_for(
        VerifyOptions(require_matching_selfie=True, require_id_number=True, min_age=18),
        ProvidedDetails(),
    )
    assert set(everything) == set(test_mode.OUTCOMES)
    claimed_number = test_mode.outcomes_for(VerifyOptions(), ProvidedDetails(id_number="X1"))
    assert "id_number_mismatch" in claimed_number
    with pytest.raises(InvalidRequest):
        test_mode.simulated_verdict(
            "selfie_face_mismatch", "vs_1", "passport", VerifyOptions(), ProvidedDetails()
        )


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        test_mode.simulated_verdict("real", "vs_1", None, VerifyOptions(), ProvidedDetails())
    with pytest.raises(InvalidRequest):
        test_mode.simulated_verdict("lucky", "vs_1", None, VerifyOptions(), ProvidedDetails())


@pytest.fixture(scope="module")
def checker() -> Checker:
    text = (resources.files("webapp.api") / "openapi.json").read_text(encoding="utf-8")
    return Checker(json.loads(text))


@pytest.mark.parametrize("outcome", ["document_expired", "under_supported_age", "verified"])
def test_chosen_outcome_through_the_flow_fires_webhooks(
    flow_app: Flask, keys: tuple[ApiPlatform, ApiPlatform], checker: Checker, outcome: str
) -> None:
    _live, test = keys
    client = flow_app.test_client()
    with serve_receiver() as receiver:
        hook = client.post(
            "/v1/webhook_endpoints",
            json={"url": receiver.url, "enabled_events": ["*"]},
            headers=test.headers,
        ).get_json()
        session_id, link = start(client, test, provided_details={"first_name": "Anna"})
        to_review(client, link, passport_jpeg())
        page = client.get(f"{link}/review").get_data(as_text=True)
        assert "Test mode" in page and 'value="document_expired"' in page
        assert 'value="selfie_face_mismatch"' not in page  # this session checks no selfie
        assert f"{link}/samples" in page
        refused = {"submit": "Submit", "outcome": "selfie_face_mismatch"}
        assert client.post(f"{link}/review", data=refused).status_code == 422
        response = client.post(f"{link}/review", data={"submit": "Submit", "outcome": outcome})
        assert response.status_code == 303
        run_pending(flow_app)
        run_pending(flow_app)  # the verdict's own event
    session = checker.check(
        "/v1/identity/verification_sessions/{id}",
        "get",
        client.get(f"{SESSIONS}/{session_id}", headers=test.headers),
    )
    report = checker.check(
        "/v1/identity/verification_reports/{id}",
        "get",
        client.get(
            f"/v1/verification_reports/{session['last_verification_report']}",
            headers=test.headers,
        ),
    )
    assert report["livemode"] is False
    types = [r.event["type"].rsplit(".", 1)[1] for r in receiver.received]
    for got in receiver.received:
        verify(got.body, got.headers[HEADER], hook["secret"])
    if outcome == "verified":
        assert session["status"] == "verified"
        assert session["verified_outputs"]["first_name"] == "ANNA"
        assert types == ["created", "processing", "verified"]
    else:
        assert session["status"] == "requires_input"
        assert session["last_error"]["code"] == outcome
        checked = [report[c]["error"] for c in ("document", "selfie", "id_number") if report[c]]
        assert {"code": outcome} in [error["idflow"] for error in checked if error]
        assert types == ["created", "processing", "requires_input"]


def test_real_checks_on_a_sample_from_the_samples_page(
    flow_app: Flask, keys: tuple[ApiPlatform, ApiPlatform]
) -> None:
    """What QA does on a phone: download the specimen, upload it, let the real pipeline judge."""
    _live, test = keys
    client = flow_app.test_client()
    session_id, link = start(client, test)
    samples = client.get(f"{link}/samples")
    assert samples.status_code == 200
    assert f"{link}/samples/passport.jpg" in samples.get_data(as_text=True)
    specimen = client.get(f"{link}/samples/passport.jpg")
    assert specimen.mimetype == "image/jpeg"
    assert "attachment" in specimen.headers["Content-Disposition"]
    to_review(client, link, specimen.data)
    client.post(f"{link}/review", data={"submit": "Submit", "outcome": "real"})
    assert run_pending(flow_app) == 2  # the preparation publishes it; verify_session finds it done
    session = client.get(f"{SESSIONS}/{session_id}", headers=test.headers).get_json()
    assert session["status"] == "verified", session["last_error"]


def test_live_sessions_get_no_choice_and_no_samples(
    flow_app: Flask, keys: tuple[ApiPlatform, ApiPlatform]
) -> None:
    live, _test = keys
    client = flow_app.test_client()
    session_id, link = start(client, live)
    assert client.get(f"{link}/samples").status_code == 404
    assert client.get(f"{link}/samples/passport.jpg").status_code == 404
    to_review(client, link, passport_jpeg())
    page = client.get(f"{link}/review").get_data(as_text=True)
    assert "Test mode" not in page and "samples" not in page
    with flow_app.app_context(), database(flow_app).sessions() as db:
        session = db.get(VerificationSession, 1)
        assert session is not None and session.id == session_id
        with pytest.raises(InvalidRequest):
            verification.submit(db, session, "verified")
    # A forged outcome in the form of a live session is not even read: the real checks run.
    client.post(f"{link}/review", data={"submit": "Submit", "outcome": "document_expired"})
    assert run_pending(flow_app) == 2  # the preparation publishes it; verify_session finds it done
    done = client.get(f"{SESSIONS}/{session_id}", headers=live.headers).get_json()
    assert done["status"] == "verified", done["last_error"]


@pytest.mark.parametrize("mode", ["live", "test"])
def test_real_checks_refuse_generated_documents_live_and_accept_them_in_test_mode(
    flow_app: Flask, keys: tuple[ApiPlatform, ApiPlatform], mode: str
) -> None:
    platform = keys[0] if mode == "live" else keys[1]
    client = flow_app.test_client()
    session_id, link = start(client, platform)
    to_review(client, link, passport_jpeg(generated=True))
    form = {"submit": "Submit"} if mode == "live" else {"submit": "Submit", "outcome": "real"}
    client.post(f"{link}/review", data=form)
    assert run_pending(flow_app) == 2  # the preparation publishes it; verify_session finds it done
    done = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()
    if mode == "live":
        assert done["status"] == "requires_input"
        assert done["last_error"]["code"] == "document_unverified_other"
        assert "generator" in done["last_error"]["reason"]
    else:
        assert done["status"] == "verified", done["last_error"]


def _decoded(data: bytes) -> np.ndarray[Any, Any]:
    image: np.ndarray[Any, Any] | None = cv2.imdecode(np.frombuffer(data, np.uint8), 1)
    assert image is not None
    return image


def test_samples_without_faces_say_so(
    flow_app: Flask, keys: tuple[ApiPlatform, ApiPlatform]
) -> None:
    reconfigure(flow_app, SHARED_DIR="")
    client = flow_app.test_client()
    _session_id, link = start(client, keys[1])
    page = client.get(f"{link}/samples").get_data(as_text=True)
    assert "data-no-selfie" in page and "samples/selfie.jpg" not in page
    assert client.get(f"{link}/samples/selfie.jpg").status_code == 404
    assert client.get(f"{link}/samples/nothing.jpg").status_code == 404
    front = _decoded(client.get(f"{link}/samples/licence_front.jpg").data)
    back = _decoded(client.get(f"{link}/samples/licence_back.jpg").data)
    assert front.shape == back.shape == (638, 1011, 3)  # ID-1 at 300 dpi


@pytest.mark.skipif(not (SHARED / "samples" / "faces").is_dir(), reason="no shared faces")
def test_samples_with_faces_include_a_matching_selfie(
    flow_app: Flask, keys: tuple[ApiPlatform, ApiPlatform]
) -> None:
    reconfigure(flow_app, SHARED_DIR=str(SHARED))
    client = flow_app.test_client()
    _session_id, link = start(client, keys[1])
    page = client.get(f"{link}/samples").get_data(as_text=True)
    assert "data-no-selfie" not in page and "samples/selfie.jpg" in page
    selfie = client.get(f"{link}/samples/selfie.jpg")
    assert selfie.status_code == 200 and _decoded(selfie.data).size > 0
    folder = test_mode.faces_dir(str(SHARED))
    with flow_app.app_context(), database(flow_app).sessions() as db:
        session = db.get(VerificationSession, 1)
        assert session is not None
        chosen = test_mode.person(folder, session.id)
    assert chosen is not None and chosen.portrait.parent == chosen.selfie.parent
