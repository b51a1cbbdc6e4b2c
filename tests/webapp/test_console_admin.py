"""The console's second factor, funnel and admin pages (issue 12)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests.support.flow import blurred_passport, consent, html, passport_photo, send, start
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.webapp.test_console import PASSWORD, _csrf, add, audit_actions, sign_in
from webapp import funnel, sessions
from webapp.cli import main
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import ApiKey, Operator, Platform, UploadedFile, new_id
from webapp.platforms import Caller, create_platform


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


def _staff(app: Flask, email: str, role: str, platform: ApiPlatform | None) -> FlaskClient:
    add(app, email, role, platform)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def _shown_secret(page: TestResponse) -> str:
    found = re.search(r'<code class="console-secret">([^<]+)</code>', page.get_data(True))
    assert found is not None, page.get_data(True)
    return found.group(1)


def test_admin_adds_resets_and_disables_operators(patient: Flask) -> None:
    platform = make_platform(patient)
    admin = _staff(patient, "admin@platform.example", "admin", platform)
    page = f"/console/admin/{platform.id}/operators"
    added = _post(admin, page, email="new@platform.example", role="reviewer")
    assert added.status_code == 200  # the answer shows the one-time password, once
    first = _shown_secret(added)
    assert first not in admin.get(page).get_data(True)
    newcomer = patient.test_client()
    assert sign_in(newcomer, "new@platform.example", first).status_code == 303
    assert newcomer.get("/console/sessions").location == "/console/password"

    operator_id = re.findall(r"/operators/(op_[0-9a-f]+)/password", admin.get(page).get_data(True))
    (new_id,) = [found for found in operator_id if found != _operator_id(patient, "admin")]
    reset = _post(admin, f"{page}/{new_id}/password", page)
    second = _shown_secret(reset)
    assert second != first
    assert newcomer.get("/console/sessions").location.startswith("/console/login")  # ended
    assert sign_in(newcomer, "new@platform.example", first).status_code == 401
    assert sign_in(newcomer, "new@platform.example", second).status_code == 303

    assert _post(admin, f"{page}/{new_id}/disable", page).status_code == 303
    assert newcomer.get("/console/sessions").location.startswith("/console/login")
    assert "disabled" in admin.get(page).get_data(True)
    duplicate = _post(admin, page, email="new@platform.example", role="viewer")
    assert duplicate.status_code == 422 and "exists already" in duplicate.get_data(True)
    mine = _operator_id(patient, "admin")
    assert _post(admin, f"{page}/{mine}/disable", page).status_code == 409
    actions = [action for action, _ in audit_actions(patient)]
    for action in ("operator_added", "password_reset", "operator_disabled"):
        assert action in actions


def _operator_id(app: Flask, role: str) -> str:
    with database(app).sessions() as db:
        found = db.scalar(select(Operator.id).where(Operator.role == role))
        assert found is not None
        return found


def test_admin_manages_webhook_endpoints_as_the_api_sees_them(patient: Flask) -> None:
    platform = make_platform(patient)
    admin = _staff(patient, "admin@platform.example", "admin", platform)
    page = f"/console/admin/{platform.id}/webhooks"
    url = "https://hooks.platform.example/idflow"
    created = _post(
        admin, page, url=url, events="identity.verification_session.verified", mode="live"
    )
    assert created.status_code == 200
    secret = _shown_secret(created)
    assert secret.startswith("whsec_") and secret not in admin.get(page).get_data(True)
    api = patient.test_client()
    (endpoint,) = api.get("/v1/webhook_endpoints", headers=platform.headers).get_json()["data"]
    assert endpoint["url"] == url
    assert endpoint["enabled_events"] == ["identity.verification_session.verified"]

    assert _post(admin, f"{page}/{endpoint['id']}/disable", page).status_code == 303
    shown = api.get(f"/v1/webhook_endpoints/{endpoint['id']}", headers=platform.headers)
    assert shown.get_json()["status"] == "disabled"
    refused = _post(admin, page, url="http://127.0.0.1:9/x", mode="test")
    assert refused.status_code == 422 and "not allowed" in refused.get_data(True)
    assert _post(admin, f"{page}/{endpoint['id']}/delete", page).status_code == 303
    assert api.get("/v1/webhook_endpoints", headers=platform.headers).get_json()["data"] == []
    actions = [action for action, _ in audit_actions(patient)]
    for action in (
        "webhook_endpoint_added",
        "webhook_endpoint_disabled",
        "webhook_endpoint_deleted",
    ):
        assert action in actions


def test_admin_creates_and_revokes_api_keys(patient: Flask) -> None:
    platform = make_platform(patient)
    admin = _staff(patient, "admin@platform.example", "admin", platform)
    page = f"/console/admin/{platform.id}/keys"
    created = _post(admin, page, mode="test")
    secret = _shown_secret(created)
    assert secret.startswith("sk_test_") and secret not in admin.get(page).get_data(True)
    api = patient.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/v1/verification_sessions", headers=headers).status_code == 200
    listed = admin.get(page).get_data(True)
    assert f"<code>{secret[:12]}…</code>" in listed
    with database(patient).sessions() as db:
        found = db.scalar(select(ApiKey.id).where(ApiKey.prefix == secret[:12]))
    assert found is not None and f"/keys/{found}/revoke" in listed
    assert _post(admin, f"{page}/{found}/revoke", page).status_code == 303
    assert api.get("/v1/verification_sessions", headers=headers).status_code == 401
    assert api.get("/v1/verification_sessions", headers=platform.headers).status_code == 200
    actions = [action for action, _ in audit_actions(patient)]
    assert "api_key_created" in actions and "api_key_revoked" in actions


def test_admin_changes_the_brand(patient: Flask) -> None:
    platform = make_platform(patient)
    admin = _staff(patient, "admin@platform.example", "admin", platform)
    page = f"/console/admin/{platform.id}/brand"
    assert _post(admin, page, name="Acme Pay", color="#ffcc00").status_code == 303
    shown = admin.get(page).get_data(True)
    assert "Acme Pay" in shown and "#ffcc00" in shown  # and the darker shade it is shown in
    assert _post(admin, page, color="yellow").status_code == 200  # the form says how
    with database(patient).sessions() as db:
        stored = db.get(Platform, platform.id)
        assert stored is not None and stored.brand_color == "#ffcc00"
    assert ("brand_changed", None) in audit_actions(patient)


def test_instance_wide_admin_chooses_any_platform(patient: Flask) -> None:
    one, two = make_platform(patient, "One"), make_platform(patient, "Two")
    admin = _staff(patient, "root@idflow.example", "admin", None)
    index = admin.get("/console/admin").get_data(True)
    assert one.id in index and two.id in index
    created = _post(admin, f"/console/admin/{two.id}/keys", mode="live")
    assert _shown_secret(created).startswith("sk_live_")
    assert admin.get("/console/admin/plat_missing/keys").status_code == 404
    platform_admin = _staff(patient, "admin@one.example", "admin", one)
    assert platform_admin.get("/console/admin").location == f"/console/admin/{one.id}/operators"


ADMIN_PAGES = ("operators", "webhooks", "keys", "brand")


@pytest.mark.parametrize(
    ("role", "own_platform"),
    [("viewer", True), ("reviewer", True), ("admin", False)],
    ids=["viewer", "reviewer", "another platform's admin"],
)
def test_others_are_refused_and_audited(patient: Flask, role: str, own_platform: bool) -> None:
    platform, other = make_platform(patient), make_platform(patient, "Other")
    add(patient, "admin@platform.example", "admin", platform)
    someone = _staff(patient, "someone@example.org", role, platform if own_platform else other)
    target = _operator_id(patient, "admin") if role != "admin" else None
    token = _csrf(someone.get("/console/sessions"))
    for name in ADMIN_PAGES:
        assert someone.get(f"/console/admin/{platform.id}/{name}").status_code == 403
    posts = [f"/console/admin/{platform.id}/{name}" for name in ADMIN_PAGES] + [
        f"/console/admin/{platform.id}/keys/key_x/revoke",
        f"/console/admin/{platform.id}/webhooks/we_x/delete",
        f"/console/admin/{platform.id}/operators/{target or 'op_x'}/disable",
    ]
    for path in posts:
        answer = someone.post(path, data={"csrf_token": token, "mode": "live", "email": "x@y.z"})
        assert answer.status_code == 403, path
    if role != "admin":
        assert someone.get("/console/admin").status_code == 403
    refused = [action for action, _ in audit_actions(patient) if action == "admin_refused"]
    assert len(refused) >= len(ADMIN_PAGES) + len(posts)
    with database(patient).sessions() as db:
        assert db.scalar(select(Operator.disabled_at).where(Operator.role == "admin")) is None


def test_a_platform_admin_cannot_reach_another_platforms_rows(patient: Flask) -> None:
    mine, other = make_platform(patient), make_platform(patient, "Other")
    add(patient, "admin@other.example", "admin", other)
    theirs = _operator_id(patient, "admin")
    boss = _staff(patient, "boss@mine.example", "admin", mine)
    page = f"/console/admin/{mine.id}/operators"
    assert _post(boss, f"{page}/{theirs}/disable", page).status_code == 404
    assert _post(boss, f"{page}/{theirs}/password", page).status_code == 404


def test_new_pages_keep_to_the_csp_and_the_phone_width(patient: Flask) -> None:
    """Nothing inline the CSP would block, and the viewport the layout sets for phones."""
    platform = make_platform(patient)
    admin = _staff(patient, "admin@platform.example", "admin", platform)
    pages = ["/console/funnel", "/console/two-factor", "/console/admin"] + [
        f"/console/admin/{platform.id}/{name}" for name in ADMIN_PAGES
    ]
    for path in pages:
        page = admin.get(path, follow_redirects=True)
        assert page.status_code == 200, path
        assert 'name="viewport" content="width=device-width' in html(page)


def test_funnel_reads_the_selfie_option_on_every_database(migrating_app: Flask) -> None:
    """Whether a session asks for a selfie is read in SQL (a JSON path), which SQLite and
    PostgreSQL spell differently: a session that asks for one stops there, one that does not
    passes it."""
    now = datetime.now(UTC)
    with migrating_app.app_context(), database(migrating_app).sessions() as db:
        platform = create_platform(db, "Funnel").platform
        for selfie in (True, False):
            request = sessions.parse_create(
                {
                    "type": "document",
                    "options": {
                        "document": {
                            "allowed_types": ["passport"],
                            "require_matching_selfie": selfie,
                        }
                    },
                }
            )
            created = sessions.create(db, Caller(platform.id, True), request, 48)
            created.consented_at, created.document_type = now, "passport"
            upload = UploadedFile(
                id=new_id("file"),
                session_id=created.id,
                step="front",
                storage_key=None,
                content_type="image/jpeg",
                size=1,
                accepted=True,
            )
            upload.check = {"accepted": True, "code": None}
            db.add(upload)
        db.commit()
        counted = funnel.count(db, platform.id, True, now - timedelta(days=1), now + timedelta(1))
    reached = {step.name: step.reached for step in counted.steps}
    assert reached == {
        "opened": 2,
        "consented": 2,
        "front": 2,
        "back": 2,
        "selfie": 1,
        "submitted": 0,
        "verified": 0,
    }


def test_an_admin_removes_a_lost_second_factor(patient: Flask) -> None:
    platform = make_platform(patient)
    reviewer = _staff(patient, "reviewer@platform.example", "reviewer", platform)
    _enrol(reviewer)
    _sign_out(reviewer)
    admin = _staff(patient, "admin@platform.example", "admin", platform)
    page = f"/console/admin/{platform.id}/operators"
    target = _operator_id(patient, "reviewer")
    assert _post(admin, f"{page}/{target}/two-factor", page).status_code == 303
    assert sign_in(reviewer, "reviewer@platform.example").location == "/console/sessions"
    entries = audit_actions(patient)
    assert ("totp_reset", None) in entries and ("totp_enabled", None) in entries


def test_instance_wide_admin_manages_instance_wide_operators(patient: Flask) -> None:
    platform = make_platform(patient)
    root = _staff(patient, "root@idflow.example", "admin", None)
    page = "/console/admin/instance/operators"
    assert page in root.get("/console/admin").get_data(True)
    added = _post(root, page, email="auditor@idflow.example", role="viewer")
    newcomer = patient.test_client()
    assert sign_in(newcomer, "auditor@idflow.example", _shown_secret(added)).status_code == 303
    with database(patient).sessions() as db:
        auditor = db.scalar(select(Operator).where(Operator.role == "viewer"))
        assert auditor is not None and auditor.platform_id is None  # sees every platform
    listed = root.get(page).get_data(True)
    assert "auditor@idflow.example" in listed and "root@idflow.example" in listed
    assert _post(root, f"{page}/{auditor.id}/disable", page).status_code == 303
    assert root.get("/console/admin/instance/keys").status_code == 404  # no such platform
    platform_admin = _staff(patient, "admin@platform.example", "admin", platform)
    assert platform_admin.get(page).status_code == 403
    on_platform = f"/console/admin/{platform.id}/operators"
    assert "auditor@idflow.example" not in root.get(on_platform).get_data(True)
