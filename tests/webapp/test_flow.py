"""The hosted flow through the Flask test client, with generated document photos and real checks."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.test import TestResponse

from processing.capture import MESSAGES
from tests.support.flow import (
    DESKTOP,
    PHONE,
    RETURN_URL,
    blurred_passport,
    consent,
    html,
    landing,
    passport_photo,
    send,
    session_row,
    start,
)
from tests.support.platform import ApiPlatform
from tests.support.settings import reconfigure
from webapp.db import database
from webapp.flow.views import FORM_EXPIRED_HEADER, return_link
from webapp.jobs import run_pending
from webapp.models import VerificationSession, utcnow
from webapp.platforms import create_platform


def test_link_opens_on_the_consent_step(client: FlaskClient, platform: ApiPlatform) -> None:
    _, link = start(client, platform)
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{link}/consent"
    page = html(client.get(f"{link}/consent", headers={"User-Agent": PHONE}))
    assert "Verify your identity" in page and "Test platform" in page
    assert 'name="accept"' in page and f'href="{link}/decline"' in page


def test_desktop_gets_a_qr_code_and_a_phone_does_not(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform)
    desktop = html(client.get(f"{link}/consent", headers={"User-Agent": DESKTOP}))
    phone = html(client.get(f"{link}/consent", headers={"User-Agent": PHONE}))
    assert "<svg" in desktop and "Continue on your phone" in desktop
    assert "<svg" not in phone and "Continue on your phone" not in phone


def test_a_post_without_csrf_token_is_refused(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True)
    session_id, link = start(client, platform)
    refused = client.post(f"{link}/consent", data={"accept": "Continue"})
    assert refused.status_code == 400
    assert "reload the page" in html(refused)
    assert session_row(app, session_id).consented_at is None
    page = client.get(f"{link}/consent").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    accepted = client.post(
        f"{link}/consent", data={"accept": "Continue", "csrf_token": token.group(1)}
    )
    assert accepted.status_code == 303
    assert session_row(app, session_id).consented_at is not None


@pytest.mark.parametrize("step", ["consent", "document", "front", "review"])
def test_every_form_refuses_a_post_without_its_csrf_token(
    app: Flask, client: FlaskClient, platform: ApiPlatform, step: str
) -> None:
    """Each screen's form checks its own token; a forged cross-site POST changes nothing."""
    session_id, link = start(
        client, platform, options={"document": {"allowed_types": ["passport", "id_card"]}}
    )
    app.config["WTF_CSRF_ENABLED"] = False  # walk up to `step` the easy way
    if step != "consent":
        consent(client, link)
    if step in ("front", "review"):
        client.post(f"{link}/document", data={"document_type": "passport"})
    if step == "review":
        assert send(client, f"{link}/front", passport_photo()).status_code == 303
    app.config["WTF_CSRF_ENABLED"] = True
    before = session_row(app, session_id)
    forged = {
        "consent": {"accept": "Continue"},
        "document": {"document_type": "id_card"},
        "review": {"submit": "Submit"},
    }
    if step == "front":
        refused = send(client, f"{link}/front", passport_photo())
    else:
        refused = client.post(f"{link}/{step}", data=forged[step])
    assert refused.status_code == 400 and "reload the page" in html(refused)
    assert refused.headers[FORM_EXPIRED_HEADER] == "1"  # flow.js renews the token and resends
    after = session_row(app, session_id)
    assert (after.status, after.consented_at, after.document_type) == (
        before.status,
        before.consented_at,
        before.document_type,
    )
    assert client.get(link).headers["Location"] == f"{link}/{step}"


def decline(client: FlaskClient, link: str) -> TestResponse:
    """Decline as a person does: the consent page's link, then the confirmation's button."""
    page = html(client.get(f"{link}/consent", headers={"User-Agent": PHONE}))
    assert f'href="{link}/decline"' in page
    asked = html(client.get(f"{link}/decline"))
    assert 'name="confirm"' in asked
    return client.post(f"{link}/decline", data={"confirm": "Yes, decline"})


def test_decline_returns_to_the_platform_with_the_session_id(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform)
    response = decline(client, link)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{RETURN_URL}&session_id={session_id}"
    assert session_row(no_csrf, session_id).last_error_code == "consent_declined"
    _, link = start(client, platform, return_url=None)
    declined = decline(client, link)
    assert declined.status_code == 303
    assert "You declined" in html(client.get(declined.headers["Location"]))


def test_decline_is_a_secondary_action_that_asks_first(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """One tap under Continue must not end the verification: the consent page links to a
    question, whose answer declines; the link is not dressed as the primary button."""
    session_id, link = start(client, platform)
    page = html(client.get(f"{link}/consent", headers={"User-Agent": PHONE}))
    assert 'name="decline"' not in page
    (tag,) = re.findall(rf'<a [^>]*href="{link}/decline"[^>]*>', page)
    assert "primary" not in tag and "button" not in tag
    asked = client.get(f"{link}/decline")
    assert asked.status_code == 200 and "Test platform" in html(asked)
    assert f'href="{link}/consent"' in html(asked)  # and a way back
    assert session_row(no_csrf, session_id).last_error_code is None  # asking changes nothing
    stale = client.post(f"{link}/consent", data={"decline": "Decline"})  # an old page's button
    assert stale.headers["Location"] == f"{link}/decline"
    assert session_row(no_csrf, session_id).last_error_code is None
    assert decline(client, link).status_code == 303
    assert session_row(no_csrf, session_id).last_error_code == "consent_declined"


def test_return_link_keeps_the_query_and_replaces_an_old_session_id() -> None:
    assert return_link("https://a.example/x", "vs_1") == "https://a.example/x?session_id=vs_1"
    assert (
        return_link("https://a.example/x?a=1&session_id=old#top", "vs_1")
        == "https://a.example/x?a=1&session_id=vs_1#top"
    )


def test_document_step_offers_only_the_allowed_types(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(
        client, platform, options={"document": {"allowed_types": ["passport", "driving_license"]}}
    )
    consent(client, link)
    assert client.get(link).headers["Location"] == f"{link}/document"
    page = html(client.get(f"{link}/document"))
    assert 'value="passport"' in page and 'value="driving_license"' in page
    assert 'value="id_card"' not in page
    refused = client.post(f"{link}/document", data={"document_type": "id_card"})
    assert refused.status_code == 422
    assert session_row(no_csrf, session_id).document_type is None
    chosen = client.post(f"{link}/document", data={"document_type": "driving_license"})
    assert landing(client, chosen) == f"{link}/front"
    front = html(client.get(f"{link}/front"))
    assert "Front of your driving licence" in front
    assert 'accept="image/*"' in front and 'capture="environment"' in front
    assert "guide-card" in front and "all four corners" in front


def test_single_allowed_type_skips_the_choice(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    consent(client, link)
    assert landing(client, client.get(link)) == f"{link}/front"
    assert client.get(f"{link}/document").status_code == 303  # chosen already, moves on
    page = html(client.get(f"{link}/front"))
    assert "Photograph your passport" in page and "guide-passport" in page
    assert "Step 2 of 3" in page


def test_steps_ahead_of_the_person_redirect_back(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    for ahead in ("review", "front", "document", "back"):
        response = client.get(f"{link}/{ahead}")
        assert response.status_code == 302
        assert response.headers["Location"] == f"{link}/consent"
    consent(client, link)
    assert client.get(f"{link}/back").headers["Location"] == f"{link}/front"  # no back side
    missing = client.post(f"{link}/front", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert "Take or choose a photo first." in html(missing)


def test_full_session_with_a_rejected_and_an_accepted_photo(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(
        client, platform, options={"document": {"allowed_types": ["passport"]}}
    )
    consent(client, link)

    blurred = send(client, f"{link}/front", blurred_passport())
    assert blurred.status_code == 422
    page = html(blurred)
    assert MESSAGES["blurry"] in page and "Tries left: 9" in page
    junk = send(client, f"{link}/front", os.urandom(4096), "photo.bin")
    assert junk.status_code == 422
    assert "Tries left: 9" in html(junk)  # not a photo: no try spent

    accepted = send(client, f"{link}/front", passport_photo())
    assert accepted.status_code == 303
    assert landing(client, accepted) == f"{link}/review"
    review = html(client.get(f"{link}/review"))
    sources = re.findall(r'<img src="([^"]+)"', review)
    assert len(sources) == 1 and sources[0].startswith(f"{link}/files/file_")
    zoom = re.search(r'<a class="shot-zoom" href="([^"]+)">', review)  # tap to enlarge
    assert zoom is not None
    assert f'src="{sources[0]}?size=large"' in html(client.get(zoom.group(1)))
    thumbnail = client.get(sources[0])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    decoded = cv2.imdecode(np.frombuffer(thumbnail.data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    # The passport page cut out and flattened (125 x 88 mm), not the 4:3 photo of the table.
    height, width = decoded.shape[:2]
    assert width == 1200 and abs(width / height - 125 / 88) < 0.01
    large = client.get(f"{sources[0]}?size=large")
    enlarged = cv2.imdecode(np.frombuffer(large.data, np.uint8), cv2.IMREAD_COLOR)
    assert enlarged is not None and enlarged.shape[1] == 1476  # the reader's 300 dpi

    submitted = client.post(f"{link}/review", data={"submit": "Submit"})
    assert submitted.headers["Location"] == f"{link}/processing"
    waiting = html(client.get(f"{link}/processing"))
    assert f'data-poll="{link}/status"' in waiting
    assert client.get(f"{link}/status").json == {
        "status": "processing",
        "step": "processing",
        "url": f"{link}/processing",
        "next": None,
    }
    assert client.get(link).headers["Location"] == f"{link}/processing"

    assert run_pending(no_csrf) >= 1
    assert client.get(f"{link}/status").json == {
        "status": "verified",
        "step": "done",
        "url": f"{link}/result",
        "next": f"{link}/result",
    }
    assert client.get(f"{link}/processing").headers["Location"] == f"{link}/result"
    result = html(client.get(f"{link}/result"))
    assert "you are verified" in result
    assert f'href="{RETURN_URL}&amp;session_id={session_id}"' in result
    api = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers).json
    assert api is not None and api["status"] == "verified"

    finished = client.get(link)
    assert finished.status_code == 410 and "already verified" in html(finished)
    assert client.get(sources[0]).status_code == 410  # files close with the link


def test_processing_page_refreshes_itself_only_without_javascript(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """The script polls; a meta refresh beside it would reload the page under it every 5 s
    (axe: meta-refresh). Only a browser without JavaScript reads the one inside <noscript>."""
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    client.post(f"{link}/review", data={"submit": "Submit"})
    waiting = html(client.get(f"{link}/processing"))
    outside = re.sub(r"<noscript>.*?</noscript>", "", waiting, flags=re.S)
    assert 'http-equiv="refresh"' not in outside and f'data-poll="{link}/status"' in outside
    fallback = re.findall(r"<noscript>(.*?)</noscript>", waiting, flags=re.S)
    assert any('http-equiv="refresh"' in part for part in fallback)
    assert any(f'href="{link}/processing"' in part for part in fallback)  # "check again"


@pytest.mark.parametrize(
    ("allowed", "lands_on"),
    [
        (["passport", "id_card"], "document"),  # another document may be chosen
        (["passport"], "front"),  # nothing to choose again: a new photo
    ],
)
def test_failed_verdict_says_why_and_offers_a_retry(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform, allowed: list[str], lands_on: str
) -> None:
    reconfigure(no_csrf, MIN_AGE=120)  # a document the person can replace: theirs is too young
    _, link = start(client, platform, options={"document": {"allowed_types": allowed}})
    consent(client, link)
    if len(allowed) > 1:
        client.post(f"{link}/document", data={"document_type": "passport"})
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    client.post(f"{link}/review", data={"submit": "Submit"})
    run_pending(no_csrf)
    status = client.get(f"{link}/status").json
    assert status == {  # the person reads why on the result page: a computer shows it too
        "status": "requires_input",
        "step": "result",
        "url": f"{link}/result",
        "next": f"{link}/result",
    }
    result = html(client.get(f"{link}/result"))
    assert "younger than 120" in result
    assert "Tries left: 9" in result  # the failed verdict cost one of 10
    assert f'href="{link}/{lands_on}" data-retry' in result
    assert f'href="{RETURN_URL}&amp;session_id=' in result  # or give up and go back
    assert client.get(link).headers["Location"] == f"{link}/{lands_on}"
    assert "younger than 120" in html(client.get(f"{link}/{lands_on}"))  # told why there too


@pytest.mark.parametrize(
    ("claimed", "code", "words"),
    [
        ({"first_name": "Zbigniew", "last_name": "Quartermaine"}, "document_name_mismatch", "name"),
        ({"dob": "1950-01-01"}, "document_dob_mismatch", "date of birth"),
    ],
    ids=["name", "dob"],
)
def test_details_the_platform_sent_wrong_send_the_person_back_to_it(
    no_csrf: Flask,
    client: FlaskClient,
    platform: ApiPlatform,
    claimed: dict[str, str],
    code: str,
    words: str,
) -> None:
    """New photos cannot change what the platform claimed: no loop through the document chooser
    that costs a try each time, but plain words and the way back to the platform."""
    session_id, link = start(
        client,
        platform,
        options={"document": {"allowed_types": ["passport", "id_card"]}},
        provided_details=claimed,
    )
    consent(client, link)
    client.post(f"{link}/document", data={"document_type": "passport"})
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    for _ in range(2):  # opening the link again and submitting again costs nothing either
        client.post(f"{link}/review", data={"submit": "Submit"})
        run_pending(no_csrf)
        result = html(client.get(f"{link}/result"))
        assert f"The {words} that Test platform has for you is not the one on your document" in (
            " ".join(result.split())
        )
        assert "machine-readable" not in result and "data-retry" not in result
        assert f'href="{RETURN_URL}&amp;session_id={session_id}" data-return' in result
        assert "Return to Test platform" in result
        assert "Return to your computer" not in result
        row = session_row(no_csrf, session_id)
        assert (row.status, row.last_error_code, row.rejections) == ("requires_input", code, 0)
        assert client.get(link).headers["Location"] == f"{link}/review"  # nothing to retake
    api = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers).json
    assert api is not None and api["last_error"]["idflow"]["code"] == code
    assert api["last_error"]["code"] == "document_unverified_other"  # Stripe's nearest


def test_too_many_rejected_photos_stop_the_session(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(no_csrf, MAX_ATTEMPTS=2)
    session_id, link = start(
        client, platform, options={"document": {"allowed_types": ["passport"]}}
    )
    consent(client, link)
    assert send(client, f"{link}/front", blurred_passport()).status_code == 422
    stopped = send(client, f"{link}/front", blurred_passport())
    assert stopped.status_code == 303
    page = client.get(stopped.headers["Location"])
    assert page.status_code == 410 and "Too many attempts" in html(page)
    assert session_row(no_csrf, session_id).status == "canceled"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (os.urandom(4096), "photo.jpg"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "scan.pdf"),
        (b"", "empty.jpg"),
    ],
    ids=["random-bytes", "pdf", "empty"],
)
def test_a_file_that_is_not_a_photo_costs_no_try(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform, data: bytes, name: str
) -> None:
    """A wrong file picked from the phone says nothing about the person: they are told what is
    wrong and keep every try; a real photo that is refused still costs one."""
    session_id, link = start(
        client, platform, options={"document": {"allowed_types": ["passport"]}}
    )
    consent(client, link)
    for _ in range(3):
        refused = send(client, f"{link}/front", data, name)
        assert refused.status_code == 422
        assert "Tries left: 10" in html(refused)
    assert session_row(no_csrf, session_id).rejections == 0
    blurred = send(client, f"{link}/front", blurred_passport())
    assert "Tries left: 9" in html(blurred)
    assert session_row(no_csrf, session_id).rejections == 1


def test_unknown_expired_canceled_and_redacted_links(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    unknown = client.get("/v/not-a-real-token")
    assert unknown.status_code == 404 and "This link does not work" in html(unknown)
    assert client.get("/v/" + "x" * 200 + "/consent").status_code == 404

    expired_id, expired = start(client, platform)
    with database(app).sessions() as db:
        row = db.scalar(select(VerificationSession).where(VerificationSession.id == expired_id))
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.commit()
    page = client.get(f"{expired}/consent")
    assert page.status_code == 410 and "expired" in html(page)

    canceled_id, canceled = start(client, platform)
    base = f"/v1/verification_sessions/{canceled_id}"
    assert client.post(f"{base}/cancel", headers=platform.headers).status_code == 200
    page = client.get(canceled)
    assert page.status_code == 410 and "stopped" in html(page)
    assert client.get(f"{canceled}/status").json == {
        "status": "canceled",
        "step": None,
        "url": canceled,
        "next": canceled,
    }

    redacted_id, redacted = start(client, platform)
    base = f"/v1/verification_sessions/{redacted_id}"
    assert client.post(f"{base}/redact", headers=platform.headers).status_code == 200
    page = client.get(f"{redacted}/result")
    assert page.status_code == 410 and "closed" in html(page)


def test_a_file_of_another_session_is_not_served(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    options = {"document": {"allowed_types": ["passport"]}}
    _, mine = start(client, platform, options=options)
    _, theirs = start(client, platform, options=options)
    for link in (mine, theirs):
        consent(client, link)
    send(client, f"{theirs}/front", os.urandom(1024))  # rejected, but kept for the operators
    assert send(client, f"{theirs}/front", passport_photo()).status_code == 303
    source = re.findall(r'<img src="([^"]+)"', client.get(f"{theirs}/review").text)[0]
    file_id = source.rsplit("/", 1)[1]
    assert client.get(f"{theirs}/files/{file_id}").status_code == 200
    stolen = client.get(f"{mine}/files/{file_id}")
    assert stolen.status_code == 404 and stolen.mimetype == "text/html"
    assert client.get(f"{mine}/files/../../{theirs}/files/{file_id}").status_code == 404


def with_capture_time(data: bytes, taken: str) -> bytes:
    """The JPEG again, with an EXIF DateTimeOriginal as a phone's camera writes it."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def test_live_capture_refuses_a_photo_from_earlier(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    options = {"document": {"allowed_types": ["passport"], "require_live_capture": True}}
    _, link = start(client, platform, options=options)
    consent(client, link)
    page = html(client.get(f"{link}/front"))
    offered = re.findall(r'<span class="file-label">([^<]*)</span>', page)
    assert offered == ["Take a photo"] and "data-live-only" in page  # not "or choose"
    old = with_capture_time(passport_photo(), "2024:05:01 09:00:00")
    refused = send(client, f"{link}/front", old)
    assert refused.status_code == 422 and MESSAGES["photo_not_live"] in html(refused)
    fresh = with_capture_time(passport_photo(), utcnow().strftime("%Y:%m:%d %H:%M:%S"))
    assert send(client, f"{link}/front", fresh).status_code == 303

    _, relaxed = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    consent(client, relaxed)
    assert '<span class="file-label">Take or choose a photo</span>' in html(
        client.get(f"{relaxed}/front")
    )
    assert send(client, f"{relaxed}/front", old).status_code == 303


def test_selfie_step_uses_the_front_camera(no_csrf: Flask, client: FlaskClient, app: Flask) -> None:
    """A test session's selfie may be a file (QA uploads sample selfies); a live one's is filmed:
    see tests/webapp/test_liveness_flow.py."""
    with database(app).sessions() as db:
        created = create_platform(db, "QA")
    test_key = ApiPlatform(created.platform.id, created.test_secret_key)
    options = {"document": {"allowed_types": ["passport"], "require_matching_selfie": True}}
    _, link = start(client, test_key, options=options)
    consent(client, link)
    assert landing(client, send(client, f"{link}/front", passport_photo())) == f"{link}/selfie"
    page = html(client.get(f"{link}/selfie", headers={"User-Agent": DESKTOP}))
    assert 'capture="user"' in page and "guide-face" in page and 'data-facing="user"' in page
    assert "Continue on your phone" not in page


def test_other_errors_are_friendly_pages_and_api_errors_stay_json(client: FlaskClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in html(page)
    api = client.get("/v1/no-such-endpoint")
    assert api.status_code == 404 and api.json is not None
    assert api.json["error"]["code"] == "resource_missing"


def test_a_photo_over_the_size_limit_gets_a_page_to_go_back(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    no_csrf.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    consent(client, link)
    response = send(client, f"{link}/front", os.urandom(128 * 1024))
    assert response.status_code == 413
    page = html(response)
    assert "The photo is too large" in page and f'href="{link}/front"' in page
    assert client.get(link).headers["Location"] == f"{link}/front"  # nothing was counted
