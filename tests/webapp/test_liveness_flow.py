"""The live selfie in the hosted flow: challenge, burst upload, storage, replay, verdict.

Bursts are real clips of real people (../shared/samples/video), cut as the page films them; the
challenge's direction is random, so each test films the clip that turns the way it was asked.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from bench.liveness import burst_from, read_clip, still_burst
from processing.liveness.burst import Frame
from processing.model_files import YUNET_FILE
from processing.verify import (
    CheckError,
    DocumentData,
    ReportChecks,
    Verdict,
    document_check,
)
from tests.support.flow import DESKTOP, PHONE, consent, html, landing, passport_photo, send, start
from tests.support.images import jpeg
from tests.support.platform import ApiPlatform
from tests.support.settings import reconfigure
from tests.support.shared import SHARED
from tests.support.threads import Paused
from webapp import liveness, liveness_verdict
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import UploadedFile

VIDEO = SHARED / "samples" / "video"
CLIP_FOR = {"left": "turn_own_left_d3", "right": "turn_own_right_mpiris"}
OPTIONS = {"document": {"allowed_types": ["passport"], "require_matching_selfie": True}}

pytestmark = pytest.mark.skipif(
    not (VIDEO.is_dir() and (SHARED / "models" / YUNET_FILE).is_file()),
    reason="shared clips or YuNet model absent",
)


@pytest.fixture
def flow(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(SHARED / "models"))
    return app


def at_selfie(client: FlaskClient, platform: ApiPlatform) -> tuple[str, str]:
    session_id, link = start(client, platform, options=OPTIONS)
    consent(client, link)
    assert landing(client, send(client, f"{link}/front", passport_photo())) == f"{link}/selfie"
    return session_id, link


def challenge(client: FlaskClient, link: str) -> dict[str, str]:
    response = client.get(f"{link}/selfie/challenge")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    issued: dict[str, str] = response.json or {}
    assert issued["direction"] in CLIP_FOR
    return issued


def post_burst(client: FlaskClient, link: str, token: str, frames: list[Frame]) -> TestResponse:
    return client.post(
        f"{link}/selfie/burst",
        data={
            "challenge": token,
            "times": ",".join(str(frame.captured_ms) for frame in frames),
            "frames": [
                (io.BytesIO(jpeg(frame.image, quality=92)), f"frame{i}.jpg", "image/jpeg")
                for i, frame in enumerate(frames)
            ],
        },
        content_type="multipart/form-data",
    )


def genuine(direction: str) -> list[Frame]:
    return burst_from(read_clip(VIDEO / f"{CLIP_FOR[direction]}.mjpeg"), 0)


def frames_of(app: Flask, session_id: str) -> list[UploadedFile]:
    with database(app).sessions() as db:
        return list(db.scalars(select(UploadedFile).where(UploadedFile.session_id == session_id)))


def test_a_live_selfie_page_films_and_has_no_file_input_but_a_phone_handoff(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = at_selfie(client, platform)
    for agent in (DESKTOP, PHONE):
        page = html(client.get(f"{link}/selfie", headers={"User-Agent": agent}))
        assert 'type="file"' not in page and "data-burst" in page
        assert "data-no-camera" in page and f"{link}" in page  # the link to continue elsewhere
    assert "qr-code" in html(client.get(f"{link}/selfie", headers={"User-Agent": DESKTOP}))
    refused = send(client, f"{link}/selfie", jpeg(genuine("left")[0].image, quality=92))
    assert refused.status_code == 400
    assert "camera" in refused.get_data(as_text=True)


def test_a_genuine_turn_passes_and_its_frames_are_stored_encrypted(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = at_selfie(client, platform)
    issued = challenge(client, link)
    response = post_burst(client, link, issued["token"], genuine(issued["direction"]))
    assert landing(client, response) == f"{link}/review"
    stored = frames_of(flow, session_id)
    selfies = [u for u in stored if u.step == "selfie" and u.accepted]
    assert len(selfies) == 1 and liveness_verdict.live_selfie_proven(selfies[0])
    assert sum(u.step == liveness.BURST_STEP for u in stored) == 9
    files = Path(flow.config["DATA_DIR"]) / "files"
    for upload in stored:
        raw = (files / (upload.storage_key or "")).read_bytes()
        assert not raw.startswith(b"\xff\xd8")  # not a readable JPEG on disk
    redacted = client.post(
        f"/v1/verification_sessions/{session_id}/redact", headers=platform.headers
    )
    assert redacted.status_code == 200
    assert all(u.storage_key is None for u in frames_of(flow, session_id))
    run_pending(flow)  # the redaction's job deletes the files
    assert not any(p.is_file() for p in files.rglob("*"))


def test_a_still_photo_is_refused_with_selfie_manipulated_and_a_reason(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = at_selfie(client, platform)
    issued = challenge(client, link)
    still = read_clip(VIDEO / "attack_still_d13.mjpeg")[0]
    response = post_burst(client, link, issued["token"], still_burst(still))
    assert response.status_code == 422
    assert "same picture was sent more than once" in html(response)
    stored = frames_of(flow, session_id)
    selfie = next(u for u in stored if u.step == "selfie")
    assert not selfie.accepted and selfie.check["code"] == "selfie_manipulated"
    assert selfie.check["liveness"]["reason_code"] == "liveness_repeated_frames"


def test_a_challenge_is_single_use_and_a_burst_sent_again_is_refused(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = at_selfie(client, platform)
    issued = challenge(client, link)
    frames = genuine(issued["direction"])
    refused = post_burst(client, link, issued["token"], frames[:2])  # too few: refused, token used
    assert refused.status_code == 422
    again = post_burst(client, link, issued["token"], frames)
    assert again.status_code == 422 and "expired or was already used" in html(again)
    # a fresh challenge the same way, with the frames of the refused attempt, is a replay
    fresh = challenge(client, link)
    while fresh["direction"] != issued["direction"]:
        fresh = challenge(client, link)
    first = post_burst(client, link, fresh["token"], frames)
    assert landing(client, first) == f"{link}/review"
    once_more = challenge(client, link)
    while once_more["direction"] != issued["direction"]:
        once_more = challenge(client, link)
    replayed = post_burst(client, link, once_more["token"], frames)
    assert replayed.status_code == 422 and "sent before" in html(replayed)


def test_a_challenge_of_another_session_is_refused(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, other = at_selfie(client, platform)
    foreign = challenge(client, other)
    _, link = at_selfie(client, platform)
    response = post_burst(client, link, foreign["token"], genuine(foreign["direction"]))
    assert response.status_code == 422 and "expired or was already used" in html(response)


def test_a_live_verdict_refuses_a_selfie_without_a_passed_challenge() -> None:
    document = CheckError("document_expired", "expired")
    base = Verdict("verified", None, _report(), None, {})
    refused = liveness_verdict.refuse_unproven_selfie(base)
    assert refused.status == "requires_input" and refused.verified_outputs is None
    assert refused.last_error is not None and refused.last_error.code == "selfie_manipulated"
    assert refused.report.selfie is not None and refused.report.selfie.status == "unverified"
    assert liveness_verdict.live_selfie_proven(None) is False
    # a document error still comes first, as in every verdict
    expired = Verdict("requires_input", document, _report(document), None, {})
    assert liveness_verdict.refuse_unproven_selfie(expired).last_error == document


def _report(error: CheckError | None = None) -> ReportChecks:
    return ReportChecks(document_check(DocumentData.empty(), error), None, None)


def test_bursts_count_against_the_session_upload_limit(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(flow, RATELIMIT_UPLOAD_SESSION="2 per hour")  # the front used one
    _, link = at_selfie(client, platform)
    issued = challenge(client, link)
    frames = genuine(issued["direction"])[:2]
    assert post_burst(client, link, issued["token"], frames).status_code == 422
    assert post_burst(client, link, challenge(client, link)["token"], frames).status_code == 429


@pytest.mark.parametrize("action", ["redact", "cancel"])
def test_a_burst_judged_during_a_redaction_or_cancel_stores_nothing(
    flow: Flask,
    client: FlaskClient,
    platform: ApiPlatform,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    """The burst passed its state check and is being judged when the platform redacts (or
    cancels) the session: afterwards no frame of it may be stored, no try counted (before, the
    frames were written after the redaction, and a late refused burst could cancel any session)."""
    session_id, link = at_selfie(client, platform)
    issued = challenge(client, link)
    frames = genuine(issued["direction"])
    judging = Paused(monkeypatch, liveness, "judge_burst")
    phone = flow.test_client()
    answers: list[int] = []
    burst = threading.Thread(
        target=lambda: answers.append(post_burst(phone, link, issued["token"], frames).status_code)
    )
    burst.start()
    assert judging.arrived.wait(30)
    url = f"/v1/verification_sessions/{session_id}/{action}"
    assert client.post(url, headers=platform.headers).status_code == 200
    judging.release.set()
    burst.join(60)
    assert answers and answers[0] not in (200, 303)
    assert [u.step for u in frames_of(flow, session_id) if u.storage_key is not None] == (
        [] if action == "redact" else ["front"]
    )
