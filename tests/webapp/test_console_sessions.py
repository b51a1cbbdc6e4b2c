"""The console's sessions list, a session's page (attempts, photos, report, deliveries), its
actions (cancel, redact, redeliver) and the audit log's filters and CSV export (issue 12)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from bench.servers import postgres_binaries
from tests.support.api import SESSIONS, create, passport_jpeg, processing_session
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.support.webhooks import serve_receiver
from tests.webapp.test_console import _csrf, add, audit_actions, decide, flagged_session, sign_in
from webapp import lifecycle, verification
from webapp.console import audit as audit_pages
from webapp.console import sessions as session_pages
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import Event, VerificationSession
from webapp.platforms import create_platform
from webapp.storage import storage


def _staff(app: Flask, role: str, platform: ApiPlatform | None) -> FlaskClient:
    email = f"{role}@staff.example"
    add(app, email, role, platform)
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def _listed(client: FlaskClient, query: str) -> str:
    page = client.get(f"/console/sessions?{query}")
    assert page.status_code == 200
    return page.get_data(True)


def _set(app: Flask, session_id: str, **values: object) -> None:
    with database(app).sessions() as db:
        db.execute(
            update(VerificationSession).where(VerificationSession.id == session_id).values(values)
        )
        db.commit()


def _fail(app: Flask, session_id: str, code: str) -> None:
    """The session canceled with `code` as its last error, as the flow would leave it."""
    with app.app_context(), database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None
        lifecycle.transition(db, session, "canceled", lifecycle.LastError(code, "Stopped."))
        db.commit()


def test_each_filter_keeps_what_it_asks_for_and_drops_the_rest(app: Flask) -> None:
    with database(app).sessions() as db:
        made = create_platform(db, "Both modes")
    live = ApiPlatform(made.platform.id, made.secret_key)
    test = ApiPlatform(made.platform.id, made.test_secret_key)
    client = app.test_client()
    plain = create(client, live).get_json()["id"]
    referenced = create(client, live, client_reference_id="user-4711").get_json()["id"]
    tested = create(client, test).get_json()["id"]
    failed = create(client, live).get_json()["id"]
    _fail(app, failed, "too_many_attempts")  # shown as Stripe's document_unverified_other
    old = create(client, live).get_json()["id"]
    _set(app, old, created_at=datetime(2020, 1, 5, 12, tzinfo=UTC))
    flagged = flagged_session(app, client, live)
    staff = _staff(app, "viewer", live)
    every = {plain, referenced, tested, failed, old, flagged}

    cases = {
        "status=canceled": {failed},
        "status=processing": {flagged},  # held for its review
        "error=document_unverified_other": {failed},
        "error=consent_declined": set(),
        "mode=test": {tested},
        "mode=live": every - {tested},
        "from=2020-01-01&to=2020-01-31": {old},
        "to=2020-01-05": {old},
        "from=2020-01-06": every - {old},
        "reference=user-4711": {referenced},
        "reference=user-0000": set(),
        f"q={plain}": {plain},
        "flagged=1": {flagged},
    }
    for query, expected in cases.items():
        page = _listed(staff, query)
        assert {found for found in every if found in page} == expected, query
    shown = _listed(staff, "reference=user-4711").split("<tbody>")[1]
    assert referenced in shown and "user-4711" not in shown  # searched, never shown


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "error=not_a_code",
        "mode=sandbox",
        "from=2020-13-45",
        "to=99999-01-01",
        "from=0001-01-01&to=9999-12-31",
        "before=abc",
        "before=99999999999999999999999",
        "flagged=yes",
        "q=" + "x" * 500,
    ],
)
def test_a_bad_filter_value_is_no_filter(app: Flask, platform: ApiPlatform, query: str) -> None:
    client = app.test_client()
    session_id = create(client, platform).get_json()["id"]
    staff = _staff(app, "viewer", platform)
    page = _listed(staff, query)
    assert session_id in page or query.startswith("q=")


def test_filters_survive_paging(
    app: Flask, platform: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link to the next page carries every filter: with pages of two, five referenced
    sessions among others take three pages, and the others never show."""
    monkeypatch.setattr(session_pages, "_PAGE", 2)
    client = app.test_client()
    mine = [create(client, platform, client_reference_id="team-a").get_json()["id"]]
    for _ in range(4):
        create(client, platform, client_reference_id="team-b")
        mine.append(create(client, platform, client_reference_id="team-a").get_json()["id"])
    staff = _staff(app, "viewer", platform)
    seen: list[str] = []
    url: str | None = "/console/sessions?reference=team-a&status=requires_input"
    pages = 0
    while url is not None:
        page = staff.get(url).get_data(True)
        seen += re.findall(r">(vs_[0-9a-f]+)</a>", page)
        found = re.search(r'<a href="([^"]+)">Older sessions</a>', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url is not None:
            assert "reference=team-a" in url and "status=requires_input" in url
        pages += 1
    assert seen == list(reversed(mine)) and pages == 3


def test_a_long_scan_stops_and_goes_on_from_the_next_page(
    app: Flask, platform: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter checked row by row reads a bounded number of rows per page; a rare value is found
    a page or two later, never missed."""
    monkeypatch.setattr(session_pages, "_BATCH", 2)
    monkeypatch.setattr(session_pages, "_SCAN", 2)
    client = app.test_client()
    rare = create(client, platform, client_reference_id="rare").get_json()["id"]
    for _ in range(4):
        create(client, platform)
    staff = _staff(app, "viewer", platform)
    url: str | None = "/console/sessions?reference=rare"
    pages = []
    while url is not None:
        page = staff.get(url).get_data(True)
        pages.append(rare in page)
        found = re.search(r'<a href="([^"]+)">Older sessions</a>', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == [False, False, True]


def _photo_id(app: Flask, staff: FlaskClient, session_id: str) -> str:
    page = staff.get(f"/console/sessions/{session_id}").get_data(True)
    found = re.search(rf"/console/sessions/{session_id}/photos/(file_[0-9a-f]+)/small", page)
    assert found is not None, "no thumbnail on the session page"
    return found.group(1)


def test_reviewer_sees_the_photo_as_uploaded_and_each_view_is_audited(
    app: Flask, platform: ApiPlatform
) -> None:
    client = app.test_client()
    session_id = processing_session(app, client, platform)
    staff = _staff(app, "reviewer", platform)
    file_id = _photo_id(app, staff, session_id)

    full = staff.get(f"/console/sessions/{session_id}/photos/{file_id}")
    assert full.status_code == 200
    assert full.data == passport_jpeg()
    assert full.headers["Content-Type"] == "image/jpeg"
    assert "no-store" in full.headers["Cache-Control"]
    assert full.headers["Content-Disposition"].startswith("inline; filename=")
    assert "img-src 'self'" in full.headers["Content-Security-Policy"]
    small = staff.get(f"/console/sessions/{session_id}/photos/{file_id}/small")
    assert small.status_code == 200 and small.headers["Content-Type"] == "image/jpeg"
    assert "no-store" in small.headers["Cache-Control"]
    image = cv2.imdecode(np.frombuffer(small.data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and max(image.shape[:2]) <= 320
    assert audit_actions(app).count(("photo_viewed", session_id)) == 2
    assert staff.get(f"/console/sessions/{session_id}/photos/file_nothere").status_code == 404
    page = staff.get(f"/console/sessions/{session_id}/photos/{file_id}/view").get_data(True)
    assert f'src="/console/sessions/{session_id}/photos/{file_id}"' in page
    assert audit_actions(app).count(("photo_viewed", session_id)) == 2  # the page is no image


def test_an_upload_that_is_no_image_is_sent_as_a_download(
    app: Flask, platform: ApiPlatform
) -> None:
    """A rejected upload can be anything, HTML too: never rendered by the browser."""
    client = app.test_client()
    session_id = create(client, platform, options={"document": {"allowed_types": ["passport"]}})
    session_id = session_id.get_json()["id"]
    page = b"<html><script>alert(1)</script></html>"
    with app.app_context(), database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None
        verification.give_consent(session)
        verification.choose_document_type(db, session, "passport")
        outcome = verification.save_upload(
            db, storage(app), session, "front", io.BytesIO(page), "image/jpeg", 10
        )
        assert not outcome.accepted
        db.commit()
    staff = _staff(app, "reviewer", platform)
    file_id = re.search(
        r"/photos/(file_[0-9a-f]+)/view",
        staff.get(f"/console/sessions/{session_id}").get_data(True),
    )
    assert file_id is not None
    sent = staff.get(f"/console/sessions/{session_id}/photos/{file_id.group(1)}")
    assert sent.data == page and sent.headers["Content-Type"] == "application/octet-stream"
    assert sent.headers["Content-Disposition"].startswith("attachment; ")
    assert (
        staff.get(f"/console/sessions/{session_id}/photos/{file_id.group(1)}/small").status_code
        == 404
    )


def test_viewer_is_refused_a_photo_and_the_attempt_is_audited(
    app: Flask, platform: ApiPlatform
) -> None:
    client = app.test_client()
    session_id = processing_session(app, client, platform)
    file_id = _photo_id(app, _staff(app, "reviewer", platform), session_id)
    viewer = _staff(app, "viewer", platform)
    page = viewer.get(f"/console/sessions/{session_id}").get_data(True)
    assert "/photos/" not in page and "Attempt 1" in page
    for path in (f"photos/{file_id}", f"photos/{file_id}/small", f"photos/{file_id}/view"):
        assert viewer.get(f"/console/sessions/{session_id}/{path}").status_code == 403
    assert audit_actions(app).count(("photo_refused", session_id)) == 3
    assert ("photo_viewed", session_id) not in audit_actions(app)


def test_another_platforms_photo_is_not_there(app: Flask, platform: ApiPlatform) -> None:
    client = app.test_client()
    session_id = processing_session(app, client, platform)
    file_id = _photo_id(app, _staff(app, "reviewer", platform), session_id)
    with database(app).sessions() as db:
        other = create_platform(db, "Other").platform.id
    add(app, "outsider@staff.example", "admin", ApiPlatform(other, ""))
    outsider = app.test_client()
    sign_in(outsider, "outsider@staff.example")
    assert outsider.get(f"/console/sessions/{session_id}/photos/{file_id}").status_code == 404


def test_the_page_shows_the_report_checks_and_reasons_by_role(
    app: Flask, platform: ApiPlatform
) -> None:
    client = app.test_client()
    session_id = processing_session(app, client, platform, provided_details={"last_name": "Roe"})
    run_pending(app)  # the verdict: the claimed name is not the document's
    expanded = f"{SESSIONS}/{session_id}?expand[]=last_verification_report"
    verdict = client.get(expanded, headers=platform.headers).get_json()
    assert verdict["last_error"]["idflow"]["code"] == "document_name_mismatch"
    number = verdict["last_verification_report"]["document"]["number"]
    assert number
    reviewer = _staff(app, "reviewer", platform).get(f"/console/sessions/{session_id}")
    text = reviewer.get_data(True)
    assert "document_unverified_other (document_name_mismatch)" in text
    assert "Authenticity signals" in text and "screen_recapture" in text
    assert "Submitted" in text and "verdict: requires_input" in text
    reason = verdict["last_error"]["reason"]
    assert reason in text and "What was read" in text and number in text
    assert audit_actions(app).count(("personal_data_viewed", session_id)) == 1
    viewer = _staff(app, "viewer", platform).get(f"/console/sessions/{session_id}")
    shown = viewer.get_data(True)
    assert "document_unverified_other (document_name_mismatch)" in shown
    assert reason not in shown and number not in shown and "What was read" not in shown
    assert "Roe" not in shown and "Roe" not in text  # what the platform claimed stays apart
    assert audit_actions(app).count(("personal_data_viewed", session_id)) == 1


def _post(staff: FlaskClient, session_id: str, action: str, **form: str) -> int:
    token = _csrf(staff.get(f"/console/sessions/{session_id}"))
    url = f"/console/sessions/{session_id}/{action}"
    response = staff.post(url, data={"csrf_token": token, **form})
    if response.status_code == 303:
        assert response.location == f"/console/sessions/{session_id}"
    return response.status_code


def _events(app: Flask, session_id: str) -> list[str]:
    with database(app).sessions() as db:
        found = db.scalars(
            select(Event.type).where(Event.object_id == session_id).order_by(Event.pk)
        )
        return [kind.removeprefix("identity.verification_session.") for kind in found]


def test_cancel_from_the_console_is_the_apis_cancel(app: Flask, platform: ApiPlatform) -> None:
    reconfigure(app, WEBHOOK_ALLOW_PRIVATE=True)
    client = app.test_client()
    with serve_receiver() as receiver:
        endpoint = {"url": receiver.url, "enabled_events": ["*"]}
        assert client.post("/v1/webhook_endpoints", json=endpoint, headers=platform.headers)
        by_api = create(client, platform).get_json()["id"]
        by_console = create(client, platform).get_json()["id"]
        assert (
            client.post(f"{SESSIONS}/{by_api}/cancel", headers=platform.headers).status_code == 200
        )
        viewer = _staff(app, "viewer", platform)
        assert _post(viewer, by_console, "cancel") == 403
        reviewer = _staff(app, "reviewer", platform)
        assert _post(reviewer, by_console, "cancel") == 303
        assert _post(reviewer, by_console, "cancel") == 409  # canceled already
        while run_pending(app):
            pass
        received = [
            (item.event["type"], item.event["data"]["object"]["id"]) for item in receiver.received
        ]
    assert _events(app, by_console) == _events(app, by_api) == ["created", "canceled"]
    assert ("identity.verification_session.canceled", by_console) in received
    api_view = client.get(f"{SESSIONS}/{by_console}", headers=platform.headers).get_json()
    assert api_view["status"] == "canceled" and api_view["last_error"] is None
    actions = audit_actions(app)
    assert ("cancel_refused", by_console) in actions and ("session_canceled", by_console) in actions


def test_only_admins_redact_and_only_when_they_confirm(app: Flask, platform: ApiPlatform) -> None:
    client = app.test_client()
    by_api = processing_session(app, client, platform, client_reference_id="user-1")
    by_console = processing_session(app, client, platform, client_reference_id="user-2")
    run_pending(app)
    file_id = _photo_id(app, _staff(app, "admin", platform), by_console)
    reviewer = _staff(app, "reviewer", platform)
    assert 'name="confirm"' not in reviewer.get(f"/console/sessions/{by_console}").get_data(True)
    assert _post(reviewer, by_console, "redact", confirm="y") == 403
    admin = app.test_client()
    sign_in(admin, "admin@staff.example")
    assert _post(admin, by_console, "redact") == 400  # the box not ticked
    assert _post(admin, by_console, "redact", confirm="y") == 303
    assert client.post(f"{SESSIONS}/{by_api}/redact", headers=platform.headers).status_code == 200
    while run_pending(app):  # the redact_session jobs delete the files, then say redacted
        pass
    assert _events(app, by_console) == _events(app, by_api)
    assert _events(app, by_console)[-1] == "redacted"
    shown = client.get(f"{SESSIONS}/{by_console}", headers=platform.headers).get_json()
    assert shown["redaction"] == {"status": "redacted"} and shown["client_reference_id"] is None
    assert admin.get(f"/console/sessions/{by_console}/photos/{file_id}").status_code == 404
    page = admin.get(f"/console/sessions/{by_console}").get_data(True)
    assert "deleted" in page and 'name="confirm"' not in page
    actions = audit_actions(app)
    assert ("redact_refused", by_console) in actions
    assert ("session_redacted", by_console) in actions


def test_redeliver_sends_the_event_again_as_the_api_does(app: Flask, platform: ApiPlatform) -> None:
    reconfigure(app, WEBHOOK_ALLOW_PRIVATE=True)
    client = app.test_client()
    with serve_receiver() as receiver:
        receiver.plan = ["500"]  # the first delivery fails
        endpoint = {"url": receiver.url, "enabled_events": ["*"]}
        assert client.post("/v1/webhook_endpoints", json=endpoint, headers=platform.headers)
        session_id = create(client, platform).get_json()["id"]
        run_pending(app)
        reviewer = _staff(app, "reviewer", platform)
        page = reviewer.get(f"/console/sessions/{session_id}").get_data(True)
        assert receiver.url.split("?")[0] in page and ">500<" in page
        assert "source=idflow" not in page  # a query string may hold the platform's token
        delivery = re.search(r'name="delivery" type="hidden" value="(\d+)"', page)
        assert delivery is not None
        viewer = _staff(app, "viewer", platform)
        assert _post(viewer, session_id, "redeliver", delivery=delivery.group(1)) == 403
        assert _post(reviewer, session_id, "redeliver", delivery="999999") == 404
        assert _post(reviewer, session_id, "redeliver", delivery=delivery.group(1)) == 303
        run_pending(app)
        ids = [item.event["id"] for item in receiver.received]
    assert len(ids) == 2 and ids[0] == ids[1]
    page = reviewer.get(f"/console/sessions/{session_id}").get_data(True)
    assert "succeeded" in page and ">200<" in page
    actions = audit_actions(app)
    assert ("redeliver_refused", session_id) in actions
    assert ("webhook_redelivered", session_id) in actions


def _audit_page(client: FlaskClient, query: str = "") -> str:
    page = client.get(f"/console/audit?{query}")
    assert page.status_code == 200
    return page.get_data(True)


def test_audit_log_filters_each_way(app: Flask, platform: ApiPlatform) -> None:
    client = app.test_client()
    session_id = flagged_session(app, client, platform)
    reviewer = _staff(app, "reviewer", platform)
    assert decide(reviewer, session_id, "approve", "Same person.").status_code == 303
    admin = _staff(app, "admin", None)
    today = datetime.now(UTC).date().isoformat()
    cases = {
        "operator=REVIEWER@staff.example": ("review_approved", "audit_log_viewed"),
        "operator=nobody@staff.example": ("", "review_approved"),
        "action=review_approved": ("review_approved", ">login<"),
        "action=no_such_action": ("", "review_approved"),
        f"session={session_id}": ("review_approved", ">login<"),
        "session=vs_other": ("", "review_approved"),
        f"from={today}&to={today}": ("review_approved", ""),
        "to=2020-01-01": ("", "review_approved"),
        "from=not-a-date&to=2020-99-99": ("review_approved", ""),
    }
    for query, (present, absent) in cases.items():
        page = _audit_page(admin, query)
        table = page.split("<tbody>")[1] if "<tbody>" in page else ""
        assert present in table, query
        if absent:
            assert absent not in table, query
    assert "reviewer@staff.example" in _audit_page(admin)  # operators by email, for admins


def test_audit_log_pages_keep_their_filters(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_pages, "_PAGE", 2)
    admin = _staff(app, "admin", None)
    for _ in range(4):
        _audit_page(admin, "action=login")
    page = _audit_page(admin, "action=audit_log_viewed")
    older = re.search(r'<a href="([^"]+)">Older entries</a>', page)
    assert older is not None and "action=audit_log_viewed" in older.group(1)
    second = _audit_page(admin, older.group(1).split("?", 1)[1].replace("&amp;", "&"))
    assert second.split("<tbody>")[1].count("audit_log_viewed") == 2


def test_audit_log_exports_as_csv_and_the_export_is_audited(
    app: Flask, platform: ApiPlatform
) -> None:
    client = app.test_client()
    session_id = flagged_session(app, client, platform)
    reviewer = _staff(app, "reviewer", platform)
    note = '=HYPERLINK("http://evil.example") Jane Roe'
    assert decide(reviewer, session_id, "decline", note).status_code == 303
    admin = _staff(app, "admin", None)
    export = admin.get(f"/console/audit.csv?session={session_id}")
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="idflow-audit-\d{8}-\d{6}\.csv"',
        export.headers["Content-Disposition"],
    )
    assert export.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(export.get_data(True))))
    assert [row["action"] for row in rows] == ["review_declined"]
    assert rows[0]["operator_email"] == "reviewer@staff.example"
    assert rows[0]["session_id"] == session_id
    assert rows[0]["note"] == "'" + note  # a spreadsheet shows it, never runs it
    everything = list(csv.DictReader(io.StringIO(admin.get("/console/audit.csv").get_data(True))))
    assert {"login", "review_declined", "audit_log_exported"} <= {
        row["action"] for row in everything
    }
    assert ("audit_log_exported", None) in audit_actions(app)
    assert reviewer.get("/console/audit.csv").status_code == 403


def test_each_submit_is_an_attempt_with_the_photos_taken_for_it(
    app: Flask, platform: ApiPlatform
) -> None:
    """A failed verdict, a retaken front, a second submit: two attempts, each with its photo
    and its verdict."""
    client = app.test_client()
    session_id = processing_session(app, client, platform, provided_details={"last_name": "Roe"})
    run_pending(app)
    with app.app_context(), database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None and session.status == "requires_input"
        image = io.BytesIO(passport_jpeg(8))
        again = verification.save_upload(
            db, storage(app), session, "front", image, "image/jpeg", 10
        )
        assert again.accepted, again.message
        verification.submit(db, session)
        db.commit()
    run_pending(app)
    page = _staff(app, "reviewer", platform).get(f"/console/sessions/{session_id}").get_data(True)
    first, second = page.split("<h3>Attempt 1</h3>")[1].split("<h3>Attempt 2</h3>")
    assert first.count("/small") == 1 and second.split("</section>")[0].count("/small") == 1
    assert "in use" not in page  # each failed verdict asked for its photo again
    assert first.count("verdict: requires_input") == 1 and "verdict: requires_input" in second
    assert "Attempt 3" not in page


@pytest.mark.postgres
@pytest.mark.skipif(
    postgres_binaries() is None, reason="PostgreSQL is not installed (make test installs it)"
)
def test_the_filters_hold_on_postgresql(pg_app: Flask) -> None:
    """Days, JSON flags and sealed references are compared differently there than in SQLite."""
    test_each_filter_keeps_what_it_asks_for_and_drops_the_rest(pg_app)
    test_audit_log_filters_each_way(pg_app, make_platform(pg_app))
