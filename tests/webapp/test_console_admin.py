"""The console's second factor, funnel and admin pages (issue 12)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.flow import blurred_passport, consent, html, passport_photo, send, start
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.webapp.test_console import PASSWORD, _csrf, add, audit_actions, sign_in
from webapp.cli import main
from webapp.jobs import run_pending


def _post(client: FlaskClient, path: str, page: str | None = None, **fields: str) -> TestResponse:
    """A console form sent with the CSRF token of the page it is on (`page`, else `path`)."""
    token = _csrf(client.get(page or path))
    return client.post(path, data={**fields, "csrf_token": token})


def _sign_out(client: FlaskClient) -> None:
    assert _post(client, "/console/logout", "/console/sessions").status_code == 303


def _enrol(client: FlaskClient) -> str:
    """Set up the second factor from the console; returns the secret the page showed."""
    assert _post(client, "/console/two-factor").status_code == 303
    page = client.get("/console/two-factor").get_data(True)
    assert "<svg" in page and "qr-code" in page
    found = re.search(r"<code>([A-Z2-7]{32})</code>", page)
    assert found is not None
    secret = found.group(1)
    assert _post(client, "/console/two-factor", code="000000").status_code == 422
    assert _post(client, "/console/two-factor", code=pyotp.TOTP(secret).now()).status_code == 303
    assert "authenticator app after the password" in client.get("/console/two-factor").get_data(
        True
    )
    return secret


@pytest.fixture
def patient(app: Flask) -> Flask:
    """These tests sign in many times from one address: a limit that does not get in the way."""
    reconfigure(app, RATELIMIT_CONSOLE_LOGIN="100 per minute")
    return app


def test_second_factor_enrol_sign_in_wrong_and_replayed_codes(patient: Flask) -> None:
    add(patient, "admin@idflow.example", "admin")
    client = patient.test_client()
    sign_in(client, "admin@idflow.example")
    secret = _enrol(client)
    _sign_out(client)

    response = sign_in(client, "admin@idflow.example")
    assert response.status_code == 303 and response.location.startswith("/console/login/code")
    assert client.get("/console/sessions").location.startswith("/console/login")  # not yet in
    assert _post(client, "/console/login/code", code="123456").status_code == 401
    later = pyotp.TOTP(secret).at(time.time() + 30)  # the enrolment used this step's code
    assert _post(client, "/console/login/code", code=later).status_code == 303
    assert client.get("/console/sessions").status_code == 200
    _sign_out(client)

    sign_in(client, "admin@idflow.example")
    assert _post(client, "/console/login/code", code=later).status_code == 401  # used already
    now = pyotp.TOTP(secret).now()
    assert _post(client, "/console/login/code", code=now).status_code == 401  # older than used
    actions = [action for action, _ in audit_actions(patient)]
    assert actions.count("login_failed") == 3 and "totp_enabled" in actions
    assert actions.count("login_password_accepted") == 2


def test_the_code_step_needs_the_password_first(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/console/login/code").location.startswith("/console/login")
    token = _csrf(client.get("/console/login"))
    posted = client.post("/console/login/code", data={"code": "123456", "csrf_token": token})
    assert posted.status_code == 302 and posted.location.startswith("/console/login")


def test_code_guesses_share_the_sign_in_limit(app: Flask) -> None:
    add(app, "admin@idflow.example", "admin")
    client = app.test_client()
    reconfigure(app, RATELIMIT_CONSOLE_LOGIN="100 per minute")
    sign_in(client, "admin@idflow.example")
    _enrol(client)
    _sign_out(client)
    reconfigure(app, RATELIMIT_CONSOLE_LOGIN="5 per minute")
    sign_in(client, "admin@idflow.example")
    codes = [_post(client, "/console/login/code", code="000000").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]


def test_a_lost_app_is_reset_by_the_command(
    patient: Flask, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add(patient, "admin@idflow.example", "admin")
    client = patient.test_client()
    sign_in(client, "admin@idflow.example")
    _enrol(client)
    _sign_out(client)
    monkeypatch.setenv("IDFLOW_DATA_DIR", patient.config["DATA_DIR"])
    monkeypatch.setenv("IDFLOW_DATABASE_URL", patient.config["DATABASE_URL"])
    monkeypatch.setenv("IDFLOW_SECRET_KEY", patient.config["SECRET_KEY"])
    assert main(["operator", "reset-totp", "admin@idflow.example"]) == 0
    assert "second factor removed" in capsys.readouterr().out
    assert sign_in(client, "admin@idflow.example", PASSWORD).location == "/console/sessions"
    assert ("totp_reset", None) in audit_actions(patient)


def _walk(app: Flask, client: FlaskClient, platform: ApiPlatform, how_far: str) -> str:
    """A passport-only session driven through the hosted flow as far as `how_far` says."""
    session_id, link = start(
        client, platform, options={"document": {"allowed_types": ["passport"]}}
    )
    if how_far == "created":
        return session_id
    assert client.get(link).status_code == 302  # the link's first open
    if how_far == "declined":
        assert client.post(f"{link}/decline", data={"confirm": "Yes"}).status_code == 303
    if how_far in ("opened", "declined"):
        return session_id
    consent(client, link)
    if how_far == "blurred":
        assert send(client, f"{link}/front", blurred_passport()).status_code == 422
        return session_id
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    assert client.post(f"{link}/review", data={"submit": "Submit"}).status_code == 303
    run_pending(app)
    return session_id


def test_funnel_counts_each_step_and_why_people_stopped(app: Flask) -> None:
    platform, other = make_platform(app), make_platform(app, "Other")
    person = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False  # the person's forms; the console's keep their tokens
    for how_far in ("created", "opened", "declined", "blurred", "verified"):
        _walk(app, person, platform, how_far)
    reconfigure(app, MIN_AGE=120)  # this one's verdict fails: the holder is too young
    _walk(app, person, platform, "refused")
    _walk(app, person, other, "opened")
    app.config["WTF_CSRF_ENABLED"] = True
    add(app, "viewer@platform.example", "viewer", platform)
    staff = app.test_client()
    sign_in(staff, "viewer@platform.example")

    page = html(staff.get(f"/console/funnel?platform={other.id}&mode=live"))  # not theirs
    steps = re.findall(
        r"<strong>([^<]+)</strong> <span>(\d+) · [^<]+</span>.*?(?=<strong>|</ol>)", page, re.S
    )
    reached = {name: int(number) for name, number in steps}
    assert reached == {
        "Link opened": 5,
        "Consented": 3,
        "Front photo": 2,
        "Back photo": 2,  # a passport has none: passed with the front
        "Selfie": 2,  # not asked for
        "Submitted": 2,
        "Verified": 1,
    }
    assert "Sessions created from" in page and ": 6." in page
    assert "<code>consent_declined</code> 1" in page
    assert "<code>blurry</code> 1" in page
    assert "<code>under_supported_age</code> 1" in page
    assert '<rect class="funnel-fill" width="83.33"' in page  # 5 of 6 opened the link
    none = staff.get("/console/funnel?start=2001-01-01&end=2001-01-31").get_data(True)
    assert ": 0." in none


def test_instance_wide_operators_choose_the_platform(app: Flask) -> None:
    platform, other = make_platform(app), make_platform(app, "Other")
    person = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    _walk(app, person, platform, "opened")
    _walk(app, person, other, "created")
    app.config["WTF_CSRF_ENABLED"] = True
    add(app, "viewer@idflow.example", "viewer")
    staff = app.test_client()
    sign_in(staff, "viewer@idflow.example")
    everything = staff.get("/console/funnel").get_data(True)
    assert ": 2." in everything and f'value="{other.id}"' in everything
    assert ": 1." in staff.get(f"/console/funnel?platform={other.id}").get_data(True)
    assert ": 0." in staff.get(f"/console/funnel?platform={other.id}&mode=test").get_data(True)
