"""Stripe's operations beyond create and retrieve: update, expand, the report list, and list
filters that filter (Stripe's `created`, `client_reference_id`, `status`, event `types`)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from tests.support.api import SESSIONS, create, processing_session
from tests.support.platform import ApiPlatform
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import UploadedFile, VerificationSession

REPORTS = "/v1/identity/verification_reports"


def _ids(response: TestResponse) -> list[str]:
    body = response.get_json()
    assert "data" in body, body
    return [row["id"] for row in body["data"]]


def _created_at(app: Flask, session_id: str, unix: int) -> None:
    with database(app).sessions() as db:
        db.execute(
            update(VerificationSession)
            .where(VerificationSession.id == session_id)
            .values(created_at=datetime.fromtimestamp(unix, UTC))
        )
        db.commit()


def test_update_while_requires_input(client: FlaskClient, platform: ApiPlatform) -> None:
    made = create(client, platform, metadata={"order": "42", "cart": "7"}).get_json()
    url = f"{SESSIONS}/{made['id']}"
    changed = client.post(
        url,
        data={
            "metadata[order]": "",  # Stripe's way to delete a key
            "metadata[team]": "blue",
            "options[document][require_matching_selfie]": "true",
            "provided_details[email]": "anna@example.org",
        },
        headers=platform.headers,
    )
    assert changed.status_code == 200, changed.get_json()
    shown = changed.get_json()
    assert shown["metadata"] == {"cart": "7", "team": "blue"}
    assert shown["options"]["document"]["require_matching_selfie"] is True
    assert shown["options"]["idflow"] == made["options"]["idflow"]  # a group not given stays
    assert shown["provided_details"] == {"email": "anna@example.org"}
    assert shown["status"] == "requires_input" and shown["url"] == made["url"]
    cleared = client.post(url, data={"metadata": ""}, headers=platform.headers).get_json()
    assert cleared["metadata"] == {}
    # Stripe's id_number needs no details: the hosted flow asks the person for the number.
    retyped = client.post(url, json={"type": "id_number"}, headers=platform.headers)
    assert retyped.status_code == 200 and retyped.get_json()["type"] == "id_number"
    unknown = client.post(url, json={"return_url": "https://x.example/"}, headers=platform.headers)
    assert unknown.get_json()["error"]["code"] == "parameter_unknown"


def test_created_metadata_drops_empty_values(client: FlaskClient, platform: ApiPlatform) -> None:
    made = create(client, platform, metadata={"order": "42", "gone": ""}).get_json()
    assert made["metadata"] == {"order": "42"}


def test_update_refused_once_the_session_moved_on(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id = processing_session(app, client, platform)
    refused = client.post(
        f"{SESSIONS}/{session_id}", json={"metadata": {"a": "1"}}, headers=platform.headers
    )
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "session_invalid_state"


def test_expand_and_report_list_filters(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    first = processing_session(app, client, platform, client_reference_id="user-1")
    second = processing_session(app, client, platform, client_reference_id="user-2")
    run_pending(app)
    shown = client.get(
        f"{SESSIONS}/{first}?expand[]=last_verification_report", headers=platform.headers
    ).get_json()
    report = shown["last_verification_report"]
    assert report["object"] == "identity.verification_report"
    assert report["verification_session"] == first
    plain = client.get(f"{SESSIONS}/{first}", headers=platform.headers).get_json()
    assert plain["last_verification_report"] == report["id"]
    sdk_style = client.get(
        f"{SESSIONS}/{first}?expand[0]=last_verification_report", headers=platform.headers
    )
    assert sdk_style.get_json()["last_verification_report"]["id"] == report["id"]

    both = _ids(client.get(REPORTS, headers=platform.headers))
    assert len(both) == 2 and both[1] == report["id"]  # newest first
    mine = client.get(f"{REPORTS}?client_reference_id=user-1", headers=platform.headers)
    assert _ids(mine) == [report["id"]]
    by_session = client.get(f"{REPORTS}?verification_session={second}", headers=platform.headers)
    assert _ids(by_session) == [both[0]]
    assert _ids(client.get(f"{REPORTS}?type=id_number", headers=platform.headers)) == []
    assert _ids(client.get(f"{REPORTS}?type=document", headers=platform.headers)) == both
    paged = client.get(f"{REPORTS}?limit=1", headers=platform.headers).get_json()
    assert paged["has_more"] is True
    after = client.get(f"{REPORTS}?limit=1&starting_after={both[0]}", headers=platform.headers)
    assert _ids(after) == [both[1]] and after.get_json()["has_more"] is False
    before = client.get(f"{REPORTS}?ending_before={both[1]}", headers=platform.headers)
    assert _ids(before) == [both[0]]
    future = int(datetime.now(UTC).timestamp()) + 3600
    assert _ids(client.get(f"{REPORTS}?created[gt]={future}", headers=platform.headers)) == []


def test_session_list_filters(app: Flask, client: FlaskClient, platform: ApiPlatform) -> None:
    old = create(client, platform, client_reference_id="user-1").get_json()["id"]
    new = create(client, platform, client_reference_id="user-2").get_json()["id"]
    gone = create(client, platform, client_reference_id="user-1").get_json()["id"]
    client.post(f"{SESSIONS}/{gone}/cancel", headers=platform.headers)
    _created_at(app, old, 1_700_000_000)
    _created_at(app, new, 1_800_000_000)
    _created_at(app, gone, 1_800_000_000)

    def listed(query: str) -> list[str]:
        return _ids(client.get(f"{SESSIONS}?{query}", headers=platform.headers))

    assert listed("client_reference_id=user-1") == [gone, old]
    assert listed("client_reference_id=user-1&status=canceled") == [gone]
    assert listed("client_reference_id=user-1&limit=1") == [gone]
    assert listed(f"client_reference_id=user-1&starting_after={gone}") == [old]
    assert listed("created[lt]=1750000000") == [old]
    assert listed("created[gte]=1800000000") == [gone, new]
    assert listed("created[gt]=1700000000&created[lte]=1800000000") == [gone, new]
    assert listed("created=1700000000") == [old]
    assert listed("client_reference_id=nobody") == []
    for query, code in (
        ("colour=blue", "parameter_unknown"),
        ("created[soon]=1", "parameter_unknown"),
        ("created[gt]=yesterday", "parameter_invalid_integer"),
        ("created=1700000000&created[gt]=yesterday", "parameter_invalid"),  # found by fuzzing
        ("status=", "parameter_invalid_empty"),
    ):
        refused = client.get(f"{SESSIONS}?{query}", headers=platform.headers)
        assert refused.status_code == 400, query
        assert refused.get_json()["error"]["code"] == code, query


def test_event_list_filters(client: FlaskClient, platform: ApiPlatform) -> None:
    made = create(client, platform).get_json()["id"]
    client.post(f"{SESSIONS}/{made}/cancel", headers=platform.headers)
    prefix = "identity.verification_session"

    def types(query: str) -> list[str]:
        body = client.get(f"/v1/events?{query}", headers=platform.headers).get_json()
        assert "data" in body, body
        return [event["type"] for event in body["data"]]

    assert types("") == [f"{prefix}.canceled", f"{prefix}.created"]
    assert types(f"type={prefix}.created") == [f"{prefix}.created"]
    assert types(f"type={prefix}.*") == [f"{prefix}.canceled", f"{prefix}.created"]
    assert types(f"types[0]={prefix}.canceled") == [f"{prefix}.canceled"]
    assert types(f"types[]={prefix}.canceled&types[]={prefix}.verified") == [f"{prefix}.canceled"]
    assert types("created[gt]=4000000000") == []
    both = client.get(
        f"/v1/events?type={prefix}.created&types[]={prefix}.canceled", headers=platform.headers
    )
    assert both.get_json()["error"]["code"] == "parameters_exclusive"


def test_a_bad_expand_leaves_the_session_as_it_was(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    made = create(client, platform).get_json()["id"]
    refused = client.post(
        f"{SESSIONS}/{made}/cancel",
        data={"expand[0]": "verified_outputs"},
        headers=platform.headers,
    )
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == "expand"
    shown = client.get(f"{SESSIONS}/{made}", headers=platform.headers).get_json()
    assert shown["status"] == "requires_input"
    canceled = client.post(
        f"{SESSIONS}/{made}/cancel",
        data={"expand[0]": "last_verification_report"},
        headers=platform.headers,
    )
    assert canceled.get_json()["status"] == "canceled"


def test_webhook_endpoint_list_is_paged(client: FlaskClient, platform: ApiPlatform) -> None:
    """Stripe pages it like every list; stripe-python's auto_paging_iter follows `has_more`."""
    made = [
        client.post(
            "/v1/webhook_endpoints",
            json={"url": f"https://platform.example/hooks/{number}", "enabled_events": ["*"]},
            headers=platform.headers,
        ).get_json()["id"]
        for number in range(3)
    ]
    first = client.get("/v1/webhook_endpoints?limit=2", headers=platform.headers).get_json()
    assert [shown["id"] for shown in first["data"]] == [made[2], made[1]] and first["has_more"]
    rest = client.get(
        f"/v1/webhook_endpoints?limit=2&starting_after={made[1]}", headers=platform.headers
    ).get_json()
    assert [shown["id"] for shown in rest["data"]] == [made[0]] and not rest["has_more"]


def test_webhook_endpoint_metadata_and_api_version(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    """Stripe's create takes metadata and api_version; its update deletes a key given empty."""
    made = client.post(
        "/v1/webhook_endpoints",
        data={
            "url": "https://platform.example/hooks",
            "enabled_events[0]": "*",
            "description": "orders",
            "metadata[team]": "risk",
            "metadata[empty]": "",
            "api_version": "2026-10-28.endive",
        },
        headers=platform.headers,
    ).get_json()
    assert made["metadata"] == {"team": "risk"} and made["api_version"] == "2026-10-28.endive"
    assert made["description"] == "orders"
    url = f"/v1/webhook_endpoints/{made['id']}"
    changed = client.post(
        url, data={"metadata[team]": "", "metadata[owner]": "anna"}, headers=platform.headers
    ).get_json()
    assert changed["metadata"] == {"owner": "anna"}
    shown = client.get(url, headers=platform.headers).get_json()
    assert shown["metadata"] == {"owner": "anna"} and shown["api_version"] == "2026-10-28.endive"
    cleared = client.post(url, data={"metadata": ""}, headers=platform.headers).get_json()
    assert cleared["metadata"] == {}
    for body, param in (
        ({"api_version": "latest"}, "api_version"),
        ({"metadata": {"k": ["x"]}}, "metadata[k]"),
    ):
        refused = client.post(
            "/v1/webhook_endpoints",
            json={"url": "https://platform.example/x", "enabled_events": ["*"], **body},
            headers=platform.headers,
        )
        assert refused.status_code == 400 and refused.get_json()["error"]["param"] == param
    # api_version is chosen at creation only, as Stripe's update has no such parameter.
    later = client.post(url, data={"api_version": "2024-06-20"}, headers=platform.headers)
    assert later.get_json()["error"]["code"] == "parameter_unknown"


def test_events_name_their_request_version_and_previous_attributes(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """An API request's events carry its id (the Request-Id answered) and Idempotency-Key; the
    verdict's (a job's) carry none; a change of status says what it was before."""
    created = client.post(
        SESSIONS,
        json={"type": "document"},
        headers={**platform.headers, "Idempotency-Key": "order-42"},
    )
    made = created.get_json()["id"]
    canceled = client.post(f"{SESSIONS}/{made}/cancel", headers=platform.headers)
    processing = processing_session(app, client, platform)
    run_pending(app)
    events = client.get("/v1/events", headers=platform.headers).get_json()["data"]
    by_type = {(e["data"]["object"]["id"], e["type"].rsplit(".", 1)[1]): e for e in events}
    assert {e["api_version"] for e in events} == {"2026-10-28.endive"}
    first = by_type[(made, "created")]
    assert first["request"] == {"id": created.headers["Request-Id"], "idempotency_key": "order-42"}
    assert "previous_attributes" not in first["data"]
    cancel = by_type[(made, "canceled")]
    assert cancel["request"] == {"id": canceled.headers["Request-Id"], "idempotency_key": None}
    assert cancel["data"]["previous_attributes"] == {"status": "requires_input"}
    verdict = next(
        e
        for (session, kind), e in by_type.items()
        if session == processing and kind != "created" and kind != "processing"
    )
    assert verdict["request"] == {"id": None, "idempotency_key": None}  # the verdict job's
    assert verdict["data"]["previous_attributes"]["status"] == "processing"
    submitted = by_type[(processing, "processing")]  # the person's submit: not an API request
    assert submitted["request"] == {"id": None, "idempotency_key": None}


def test_report_names_the_photos_it_judged(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """Stripe's `document.files`: the ids of the uploads judged, which a redaction drops."""
    session_id = processing_session(app, client, platform)
    run_pending(app)
    with database(app).sessions() as db:
        (front,) = db.scalars(select(UploadedFile.id).where(UploadedFile.session_id == session_id))
    shown = client.get(
        f"{SESSIONS}/{session_id}?expand[]=last_verification_report", headers=platform.headers
    ).get_json()
    report = shown["last_verification_report"]
    assert report["document"]["files"] == [front] and front.startswith("file_")
    assert report["selfie"] is None
    client.post(f"{SESSIONS}/{session_id}/redact", headers=platform.headers)
    redacted = client.get(f"{REPORTS}/{report['id']}", headers=platform.headers).get_json()
    assert "files" not in redacted["document"]
