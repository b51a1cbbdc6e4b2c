"""The OpenAPI document of `/v1` stays true: valid, complete, and matching real responses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate

from processing.mrz.countries import alpha2
from tests.support.api import hold_key, processing_session
from tests.support.openapi import URI, Checker
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from webapp.api import stripe_path
from webapp.jobs import run_pending

_METHODS = {"get", "post", "put", "patch", "delete"}
_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    text = (resources.files("webapp.api") / "openapi.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _shape(path: str) -> str:
    """`/v1/x/{id}` and Flask's `/v1/x/<session_id>` compare equal."""
    return _PLACEHOLDER.sub("{}", path)


@pytest.fixture
def checker(document: dict[str, Any]) -> Checker:
    return Checker(document)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, item in document["paths"].items():
        for method in item:
            if method in _METHODS:
                yield path, method


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_document_lists_exactly_the_served_routes(app: Flask, document: dict[str, Any]) -> None:
    """Every served rule is documented, the pre-Stripe aliases under the Stripe path they alias."""
    served = {
        (_shape(stripe_path(rule.rule)), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(_shape(path), method) for path, method in _operations(document)}
    assert documented == served


def test_pre_stripe_paths_answer_as_stripe_paths(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    created = client.post(
        "/v1/verification_sessions", json={"type": "document"}, headers=platform.headers
    ).get_json()
    stripe = client.get(
        f"/v1/identity/verification_sessions/{created['id']}", headers=platform.headers
    )
    alias = client.get(f"/v1/verification_sessions/{created['id']}", headers=platform.headers)
    assert stripe.status_code == alias.status_code == 200
    assert stripe.get_json() == alias.get_json()
    listed = client.get("/v1/verification_sessions", headers=platform.headers).get_json()
    assert listed["url"] == "/v1/identity/verification_sessions"


def test_served_document_is_the_file_with_this_server(
    client: FlaskClient, document: dict[str, Any], checker: Checker
) -> None:
    served = checker.check("/v1/openapi.json", "get", client.get("/v1/openapi.json"))
    assert served["servers"] == [{"url": "http://idflow.test"}]
    assert {k: v for k, v in served.items() if k != "servers"} == document


def test_schemas_forbid_drift(document: dict[str, Any], checker: Checker) -> None:
    """A field the API starts emitting without the document knowing fails validation."""
    pointer = "#/components/schemas/VerificationSession"
    validator = Draft202012Validator({"$ref": URI + pointer}, registry=checker.registry)
    assert document["components"]["schemas"]["VerificationSession"]["additionalProperties"] is False
    assert not validator.is_valid({"id": "vs_1", "surprise": True})


def test_request_schema_matches_what_the_server_accepts(
    client: FlaskClient, platform: ApiPlatform, checker: Checker
) -> None:
    pointer = "#/components/schemas/CreateVerificationSession"
    validator = Draft202012Validator({"$ref": URI + pointer}, registry=checker.registry)
    good = {
        "type": "id_number",
        "options": {"document": {"allowed_types": ["passport"], "require_matching_selfie": True}},
        "provided_details": {
            "first_name": "Anna",
            "last_name": "Müller",
            "dob": {"day": 14, "month": 3, "year": 1987},
            "id_number": "C01X00T47",
            "email": "anna@example.org",
        },
        "return_url": "https://platform.example/done",
        "client_reference_id": "user-1",
        "metadata": {"order": "42"},
    }
    assert validator.is_valid(good)
    response = client.post(
        "/v1/identity/verification_sessions", json=good, headers=platform.headers
    )
    assert response.status_code == 200
    bad = {**good, "colour": "blue"}
    assert not validator.is_valid(bad)
    response = client.post("/v1/identity/verification_sessions", json=bad, headers=platform.headers)
    assert response.status_code == 400


def test_every_operation_and_documented_response(
    app: Flask, client: FlaskClient, platform: ApiPlatform, checker: Checker
) -> None:
    headers = platform.headers
    sessions = "/v1/identity/verification_sessions"
    one = "/v1/identity/verification_sessions/{id}"
    cancel = "/v1/identity/verification_sessions/{id}/cancel"
    redact = "/v1/identity/verification_sessions/{id}/redact"
    report = "/v1/identity/verification_reports/{id}"
    nobody = {"Authorization": "Bearer sk_live_nope"}

    created = checker.check(
        sessions,
        "post",
        client.post(
            sessions,
            data={
                "type": "document",
                "options[document][allowed_types][]": ["passport", "id_card"],
                "provided_details[dob][day]": "14",
                "provided_details[dob][month]": "3",
                "provided_details[dob][year]": "1987",
                "provided_details[first_name]": "Anna",
                "metadata[order]": "42",
                "return_url": "https://platform.example/done",
            },
            headers=headers,
        ),
    )
    assert created["provided_details"]["dob"] == {"day": 14, "month": 3, "year": 1987}
    checker.check(sessions, "post", client.post(sessions, json={}, headers=headers))
    checker.check(sessions, "post", client.post(sessions, json={"type": "document"}))
    keyed = {**headers, "Idempotency-Key": "k1"}
    checker.check(sessions, "post", client.post(sessions, json={"type": "document"}, headers=keyed))
    conflict = client.post(sessions, json={"type": "id_number"}, headers=keyed)
    assert checker.check(sessions, "post", conflict)["error"]["type"] == "idempotency_error"
    hold_key(app, platform, "held")  # its first request still running: a 409 for any request
    busy = {**headers, "Idempotency-Key": "held"}
    checker.check(sessions, "post", client.post(sessions, json={"type": "document"}, headers=busy))

    sid = created["id"]
    checker.check(one, "get", client.get(f"{sessions}/{sid}", headers=headers))
    checker.check(one, "get", client.get(f"{sessions}/{sid}", headers=nobody))
    checker.check(one, "get", client.get(f"{sessions}/vs_missing", headers=headers))
    checker.check(one, "get", client.get(f"{sessions}/{sid}?expand[]=nothing", headers=headers))
    change = {"metadata": {"order": ""}, "expand": ["last_verification_report"]}
    updated = checker.check(
        one, "post", client.post(f"{sessions}/{sid}", json=change, headers=headers)
    )
    assert updated["metadata"] == {}
    for who, target, body in (
        (headers, sid, {"colour": "blue"}),
        (nobody, sid, {}),
        (headers, "vs_missing", {}),
        (busy, sid, {}),
    ):
        checker.check(one, "post", client.post(f"{sessions}/{target}", json=body, headers=who))

    listed = checker.check(sessions, "get", client.get(f"{sessions}?limit=1", headers=headers))
    assert listed["has_more"] is True
    checker.check(sessions, "get", client.get(f"{sessions}?limit=0", headers=headers))
    checker.check(sessions, "get", client.get(sessions))
    checker.check(sessions, "get", client.get(f"{sessions}?starting_after=vs_x", headers=headers))

    for path, action in ((cancel, "cancel"), (redact, "redact")):
        url = f"{sessions}/{{}}/{action}"
        checker.check(path, "post", client.post(url.format("vs_missing"), headers=headers))
        checker.check(path, "post", client.post(url.format(sid), headers=nobody))
        key = {**headers, "Idempotency-Key": f"{action}-key"}
        checker.check(path, "post", client.post(url.format(sid), headers=key))
        checker.check(path, "post", client.post(url.format(sid), headers=key, json={"x": 1}))
        checker.check(path, "post", client.post(url.format(sid), headers=busy))
    # Canceled by the first loop, then redacted: canceling again is a state error.
    canceled = checker.check(
        cancel, "post", client.post(f"{sessions}/{sid}/cancel", headers=headers)
    )
    assert canceled["error"]["code"] == "session_invalid_state"
    processing = processing_session(app, client, platform)
    refused = client.post(f"{sessions}/{processing}/redact", headers=headers)
    assert checker.check(redact, "post", refused)["error"]["code"] == "session_invalid_state"
    checker.check(
        report, "get", client.get("/v1/identity/verification_reports/vr_missing", headers=headers)
    )
    checker.check(report, "get", client.get("/v1/identity/verification_reports/vr_missing"))
    run_pending(app)
    done = client.get(f"{sessions}/{processing}", headers=headers).get_json()
    checker.check(
        report,
        "get",
        client.get(
            f"/v1/identity/verification_reports/{done['last_verification_report']}", headers=headers
        ),
    )
    reports = "/v1/identity/verification_reports"
    listed = checker.check(
        reports, "get", client.get(f"{reports}?type=document&created[gte]=0", headers=headers)
    )
    assert [report["id"] for report in listed["data"]] == [done["last_verification_report"]]
    checker.check(reports, "get", client.get(f"{reports}?colour=blue", headers=headers))
    checker.check(reports, "get", client.get(reports, headers=nobody))
    checker.check(reports, "get", client.get(f"{reports}?starting_after=vr_x", headers=headers))
    checker.check("/v1/openapi.json", "get", client.get("/v1/openapi.json"))
    _webhook_operations(client, headers, busy, checker)

    documented = {
        (path, method, status)
        for path, method in _operations(checker.document)
        for status in checker.document["paths"][path][method]["responses"]
        if status != "429"  # test_rate_limited_answer_is_documented_everywhere
    }
    assert checker.seen == documented


def test_rate_limited_answer_is_documented_everywhere(
    app: Flask, client: FlaskClient, platform: ApiPlatform, checker: Checker
) -> None:
    """One request per caller is allowed, then every operation answers a real 429 as the
    document says."""
    reconfigure(app, RATELIMIT_API="1 per hour")
    assert (
        client.get("/v1/identity/verification_sessions", headers=platform.headers).status_code
        == 200
    )
    assert client.get("/v1/openapi.json").status_code == 200  # no key: counted by address
    retry_after = checker.document["components"]["headers"]["RetryAfter"]["schema"]
    for path, method in _operations(checker.document):
        url = path.replace("{id}", "x_1")
        response = client.open(url, method=method.upper(), headers=platform.headers, json={})
        assert response.status_code == 429, f"{method.upper()} {path}"
        body = checker.check(path, method, response)
        assert body["error"]["type"] == "rate_limit_error"
        assert Draft202012Validator(retry_after).is_valid(response.headers["Retry-After"])
        assert 1 <= int(response.headers["Retry-After"]) <= 3600
    shared = {"$ref": "#/components/responses/TooManyRequests"}
    assert all(
        checker.document["paths"][path][method]["responses"]["429"] == shared
        for path, method in _operations(checker.document)
    )
    assert {(path, method) for path, method, status in checker.seen if status == "429"} == set(
        _operations(checker.document)
    )


def _webhook_operations(
    client: FlaskClient, headers: dict[str, str], busy: dict[str, str], checker: Checker
) -> None:
    """Every webhook endpoint and event operation, with each documented status; `busy` holds
    an Idempotency-Key whose first request is still running."""
    endpoints, one = "/v1/webhook_endpoints", "/v1/webhook_endpoints/{id}"
    events, event, redeliver = "/v1/events", "/v1/events/{id}", "/v1/events/{id}/redeliver"
    nobody = {"Authorization": "Bearer sk_live_nope"}
    hook = {"url": "https://platform.example/hooks", "enabled_events": ["*"]}
    created = checker.check(endpoints, "post", client.post(endpoints, json=hook, headers=headers))
    assert created["secret"].startswith("whsec_")
    checker.check(
        endpoints, "post", client.post(endpoints, json={"url": "ftp://x"}, headers=headers)
    )
    checker.check(endpoints, "post", client.post(endpoints, json=hook))
    keyed = {**headers, "Idempotency-Key": "hook-1"}
    checker.check(endpoints, "post", client.post(endpoints, json=hook, headers=keyed))
    other = {**hook, "url": "https://elsewhere.example/"}
    checker.check(endpoints, "post", client.post(endpoints, json=other, headers=keyed))
    checker.check(endpoints, "post", client.post(endpoints, json=hook, headers=busy))
    checker.check(endpoints, "get", client.get(endpoints, headers=headers))
    checker.check(endpoints, "get", client.get(endpoints))
    checker.check(endpoints, "get", client.get(f"{endpoints}?limit=0", headers=headers))
    checker.check(endpoints, "get", client.get(f"{endpoints}?starting_after=we_x", headers=headers))

    url = f"{endpoints}/{created['id']}"
    checker.check(one, "get", client.get(url, headers=headers))
    checker.check(one, "get", client.get(url))
    checker.check(one, "get", client.get(f"{endpoints}/we_missing", headers=headers))
    changed = client.post(url, json={"disabled": True, "description": "ops"}, headers=headers)
    assert checker.check(one, "post", changed)["disabled_reason"] == "disabled_by_platform"
    checker.check(one, "post", client.post(url, json={"disabled": "maybe"}, headers=headers))
    checker.check(one, "post", client.post(url, json={}))
    checker.check(one, "post", client.post(f"{endpoints}/we_missing", json={}, headers=headers))
    key = {**headers, "Idempotency-Key": "hook-2"}
    checker.check(one, "post", client.post(url, json={"disabled": True}, headers=key))
    checker.check(one, "post", client.post(url, json={"disabled": False}, headers=key))
    checker.check(one, "post", client.post(url, json={}, headers=busy))

    listed = checker.check(events, "get", client.get(f"{events}?limit=1", headers=headers))
    assert listed["has_more"] is True
    checker.check(events, "get", client.get(f"{events}?type=charge.succeeded", headers=headers))
    checker.check(events, "get", client.get(events))
    checker.check(events, "get", client.get(f"{events}?ending_before=evt_x", headers=headers))
    event_id = listed["data"][0]["id"]
    checker.check(event, "get", client.get(f"{events}/{event_id}", headers=headers))
    checker.check(event, "get", client.get(f"{events}/{event_id}"))
    checker.check(event, "get", client.get(f"{events}/evt_missing", headers=headers))
    again = f"{events}/{event_id}/redeliver"
    checker.check(redeliver, "post", client.post(again, headers=headers))
    bad = client.post(again, json={"webhook_endpoint": created["id"]}, headers=headers)
    assert checker.check(redeliver, "post", bad)["error"]["code"] == "webhook_endpoint_disabled"
    checker.check(redeliver, "post", client.post(again))
    checker.check(redeliver, "post", client.post(f"{events}/evt_x/redeliver", headers=headers))
    key = {**headers, "Idempotency-Key": "redeliver-1"}
    checker.check(redeliver, "post", client.post(again, headers=key))
    checker.check(redeliver, "post", client.post(again, json={"x": 1}, headers=key))
    checker.check(redeliver, "post", client.post(again, headers=busy))

    checker.check(one, "delete", client.delete(url, headers=nobody))
    checker.check(one, "delete", client.delete(url, headers=headers))
    checker.check(one, "delete", client.delete(url, headers=headers))


def test_report_from_real_processing_matches_schema(
    app: Flask, client: FlaskClient, platform: ApiPlatform, checker: Checker
) -> None:
    session_id = processing_session(app, client, platform)
    processing = client.get(
        f"/v1/identity/verification_sessions/{session_id}", headers=platform.headers
    )
    assert checker.check("/v1/identity/verification_sessions/{id}", "get", processing)[
        "status"
    ] == ("processing")
    assert run_pending(app) == 2  # the verdict prepared before Submit, then the job
    session = checker.check(
        "/v1/identity/verification_sessions/{id}",
        "get",
        client.get(f"/v1/identity/verification_sessions/{session_id}", headers=platform.headers),
    )
    assert session["status"] == "verified", session["last_error"]
    assert session["verified_outputs"]["dob"].keys() == {"day", "month", "year"}
    url = f"/v1/identity/verification_reports/{session['last_verification_report']}"
    report = checker.check(
        "/v1/identity/verification_reports/{id}", "get", client.get(url, headers=platform.headers)
    )
    assert report["verification_session"] == session_id
    assert report["document"]["status"] == "verified"
    assert report["document"]["type"] == "passport"
    assert set(report["document"]["expiration_date"]) == {"day", "month", "year"}
    printed = report["document"]["idflow"]["issuing_country"]
    assert printed and report["document"]["issuing_country"] == alpha2(printed)
    assert report["document"]["unparsed_sex"] in ("M", "F", "X")  # from the MRZ
    assert session["verified_outputs"]["sex"] == report["document"]["sex"]
    assert report["selfie"] is None and report["id_number"] is None

    other = make_platform(app, "Other platform")
    hidden = client.get(url, headers=other.headers)
    assert checker.check("/v1/identity/verification_reports/{id}", "get", hidden)["error"][
        "code"
    ] == ("resource_missing")

    redacted_session = client.post(
        f"/v1/identity/verification_sessions/{session_id}/redact", headers=platform.headers
    )
    assert (
        checker.check("/v1/identity/verification_sessions/{id}/redact", "post", redacted_session)[
            "verified_outputs"
        ]
        is None
    )
    redacted = checker.check(
        "/v1/identity/verification_reports/{id}", "get", client.get(url, headers=platform.headers)
    )
    assert redacted["document"] == {"status": "verified", "error": None}
    assert redacted["status"] == "verified" and redacted["type"] == "document"


def test_failed_verdict_matches_schema(
    app: Flask, client: FlaskClient, platform: ApiPlatform, checker: Checker
) -> None:
    """A claimed name that is not the document's: errors in the session and in the report."""
    details = {"first_name": "Nobody", "last_name": "Elsewhere", "id_number": "X1234567"}
    session_id = processing_session(app, client, platform, provided_details=details)
    assert run_pending(app) == 2  # the verdict prepared before Submit, then the job
    session = checker.check(
        "/v1/identity/verification_sessions/{id}",
        "get",
        client.get(f"/v1/identity/verification_sessions/{session_id}", headers=platform.headers),
    )
    assert session["status"] == "requires_input"
    assert session["last_error"]["code"] == "document_unverified_other"  # Stripe's nearest
    assert session["last_error"]["idflow"] == {"code": "document_name_mismatch"}
    assert session["verified_outputs"] is None and session["url"] is not None
    url = f"/v1/identity/verification_reports/{session['last_verification_report']}"
    report = checker.check(
        "/v1/identity/verification_reports/{id}", "get", client.get(url, headers=platform.headers)
    )
    assert report["status"] == "requires_input"
    assert report["document"]["error"]["code"] == "document_unverified_other"
    assert report["document"]["error"]["idflow"] == {"code": "document_name_mismatch"}
    assert report["id_number"] == {
        "status": "unverified",
        "error": {
            "code": "id_number_mismatch",
            "reason": report["id_number"]["error"]["reason"],
            "idflow": {"code": "id_number_mismatch"},
        },
        "id_number": "X1234567",  # the platform's: its kind is not known
        "id_number_type": None,
        "first_name": None,  # the document's, once it is verified
        "last_name": None,
        "dob": None,
    }
