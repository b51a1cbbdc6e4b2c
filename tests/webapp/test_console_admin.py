"""The console's second factor, funnel and admin pages (issue 12)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.settings import reconfigure
from tests.webapp.test_console import PASSWORD, _csrf, add, audit_actions, sign_in
from webapp.cli import main


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
