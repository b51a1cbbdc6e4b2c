"""Security headers, cookie flags, rate limits, access scoping and what reaches the logs."""

from __future__ import annotations

import base64
import io
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.support.crypto import DETAILS, PERSONAL, full_session
from tests.support.database import migrate
from tests.support.flow import consent, passport_photo, send, start
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from webapp import create_app
from webapp.db import database
from webapp.logsafe import MASK, mask
from webapp.models import VerificationSession
from webapp.platforms import create_platform


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 0,
            **overrides,
        }
    )
    migrate(app)
    return app


def csp(response: Any) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


# ---- headers --------------------------------------------------------------------------------


def test_every_kind_of_response_carries_the_headers(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform)
    responses = {
        "flow page": client.get(f"{link}/consent"),
        "flow redirect": client.get(link),
        "unknown link": client.get("/v/not-a-real-token-at-all"),
        "api": client.get("/v1/verification_sessions", headers=platform.headers),
        "api error": client.get("/v1/verification_sessions"),
        "static": client.get("/static/flow.js"),
        "health": client.get("/health"),
    }
    for name, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "no-referrer", name
        assert "camera=(self)" in response.headers["Permissions-Policy"], name
        policy = csp(response)
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], name
        assert "unsafe-eval" not in response.headers["Content-Security-Policy"], name
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", name
        assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'", name
        assert "Strict-Transport-Security" not in response.headers, name  # plain http
    assert responses["flow page"].headers["Cache-Control"] == "no-store"
    for response in responses.values():
        response.close()  # the static file's handle


def test_a_declined_consent_may_go_back_to_the_platform(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform)  # return_url https://platform.example/done?order=42
    page = client.get(f"{link}/decline")  # the page whose form goes back to the platform
    assert csp(page)["form-action"] == "'self' https://platform.example"
    declined = client.post(f"{link}/decline", data={"confirm": "Yes, decline"})
    assert declined.status_code == 303
    assert declined.headers["Location"].startswith("https://platform.example/done")
    other = client.get("/v/not-a-real-token-at-all")
    assert csp(other)["form-action"] == "'self'"


@pytest.mark.parametrize(
    ("return_url", "origin"),
    [
        ("https://Platform.Example:8443/done?order=42#x", "https://platform.example:8443"),
        ("https://platform.example:443/done", "https://platform.example"),
        ("http://[2001:db8::1]:8080/back", "http://[2001:db8::1]:8080"),
        ("https://bücher.example/zurück", "https://xn--bcher-kva.example"),
        ("http://user:pw@198.51.100.7/x", "http://198.51.100.7"),
    ],
)
def test_form_action_names_the_return_urls_origin_only(
    client: FlaskClient, platform: ApiPlatform, return_url: str, origin: str
) -> None:
    _, link = start(client, platform, return_url=return_url)
    assert csp(client.get(f"{link}/consent"))["form-action"] == f"'self' {origin}"


def test_a_stored_return_url_with_a_bad_host_adds_nothing_to_the_policy(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """A row written before hosts were checked (or by hand) cannot inject directives."""
    session_id, link = start(client, platform)
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None
        session.return_url = "https://x;script-src-elem 'unsafe-inline';x/"
        db.commit()
    response = client.get(f"{link}/consent")
    header = response.headers["Content-Security-Policy"]
    assert "script-src-elem" not in header and "unsafe-inline" not in header
    assert csp(response)["form-action"] == "'self'"


def test_hsts_and_secure_cookies_behind_https(tmp_path: Path) -> None:
    app = make_app(tmp_path, BEHIND_HTTPS=True)
    client = app.test_client()
    _, link = start(client, make_platform(app))
    page = client.get(f"{link}/consent")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_https_requests_get_hsts_and_plain_ones_no_secure_cookie(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform)
    page = client.get(f"{link}/consent")
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = client.get("/health", base_url="https://idflow.test")
    assert "Strict-Transport-Security" in secure.headers


def test_a_proxy_is_trusted_only_when_configured(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = make_app(tmp_path / "a").test_client().get("/health", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers
    proxied = make_app(tmp_path / "b", PROXY_HOPS=1).test_client()
    assert "Strict-Transport-Security" in proxied.get("/health", headers=forwarded).headers


# ---- rate limits ----------------------------------------------------------------------------


def test_the_api_is_limited_per_key_with_the_api_error_shape(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(app, RATELIMIT_API="3 per minute")
    for _ in range(3):
        assert client.get("/v1/verification_sessions", headers=platform.headers).status_code == 200
    limited = client.get("/v1/verification_sessions", headers=platform.headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    error = limited.get_json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit"
    other = make_platform(app, "Other platform")
    assert client.get("/v1/verification_sessions", headers=other.headers).status_code == 200


def test_one_key_has_one_allowance_however_its_header_is_written(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Counted per authenticated key, not per raw Authorization header: the scheme's case, the
    spacing and the Basic form all draw on the same allowance."""
    reconfigure(app, RATELIMIT_API="5 per minute")
    key = platform.secret_key
    basic = base64.b64encode(f"{key}:".encode()).decode()
    spellings = [
        f"Bearer {key}",
        f"bearer {key}",
        f"BEARER {key}",
        f"Bearer  {key}",
        f" Bearer {key} ",
        f"Basic {basic}",
        f"basic {basic}",
        f"Bearer   {key}",
    ]
    answers = [
        client.get("/v1/verification_sessions", headers={"Authorization": spelling}).status_code
        for spelling in spellings
    ]
    assert answers == [200] * 5 + [429] * 3


def test_basic_auth_takes_the_key_with_an_empty_password_only(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Stripe's Basic form is the key as user name and no password; any other password is not
    this key (it would give each made-up password a fresh spelling of the same key)."""
    for password in ("x", "anything", platform.secret_key):
        token = base64.b64encode(f"{platform.secret_key}:{password}".encode()).decode()
        refused = client.get(
            "/v1/verification_sessions", headers={"Authorization": f"Basic {token}"}
        )
        assert refused.status_code == 401, password
    token = base64.b64encode(f"{platform.secret_key}:".encode()).decode()
    accepted = client.get("/v1/verification_sessions", headers={"Authorization": f"Basic {token}"})
    assert accepted.status_code == 200


def test_made_up_keys_share_their_address_allowance(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Each random key would otherwise get a fresh allowance: flooding would be free."""
    reconfigure(app, RATELIMIT_API="3 per minute")
    for number in range(3):
        bogus = {"Authorization": f"Bearer sk_live_made_up_{number}"}
        assert client.get("/v1/verification_sessions", headers=bogus).status_code == 401
    flooded = client.get("/v1/verification_sessions", headers={"Authorization": "Bearer x"})
    assert flooded.status_code == 429 and flooded.get_json()["error"]["type"] == "rate_limit_error"
    assert client.get("/v1/verification_sessions", headers=platform.headers).status_code == 200


def test_link_opens_are_limited_per_address_with_a_friendly_page(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(app, RATELIMIT_LINK_OPEN="2 per minute")
    _, link = start(client, platform)
    assert client.get(link).status_code == 302
    assert client.get("/v/guessed-token-guessed-token-1").status_code == 404
    limited = client.get(link)
    assert limited.status_code == 429 and limited.mimetype == "text/html"
    assert "too many tries" in limited.text and "Please wait" in limited.text
    elsewhere = client.get(link, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 302


def test_uploads_are_limited_per_session_and_per_address(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(no_csrf, RATELIMIT_UPLOAD_SESSION="2 per hour")
    reconfigure(no_csrf, RATELIMIT_UPLOAD_IP="3 per hour")
    options = {"document": {"allowed_types": ["passport"]}}
    _, first = start(client, platform, options=options)
    _, second = start(client, platform, options=options)
    for link in (first, second):
        consent(client, link)
    for _ in range(2):
        assert send(client, f"{first}/front", b"junk").status_code == 422
    assert send(client, f"{first}/front", passport_photo()).status_code == 429
    assert send(client, f"{second}/front", passport_photo()).status_code == 303
    assert send(client, f"{second}/front", passport_photo()).status_code == 429  # the address
    assert client.get(f"{first}/front").status_code == 200  # pages still open


def test_limits_can_be_switched_off(app: Flask, client: FlaskClient, platform: ApiPlatform) -> None:
    reconfigure(app, RATELIMIT_API="1 per minute")
    reconfigure(app, RATELIMIT_ENABLED=False)
    for _ in range(3):
        assert client.get("/v1/verification_sessions", headers=platform.headers).status_code == 200


# ---- access ---------------------------------------------------------------------------------


def test_api_keys_see_only_their_platform_and_mode(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, _ = start(client, platform)
    with database(app).sessions() as db:
        test_key = create_platform(db, "Unused").test_secret_key
    other = make_platform(app, "Other platform")
    outsiders = {
        "other platform": other.headers,
        "another platform's test key": {"Authorization": f"Bearer {test_key}"},
    }
    for name, headers in outsiders.items():
        url = f"/v1/verification_sessions/{session_id}"
        assert client.get(url, headers=headers).status_code == 404, name
        assert client.post(f"{url}/cancel", headers=headers).status_code == 404, name
        assert client.post(f"{url}/redact", headers=headers).status_code == 404, name
        listed = client.get("/v1/verification_sessions", headers=headers).get_json()
        assert listed["data"] == [], name
    assert (
        client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers).get_json()[
            "status"
        ]
        == "requires_input"
    )


def test_the_same_platforms_test_key_does_not_see_live_sessions(
    app: Flask, client: FlaskClient
) -> None:
    with database(app).sessions() as db:
        created = create_platform(db, "Both modes")
    live = {"Authorization": f"Bearer {created.secret_key}"}
    test = {"Authorization": f"Bearer {created.test_secret_key}"}
    made = client.post(
        "/v1/verification_sessions", headers=live, json={"type": "document"}
    ).get_json()
    assert made["livemode"] is True
    assert client.get(f"/v1/verification_sessions/{made['id']}", headers=test).status_code == 404
    assert client.get("/v1/verification_sessions", headers=test).get_json()["data"] == []


# ---- logs -----------------------------------------------------------------------------------


def test_tokens_and_keys_are_masked() -> None:
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcdE"
    line = (
        f'1.2.3.4 "GET /v/{token}/front HTTP/1.1" 200 "https://id.example/v/{token}/consent" '
        f"vs_1_secret_{token} client_secret=vs_1_secret_{token}&x=1 sk_live_{token}"
    )
    masked = mask(line)
    assert token not in masked
    assert f"/v/{MASK}/front" in masked and f"sk_live_{MASK}" in masked
    assert mask("GET /v1/verification_sessions/vs_123") == "GET /v1/verification_sessions/vs_123"
    assert token not in mask(f"secret whsec_{token}")


def test_an_upload_never_touches_the_disk_in_clear(app: Flask) -> None:
    """Werkzeug spools bodies over 500 KB to a temporary file; ours stay in memory."""
    photo = os.urandom(2 * 1024 * 1024)
    boundary, body = encode_multipart({"photo": FileStorage(io.BytesIO(photo), "photo.jpg")})
    with app.test_request_context(
        "/v/x/front",
        method="POST",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    ):
        stream = request.files["photo"].stream
        assert isinstance(stream, io.BytesIO) and stream.getvalue() == photo


def test_a_traceback_is_masked_too(app: Flask) -> None:
    """A failing job logs its exception, whose text may quote a link or a key."""
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcdE"
    logger = logging.getLogger("webapp.tests.traceback")
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    logger.addHandler(handler)
    try:
        raise RuntimeError(f"could not open /v/{token}/front with sk_test_{token}")
    except RuntimeError:
        logger.exception("job failed")
    finally:
        logger.removeHandler(handler)
    assert "RuntimeError" in written.getvalue() and token not in written.getvalue()


def test_a_whole_session_leaves_nothing_secret_in_the_logs(
    app: Flask, client: FlaskClient, platform: ApiPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session_id, link = full_session(app, client, platform)
    token = link.split("/")[2]
    # gunicorn's access log line for the same requests (it formats with a dict of atoms)
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s "%(f)s"',
        {"h": "127.0.0.1", "r": f"GET {link}/front HTTP/1.1", "s": "200", "f": f"{link}/consent"},
    )
    logging.getLogger("gunicorn.error").warning("client_secret=%s_secret_%s", session_id, token)
    assert any(session_id in record.getMessage() for record in caplog.records)
    text = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    secrets = [token, platform.secret_key, *DETAILS.values(), *PERSONAL]
    assert [secret for secret in secrets if secret in text] == []
    assert f"/v/{MASK}/front" in text
