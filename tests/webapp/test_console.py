"""The operator console: sign-in, roles, scoping and the audit log (issue 12)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests.support.api import create
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.support.threads import Paused
from tests.support.webhooks import serve_receiver
from webapp import operators, reviews, risk
from webapp.cli import main
from webapp.db import database
from webapp.jobs import run_pending
from webapp.lifecycle import transition
from webapp.models import AuditEntry, Operator, VerificationSession

PASSWORD = "correct horse battery staple"


def _csrf(page: TestResponse) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    assert found is not None
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    token = _csrf(client.get("/console/login"))
    form = {"email": email, "password": password, "csrf_token": token}
    return client.post("/console/login", data=form)


def add(app: Flask, email: str, role: str, platform: ApiPlatform | None = None) -> None:
    with app.app_context(), database(app).sessions() as db:
        ring = app.extensions["idflow.keyring"]
        operators.add(db, ring, email, role, platform.id if platform else None, PASSWORD)
        db.commit()


def audit_actions(app: Flask) -> list[tuple[str, str | None]]:
    with database(app).sessions() as db:
        entries = db.scalars(select(AuditEntry).order_by(AuditEntry.pk))
        return [(entry.action, entry.session_id) for entry in entries]


def test_logged_out_pages_redirect_to_the_login(app: Flask) -> None:
    client = app.test_client()
    for path in ("/console/", "/console/sessions", "/console/audit", "/console/sessions/vs_x"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.location.startswith("/console/login")
    page = client.get("/console/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_login_page_speaks_the_browser_language(app: Flask) -> None:
    """Staff read the console in their language too; the form's labels are lazy, so they follow
    each request's language rather than the first one's."""
    client = app.test_client()
    page = client.get("/console/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    text = page.get_data(True)
    assert '<html lang="de" dir="ltr">' in text
    assert "<h1>Anmelden</h1>" in text and "Passwort" in text and 'value="Anmelden"' in text
    assert "Sign in" not in text
    assert "<h1>Sign in</h1>" in client.get("/console/login").get_data(True)


def test_operator_added_by_the_command_finds_an_api_session(
    app: Flask, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --password-stdin the command prints a one-time password, which must be changed
    before the console shows anything."""
    platform = make_platform(app)
    client = app.test_client()
    session_id = create(client, platform, client_reference_id="user-4711").get_json()["id"]
    monkeypatch.setenv("IDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("IDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("IDFLOW_SECRET_KEY", app.config["SECRET_KEY"])
    email = "Lead@Platform.example"
    assert main(["operator", "add", email, "--role", "reviewer", "--platform", platform.id]) == 0
    printed = capsys.readouterr().out
    one_time = printed.rsplit(": ", 1)[1].strip()
    assert main(["operator", "list"]) == 0
    assert email in capsys.readouterr().out

    response = sign_in(client, "lead@platform.example", one_time)
    assert response.status_code == 303
    assert client.get("/console/sessions").location == "/console/password"
    token = _csrf(client.get("/console/password"))
    changed = {"current": one_time, "new": PASSWORD, "repeat": PASSWORD, "csrf_token": token}
    assert client.post("/console/password", data=changed).status_code == 303

    listed = client.get("/console/sessions").get_data(True)
    assert session_id in listed
    found = client.get(f"/console/sessions?q={session_id}&status=requires_input&mode=test")
    assert session_id in found.get_data(True)
    assert session_id not in client.get("/console/sessions?status=verified").get_data(True)
    detail = client.get(f"/console/sessions/{session_id}").get_data(True)
    assert "created" in detail and "user-4711" not in detail
    personal = client.get(f"/console/sessions/{session_id}/personal")
    assert personal.status_code == 200 and "user-4711" in personal.get_data(True)
    assert ("personal_data_viewed", session_id) in audit_actions(app)


def test_viewer_sees_no_personal_data_and_the_attempt_is_audited(app: Flask) -> None:
    platform = make_platform(app)
    client = app.test_client()
    session_id = create(client, platform, client_reference_id="user-4711").get_json()["id"]
    add(app, "viewer@platform.example", "viewer", platform)
    assert sign_in(client, "viewer@platform.example").status_code == 303
    detail = client.get(f"/console/sessions/{session_id}")
    assert detail.status_code == 200
    assert "user-4711" not in detail.get_data(True)
    assert f"/console/sessions/{session_id}/personal" not in detail.get_data(True)
    assert client.get(f"/console/sessions/{session_id}/personal").status_code == 403
    assert ("personal_data_refused", session_id) in audit_actions(app)
    assert client.get("/console/audit").status_code == 403


def test_operators_see_only_their_platform(app: Flask) -> None:
    mine, other = make_platform(app, "Mine"), make_platform(app, "Other")
    client = app.test_client()
    theirs = create(client, other).get_json()["id"]
    add(app, "viewer@mine.example", "viewer", mine)
    sign_in(client, "viewer@mine.example")
    assert theirs not in client.get("/console/sessions").get_data(True)
    assert client.get(f"/console/sessions/{theirs}").status_code == 404


def test_admin_reads_the_audit_log_of_logins(app: Flask) -> None:
    add(app, "admin@idflow.example", "admin")
    client = app.test_client()
    assert sign_in(client, "admin@idflow.example", "not the password").status_code == 401
    assert sign_in(client, "nobody@idflow.example").status_code == 401
    assert sign_in(client, "admin@idflow.example").status_code == 303
    page = client.get("/console/audit").get_data(True)
    assert "login_failed" in page and "reason=unknown" in page and "reason=password" in page
    assert "nobody@idflow.example" not in page
    actions = [action for action, _ in audit_actions(app)]
    assert actions == ["login_failed", "login_failed", "login", "audit_log_viewed"]


def test_wrong_passwords_are_rate_limited(app: Flask) -> None:
    add(app, "admin@idflow.example", "admin")
    client = app.test_client()
    codes = [sign_in(client, "admin@idflow.example", "wrong").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert sign_in(client, "admin@idflow.example").status_code == 429


def test_disabled_and_idle_operators_are_signed_out(app: Flask) -> None:
    add(app, "admin@idflow.example", "admin")
    client = app.test_client()
    sign_in(client, "admin@idflow.example")
    assert client.get("/console/sessions").status_code == 200
    with client.session_transaction() as cookie:
        cookie["console_seen"] = int(time.time()) - 31 * 60
    assert client.get("/console/sessions").location.startswith("/console/login")
    sign_in(client, "admin@idflow.example")
    with database(app).sessions() as db:
        operators.disable(db, app.extensions["idflow.keyring"], "admin@idflow.example")
        db.commit()
    assert client.get("/console/sessions").location.startswith("/console/login")
    assert sign_in(client, "admin@idflow.example").status_code == 401


def test_emails_are_stored_encrypted(app: Flask) -> None:
    add(app, "admin@idflow.example", "admin")
    with database(app).engine.connect() as connection:
        stored = connection.execute(select(Operator.__table__)).one()
    assert "admin@idflow.example" not in repr(stored)


def test_sign_out_ends_the_session(app: Flask) -> None:
    add(app, "admin@idflow.example", "admin")
    client = app.test_client()
    sign_in(client, "admin@idflow.example")
    token = _csrf(client.get("/console/sessions"))
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console/sessions").location.startswith("/console/login")


def flagged_session(app: Flask, client: FlaskClient, platform: ApiPlatform) -> str:
    """A session whose passing verdict signals held for review (risk mode `flag`), as the
    verification job leaves it: still `processing`, its outputs kept but not published."""
    session_id: str = held_session(app, create(client, platform).get_json())["id"]
    return session_id


def held_session(app: Flask, created: dict[str, Any]) -> dict[str, Any]:
    with app.app_context(), database(app).sessions() as db:
        session = db.scalar(
            select(VerificationSession).where(VerificationSession.id == created["id"])
        )
        assert session is not None
        transition(db, session, "processing")
        signal = risk.RiskSignal("document_reuse", "Seen under another name.", ("vs_earlier",))
        session.risk = risk.assessment([signal], "flag")
        session.verified_outputs = {"first_name": "JANE", "last_name": "ROE"}
        db.commit()
    return created


def test_the_person_is_told_a_held_verdict_is_being_reviewed(app: Flask) -> None:
    platform = make_platform(app)
    client = app.test_client()
    held = held_session(app, create(client, platform).get_json())
    link = urlsplit(held["url"]).path
    page = client.get(f"{link}/result")
    assert page.status_code == 200 and "being reviewed" in page.get_data(True)
    assert client.get(f"{link}/processing").location.endswith(f"{link}/result")
    assert client.get(f"{link}/status").get_json()["next"].endswith(f"{link}/result")
    shown = client.get(f"/v1/verification_sessions/{held['id']}", headers=platform.headers)
    assert shown.get_json()["status"] == "processing"
    assert shown.get_json()["verified_outputs"] is None  # kept for the approval, not shown


def decide(client: FlaskClient, session_id: str, button: str, note: str) -> TestResponse:
    token = _csrf(client.get(f"/console/sessions/{session_id}"))
    form = {"note": note, button: button.title(), "csrf_token": token}
    return client.post(f"/console/sessions/{session_id}/review", data=form)


def test_a_declined_review_cancels_the_session_and_reaches_the_webhook(app: Flask) -> None:
    reconfigure(app, WEBHOOK_ALLOW_PRIVATE=True)  # the receiver listens on loopback
    platform = make_platform(app)
    client = app.test_client()
    with serve_receiver() as receiver:
        endpoint = {"url": receiver.url, "enabled_events": ["*"]}
        assert client.post("/v1/webhook_endpoints", json=endpoint, headers=platform.headers)
        session_id = flagged_session(app, client, platform)
        run_pending(app)
        add(app, "reviewer@platform.example", "reviewer", platform)
        staff = app.test_client()
        sign_in(staff, "reviewer@platform.example")
        assert session_id in staff.get("/console/reviews").get_data(True)
        note = "The portrait is not the person of vs_earlier's name, Jane Roe."
        assert decide(staff, session_id, "decline", note).status_code == 303
        assert session_id not in staff.get("/console/reviews").get_data(True)
        assert decide(staff, session_id, "approve", note).status_code == 409  # decided already
        while run_pending(app):
            pass
        last = receiver.received[-1].event
    assert last["type"] == "identity.verification_session.canceled"
    assert last["data"]["object"]["id"] == session_id
    assert last["data"]["object"]["last_error"]["code"] == "document_unverified_other"
    shown = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers)
    assert shown.get_json()["status"] == "canceled"
    assert shown.get_json()["idflow"]["review"]["required"] is False
    assert ("review_declined", session_id) in audit_actions(app)
    with database(app).engine.connect() as connection:
        stored = connection.execute(select(AuditEntry.__table__)).all()
    assert "Jane Roe" not in repr(stored)


def test_an_approved_review_publishes_the_verdict_and_viewers_cannot_decide(app: Flask) -> None:
    reconfigure(app, WEBHOOK_ALLOW_PRIVATE=True)  # the receiver listens on loopback
    platform = make_platform(app)
    client = app.test_client()
    with serve_receiver() as receiver:
        endpoint = {"url": receiver.url, "enabled_events": ["*"]}
        assert client.post("/v1/webhook_endpoints", json=endpoint, headers=platform.headers)
        session_id = flagged_session(app, client, platform)
        approve_as_admin_after_a_viewer_tried(app, client, platform, session_id)
        while run_pending(app):
            pass
        last = receiver.received[-1].event
    assert last["type"] == "identity.verification_session.verified"  # as an automatic verdict
    assert last["data"]["object"]["idflow"]["review"]["required"] is False


def approve_as_admin_after_a_viewer_tried(
    app: Flask, client: FlaskClient, platform: ApiPlatform, session_id: str
) -> None:
    add(app, "viewer@platform.example", "viewer", platform)
    add(app, "admin@platform.example", "admin", platform)
    viewer = app.test_client()
    sign_in(viewer, "viewer@platform.example")
    assert 'name="approve"' not in viewer.get(f"/console/sessions/{session_id}").get_data(True)
    token = _csrf(viewer.get("/console/sessions"))
    form = {"note": "fine", "approve": "Approve", "csrf_token": token}
    assert viewer.post(f"/console/sessions/{session_id}/review", data=form).status_code == 403
    admin = app.test_client()
    sign_in(admin, "admin@platform.example")
    assert decide(admin, session_id, "approve", "Same person, new passport.").status_code == 303
    shown = client.get(f"/v1/verification_sessions/{session_id}", headers=platform.headers)
    assert shown.get_json()["status"] == "verified"
    assert shown.get_json()["verified_outputs"]["last_name"] == "ROE"
    assert shown.get_json()["idflow"]["review"]["required"] is False
    actions = audit_actions(app)
    assert ("review_refused", session_id) in actions and ("review_approved", session_id) in actions
    assert "Same person, new passport." in admin.get("/console/audit").get_data(True)


def test_two_reviewers_deciding_at_once_make_one_decision(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One reviewer declines while another approves the same session: the second waits for the
    first and finds it decided (before, both succeeded and the audit log said "approved" on a
    canceled session)."""
    platform = make_platform(app)
    session_id = flagged_session(app, app.test_client(), platform)
    staff = []
    for email in ("first@platform.example", "second@platform.example"):
        add(app, email, "reviewer", platform)
        staff.append(app.test_client())
        sign_in(staff[-1], email)
    tokens = [_csrf(client.get(f"/console/sessions/{session_id}")) for client in staff]
    recording = Paused(monkeypatch, reviews, "audit")
    answers: dict[str, int] = {}

    def review(index: int, button: str) -> None:
        form = {"note": "checked", button: button.title(), "csrf_token": tokens[index]}
        url = f"/console/sessions/{session_id}/review"
        answers[button] = staff[index].post(url, data=form).status_code

    decline = threading.Thread(target=review, args=(0, "decline"))
    decline.start()
    assert recording.arrived.wait(30)  # declined, not yet committed
    approve = threading.Thread(target=review, args=(1, "approve"))
    approve.start()
    time.sleep(0.5)
    recording.release.set()
    decline.join(30)
    approve.join(30)
    assert answers == {"decline": 303, "approve": 409}
    actions = audit_actions(app)
    assert ("review_declined", session_id) in actions
    assert ("review_approved", session_id) not in actions


@pytest.mark.parametrize("cursor", ["99999999999999999999999", "-5", "0"])
def test_an_out_of_range_page_cursor_is_no_cursor(app: Flask, cursor: str) -> None:
    """Found in review: a `before` past 64 bits reached SQL and answered 500."""
    platform = make_platform(app)
    client = app.test_client()
    mine = create(client, platform).get_json()["id"]
    add(app, "viewer@platform.example", "viewer", platform)
    sign_in(client, "viewer@platform.example")
    listed = client.get(f"/console/sessions?before={cursor}")
    assert listed.status_code == 200 and mine in listed.get_data(True)


def test_guessing_the_current_password_is_rate_limited(app: Flask) -> None:
    """Found in review: a stolen console session could guess the operator's real password on
    the change-password page without limit, and keep access after the session ends."""
    add(app, "admin@idflow.example", "admin")
    client = app.test_client()
    sign_in(client, "admin@idflow.example")
    codes = []
    for _ in range(6):
        token = _csrf(client.get("/console/password"))
        guess = {"current": "guess", "new": "x" * 20, "repeat": "x" * 20, "csrf_token": token}
        codes.append(client.post("/console/password", data=guess).status_code)
    assert codes == [200] * 4 + [429] * 2  # one counter with the sign-in: 5 per minute


def test_a_copied_sign_in_ends_with_sign_out_and_with_a_new_password(app: Flask) -> None:
    """Found in review: the console's sign-in lived only in the cookie, so a copy of it kept
    working after the operator signed out or changed the password."""
    add(app, "admin@idflow.example", "admin")
    client, thief = app.test_client(), app.test_client()
    sign_in(client, "admin@idflow.example")
    copied = client.get_cookie("session")
    assert copied is not None
    thief.set_cookie("session", copied.value)
    assert thief.get("/console/sessions").status_code == 200
    token = _csrf(client.get("/console/sessions"))
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert thief.get("/console/sessions").location.startswith("/console/login")

    sign_in(client, "admin@idflow.example")
    thief.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
    token = _csrf(client.get("/console/password"))
    new = {"current": PASSWORD, "new": "y" * 20, "repeat": "y" * 20, "csrf_token": token}
    assert client.post("/console/password", data=new).status_code == 303
    assert thief.get("/console/sessions").location.startswith("/console/login")
    assert client.get("/console/sessions").status_code == 200  # the one who changed it stays
