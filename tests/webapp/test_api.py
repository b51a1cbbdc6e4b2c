"""The platform API through the Flask test client: auth, validation, lists, idempotency, isolation,
the session lifecycle and the `idflow platform create` command that hands out keys."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from werkzeug.test import TestResponse

from tests.support.api import SESSIONS, create, hold_key, processing_session
from tests.support.platform import ApiPlatform, make_platform
from webapp import create_app
from webapp.api import idempotency
from webapp.cli import main
from webapp.db import database
from webapp.jobs import run_pending
from webapp.models import Platform, utcnow
from webapp.platforms import issue_key


def error_of(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error: dict[str, Any] = response.get_json()["error"]
    assert (
        {"type", "code", "message", "param"}
        <= set(error)
        <= {
            "type",
            "code",
            "message",
            "param",
            "doc_url",
        }
    )
    assert "Request-Id" in response.headers
    return error


# --- authentication ---------------------------------------------------------------------------


def test_missing_key_is_401_with_challenge(client: FlaskClient) -> None:
    response = client.get(SESSIONS)
    error = error_of(response, 401)
    assert (error["type"], error["code"]) == ("authentication_error", "api_key_missing")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization", ["Bearer", "Bearer   ", "Token sk_live_x", "sk_live_x", "Basic !!!notbase64"]
)
def test_malformed_authorization_is_401(client: FlaskClient, authorization: str) -> None:
    error = error_of(client.get(SESSIONS, headers={"Authorization": authorization}), 401)
    assert error["code"] == "api_key_missing"


def test_wrong_key_is_401(client: FlaskClient, platform: ApiPlatform) -> None:
    wrong = {"Authorization": f"Bearer {platform.secret_key}x"}
    assert error_of(client.get(SESSIONS, headers=wrong), 401)["code"] == "api_key_invalid"


def test_basic_auth_with_key_as_user_name(client: FlaskClient, platform: ApiPlatform) -> None:
    token = base64.b64encode(f"{platform.secret_key}:".encode()).decode()
    response = client.get(SESSIONS, headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200
    empty = base64.b64encode(b":password").decode()
    assert error_of(client.get(SESSIONS, headers={"Authorization": f"Basic {empty}"}), 401)


def test_openapi_needs_no_key(client: FlaskClient) -> None:
    assert client.get("/v1/openapi.json").status_code == 200


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"type": "document", "colour": "blue"}, "colour", "parameter_unknown"),
        ({}, "type", "parameter_missing"),
        ({"type": "selfie"}, "type", "parameter_invalid"),
        ({"type": ["document"]}, "type", "parameter_invalid"),
        ({"type": "document", "options": "x"}, "options", None),
        ({"type": "document", "options": {"selfie": {}}}, "options[selfie]", "parameter_unknown"),
        (
            {"type": "document", "options": {"document": {"allowed_types": ["visa"]}}},
            "options[document][allowed_types]",
            None,
        ),
        (
            {"type": "document", "options": {"document": {"allowed_types": 5}}},
            "options[document][allowed_types]",
            None,
        ),
        (
            {"type": "document", "options": {"document": {"require_matching_selfie": "yes"}}},
            "options[document][require_matching_selfie]",
            None,
        ),
        (
            {"type": "document", "options": {"document": {"max_age": 3}}},
            "options[document][max_age]",
            "parameter_unknown",
        ),
        ({"type": "document", "return_url": "ftp://example.org/x"}, "return_url", None),
        ({"type": "document", "return_url": "/relative/path"}, "return_url", None),
        ({"type": "document", "return_url": 42.5}, "return_url", None),
        ({"type": "document", "return_url": "http://[::1"}, "return_url", None),
        ({"type": "document", "return_url": "http://[zz]/"}, "return_url", None),
        ({"type": "document", "return_url": "http://a.example:99999/x"}, "return_url", None),
        (
            {"type": "document", "return_url": "https://x;script-src-elem 'unsafe-inline';x/"},
            "return_url",
            None,
        ),
        ({"type": "document", "return_url": "https://a b.example/"}, "return_url", None),
        ({"type": "document", "return_url": "https://a.example,b.example/"}, "return_url", None),
        ({"type": "document", "return_url": "https://-a.example/"}, "return_url", None),
        ({"type": "document", "return_url": "https://a..example/"}, "return_url", None),
        ({"type": "document", "return_url": "https://[fe80::1%25eth0]/"}, "return_url", None),
        ({"type": "document", "client_reference_id": "x" * 501}, "client_reference_id", None),
        ({"type": "document", "metadata": {"score": float("nan")}}, "metadata[score]", None),
        ({"type": "document", "metadata": {"score": float("inf")}}, "metadata[score]", None),
        (
            {"type": "document", "provided_details": {"dob": "1987-13-01"}},
            "provided_details[dob]",
            None,
        ),
        (
            {
                "type": "document",
                "provided_details": {"dob": {"day": 31, "month": 2, "year": 1990}},
            },
            "provided_details[dob]",
            None,
        ),
        (
            {
                "type": "document",
                "provided_details": {"dob": {"day": 1.5, "month": 1, "year": 1990}},
            },
            "provided_details[dob]",
            None,
        ),
        (
            {"type": "document", "provided_details": {"dob": {"day": 1, "month": 1}}},
            "provided_details[dob]",
            None,
        ),
        (
            {"type": "document", "provided_details": {"dob": "2999-01-01"}},
            "provided_details[dob]",
            None,
        ),
        ({"type": "document", "provided_details": {"dob": True}}, "provided_details[dob]", None),
        (
            {
                "type": "document",
                "provided_details": {"dob": {"day": 1, "month": 1, "year": 1990, "era": "ce"}},
            },
            "provided_details[dob][era]",
            "parameter_unknown",
        ),
        (
            {"type": "document", "provided_details": {"email": "nobody"}},
            "provided_details[email]",
            None,
        ),
        (
            {"type": "document", "provided_details": {"first_name": "x" * 101}},
            "provided_details[first_name]",
            None,
        ),
        (
            {"type": "document", "provided_details": {"nickname": "Al"}},
            "provided_details[nickname]",
            "parameter_unknown",
        ),
        (
            {"type": "id_number", "options": {"id_number": {"require": True}}},
            "options[id_number][require]",
            "parameter_unknown",
        ),
        ({"type": "document", "metadata": ["a"]}, "metadata", None),
        ({"type": "document", "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", None),
        ({"type": "document", "metadata": {"k" * 41: "v"}}, "metadata", None),
        ({"type": "document", "metadata": {"": "v"}}, "metadata", None),
        ({"type": "document", "metadata": {"order": "v" * 501}}, "metadata[order]", None),
        ({"type": "document", "metadata": {"order": {"nested": "1"}}}, "metadata[order]", None),
        ({"type": "document", "metadata": {"order": None}}, "metadata[order]", None),
    ],
)
def test_invalid_json_parameters_name_the_param(
    client: FlaskClient, platform: ApiPlatform, body: dict[str, Any], param: str, code: str | None
) -> None:
    error = error_of(client.post(SESSIONS, json=body, headers=platform.headers), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == (code or "parameter_invalid")  # never empty on a parameter error


def test_metadata_at_the_limits_is_accepted(client: FlaskClient, platform: ApiPlatform) -> None:
    metadata = {f"{i:0>40}": "v" * 500 for i in range(50)}
    response = create(client, platform, metadata=metadata)
    assert response.status_code == 200
    assert response.get_json()["metadata"] == metadata


def test_form_encoded_bracket_parameters(client: FlaskClient, platform: ApiPlatform) -> None:
    response = client.post(
        SESSIONS,
        data={
            "type": "id_number",
            "options[document][allowed_types][]": ["driving_license", "passport"],
            "options[document][require_matching_selfie]": "true",
            "provided_details[first_name]": "Anna",
            "provided_details[last_name]": "Müller",
            "provided_details[dob][day]": "14",
            "provided_details[dob][month]": "3",
            "provided_details[dob][year]": "1987",
            "provided_details[id_number]": "C01X00T47",
            "metadata[order]": "42",
            "return_url": "https://platform.example/done?x=1",
        },
        headers=platform.headers,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    session = response.get_json()
    assert session["type"] == "id_number"
    assert session["options"]["document"] == {
        "allowed_types": ["passport", "driving_license"],
        "require_id_number": False,
        "require_live_capture": False,
        "require_matching_selfie": True,
    }
    assert session["provided_details"] == {
        "first_name": "Anna",
        "last_name": "Müller",
        "dob": {"day": 14, "month": 3, "year": 1987},
        "id_number": "C01X00T47",
    }
    assert session["metadata"] == {"order": "42"}
    assert session["return_url"] == "https://platform.example/done?x=1"
    assert session["url"].startswith("http://idflow.test/v/")
    assert session["client_secret"].startswith(f"{session['id']}_secret_")


@pytest.mark.parametrize(
    ("form", "param"),
    [
        (
            {"type": "document", "options[document][allowed_types][]": "visa"},
            "options[document][allowed_types]",
        ),
        (
            {"type": "document", "options[document][require_id_number]": "maybe"},
            "options[document][require_id_number]",
        ),
        ({"type": "document", "metadata[a][b]": "1"}, "metadata[a]"),
        ({"type": "document", "options[document": "x"}, "options[document"),
        ({"type": "document", "metadata[a]": "1", "metadata[]": "2"}, "metadata[]"),
        ({"type": "document", "metadata[0][x]": "1"}, "metadata[0][x]"),
        ({"type": "document", "metadata[a][b][c][d][e]": "1"}, "metadata[a][b][c][d][e]"),
        ({"type[]": "document"}, "type"),
        ({"type": "document", "provided_details[dob]": "14.03.1987"}, "provided_details[dob]"),
        ({"type": "document", "colour": "blue"}, "colour"),
    ],
)
def test_invalid_form_parameters_name_the_param(
    client: FlaskClient, platform: ApiPlatform, form: dict[str, str], param: str
) -> None:
    response = client.post(SESSIONS, data=form, headers=platform.headers)
    assert error_of(response, 400)["param"] == param


def test_invalid_json_body(client: FlaskClient, platform: ApiPlatform) -> None:
    response = client.post(
        SESSIONS,
        data='{"type": "document",',
        content_type="application/json",
        headers=platform.headers,
    )
    error = error_of(response, 400)
    assert "JSON" in error["message"] and error["param"] is None


def test_json_array_body(client: FlaskClient, platform: ApiPlatform) -> None:
    response = client.post(SESSIONS, json=[{"type": "document"}], headers=platform.headers)
    assert "object" in error_of(response, 400)["message"]


_ODD_BODIES: list[tuple[str | bytes, str]] = [
    ("[" * 100_000, "application/json"),
    ("{" * 50_000, "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    ("", "application/json"),
    ("null", "application/json"),
    ('"document"', "application/json"),
    ('{"type": "document", "metadata": {"a": NaN}}', "application/json"),
    ('{"type": "document", "provided_details": {"dob": {"day": Infinity}}}', "application/json"),
    (
        '{"type": "document", "provided_details": '
        '{"dob": {"day": Infinity, "month": 1, "year": 1990}}}',
        "application/json",
    ),
    ('{"type": "document", "provided_details": {"dob": {"day": "1e9"}}}', "application/json"),
    ('{"type": "document", "client_reference_id": "\\ud800"}', "application/json"),
    ('{"type": "document", "return_url": "https://a\\udfff.example/"}', "application/json"),
    ('{"type": "document", "metadata": {"\\ud800": "x"}}', "application/json"),
    ('{"type": "document", "client_reference_id": "a\\u0000b"}', "application/json"),
    ("type=document&client_reference_id=a%00b", "application/x-www-form-urlencoded"),
    ("type=document&client_reference_id=%ED%A0%80", "application/x-www-form-urlencoded"),
    ('{"type": 1' + "0" * 5000 + "}", "application/json"),
    ('{"type": "document", "client_reference_id": {"a": 1}}', "application/json"),
    (
        '{"type": "document", "options": {"document": {"allowed_types": [{"a": 1}]}}}',
        "application/json",
    ),
    ("%ff=1&type=%00", "application/x-www-form-urlencoded"),
    ("=&&=x&[]=1", "application/x-www-form-urlencoded"),
    ("type=document&metadata[" + "a" * 10_000 + "]=1", "application/x-www-form-urlencoded"),
    ("type=document", "multipart/form-data"),
    ("--x\r\nbroken", "multipart/form-data; boundary=x"),
    ("type=document", "text/plain"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    ('{"type": "document"}', "application/json; charset=utf-16"),
]


@pytest.mark.parametrize(("body", "content_type"), _ODD_BODIES)
def test_garbage_never_gives_500(
    client: FlaskClient, platform: ApiPlatform, body: str | bytes, content_type: str
) -> None:
    response = client.post(SESSIONS, data=body, content_type=content_type, headers=platform.headers)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    if response.status_code == 400:
        error_of(response, 400)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_fields = st.sampled_from(
    ["type", "options", "provided_details", "return_url", "client_reference_id", "metadata"]
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(_fields, _json, max_size=6)
    | st.fixed_dictionaries(
        {
            "type": st.just("document"),
            "options": st.fixed_dictionaries(
                {"document": st.dictionaries(st.text(max_size=25), _json)}
            ),
            "provided_details": st.dictionaries(
                st.sampled_from(["first_name", "dob", "email", "id_number"]), _json
            ),
        }
    )
)
def test_random_json_is_200_or_400(client: FlaskClient, platform: ApiPlatform, body: Any) -> None:
    response = client.post(
        SESSIONS, data=json.dumps(body), content_type="application/json", headers=platform.headers
    )
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]


# --- lists ------------------------------------------------------------------------------------


def _ids(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [session["id"] for session in response.get_json()["data"]]


def test_pagination(client: FlaskClient, platform: ApiPlatform) -> None:
    created = [create(client, platform).get_json()["id"] for _ in range(5)]
    newest_first = created[::-1]
    headers = platform.headers
    assert _ids(client.get(SESSIONS, headers=headers)) == newest_first

    first = client.get(f"{SESSIONS}?limit=2", headers=headers)
    assert _ids(first) == newest_first[:2] and first.get_json()["has_more"] is True
    assert first.get_json()["url"] == SESSIONS
    second = client.get(f"{SESSIONS}?limit=2&starting_after={newest_first[1]}", headers=headers)
    assert _ids(second) == newest_first[2:4] and second.get_json()["has_more"] is True
    last = client.get(f"{SESSIONS}?limit=2&starting_after={newest_first[3]}", headers=headers)
    assert _ids(last) == newest_first[4:] and last.get_json()["has_more"] is False

    before = client.get(f"{SESSIONS}?limit=2&ending_before={newest_first[4]}", headers=headers)
    assert _ids(before) == newest_first[2:4] and before.get_json()["has_more"] is True
    top = client.get(f"{SESSIONS}?limit=2&ending_before={newest_first[1]}", headers=headers)
    assert _ids(top) == newest_first[:1] and top.get_json()["has_more"] is False

    whole = client.get(f"{SESSIONS}?limit=5", headers=headers)
    assert whole.get_json()["has_more"] is False


def test_status_filter(client: FlaskClient, platform: ApiPlatform) -> None:
    kept, canceled = (create(client, platform).get_json()["id"] for _ in range(2))
    client.post(f"{SESSIONS}/{canceled}/cancel", headers=platform.headers)
    assert _ids(client.get(f"{SESSIONS}?status=canceled", headers=platform.headers)) == [canceled]
    assert _ids(client.get(f"{SESSIONS}?status=requires_input", headers=platform.headers)) == [kept]
    assert _ids(client.get(f"{SESSIONS}?status=verified", headers=platform.headers)) == []
    bad = client.get(f"{SESSIONS}?status=done", headers=platform.headers)
    assert error_of(bad, 400)["param"] == "status"


@pytest.mark.parametrize(
    "limit", ["0", "101", "-1", "abc", "2.5", "", " 5", "\N{SUPERSCRIPT TWO}", "\u0661", "1" * 5000]
)
def test_bad_limit(client: FlaskClient, platform: ApiPlatform, limit: str) -> None:
    response = client.get(SESSIONS, query_string={"limit": limit}, headers=platform.headers)
    assert error_of(response, 400)["param"] == "limit"


def test_limit_bounds_accepted(client: FlaskClient, platform: ApiPlatform) -> None:
    for limit in ("1", "100"):
        assert client.get(f"{SESSIONS}?limit={limit}", headers=platform.headers).status_code == 200


def test_cursors_exclusive_and_real(client: FlaskClient, platform: ApiPlatform) -> None:
    sid = create(client, platform).get_json()["id"]
    both = client.get(
        f"{SESSIONS}?starting_after={sid}&ending_before={sid}", headers=platform.headers
    )
    assert error_of(both, 400)["param"] == "ending_before"
    missing = client.get(f"{SESSIONS}?starting_after=vs_nope", headers=platform.headers)
    assert error_of(missing, 404)["code"] == "resource_missing"


# --- idempotency ------------------------------------------------------------------------------


def test_same_key_same_body_replays(client: FlaskClient, platform: ApiPlatform) -> None:
    headers = {**platform.headers, "Idempotency-Key": "order-42"}
    first = client.post(SESSIONS, json={"type": "document"}, headers=headers)
    again = client.post(SESSIONS, json={"type": "document"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(_ids(client.get(SESSIONS, headers=platform.headers))) == 1


def test_same_key_form_body_replays(client: FlaskClient, platform: ApiPlatform) -> None:
    headers = {**platform.headers, "Idempotency-Key": "form-1"}
    form = {"type": "document", "metadata[order]": "7"}
    first = client.post(SESSIONS, data=form, headers=headers)
    again = client.post(SESSIONS, data=form, headers=headers)
    assert first.status_code == 200 and first.get_json()["metadata"] == {"order": "7"}
    assert again.get_json()["id"] == first.get_json()["id"]


def test_same_key_other_body_conflicts(client: FlaskClient, platform: ApiPlatform) -> None:
    headers = {**platform.headers, "Idempotency-Key": "order-43"}
    client.post(SESSIONS, json={"type": "document"}, headers=headers)
    other = client.post(
        SESSIONS, json={"type": "document", "metadata": {"a": "1"}}, headers=headers
    )
    error = error_of(other, 400)  # Stripe's SDKs raise a 400 idempotency_error as such
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_reused")
    assert other.headers["Stripe-Should-Retry"] == "false"
    elsewhere = client.post(f"{SESSIONS}/vs_x/cancel", headers=headers)
    assert error_of(elsewhere, 400)["type"] == "idempotency_error"


def test_key_still_in_use_is_a_conflict_to_retry(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """While the first request runs, any request with its key gets a 409, which clients retry."""
    hold_key(app, platform, "busy-1")
    busy = client.post(
        SESSIONS,
        json={"type": "id_number"},
        headers={**platform.headers, "Idempotency-Key": "busy-1"},
    )
    error = error_of(busy, 409)
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_in_use")
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/idempotency-key-in-use"
    assert "Stripe-Should-Retry" not in busy.headers


def test_a_key_whose_request_died_with_its_server_is_taken_over(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """A server killed mid-request leaves its key in progress; once no request can still be
    running, a retry with the key runs (before, it answered 409 for a day, until retention)."""
    started = utcnow() - idempotency.STALE_AFTER - timedelta(seconds=1)
    hold_key(app, platform, "died-1", since=started)
    headers = {**platform.headers, "Idempotency-Key": "died-1"}
    retried = client.post(SESSIONS, json={"type": "document"}, headers=headers)
    assert retried.status_code == 200, retried.get_json()
    again = client.post(SESSIONS, json={"type": "document"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == retried.get_json()["id"]


def test_errors_are_replayed_too(client: FlaskClient, platform: ApiPlatform) -> None:
    headers = {**platform.headers, "Idempotency-Key": "bad-1"}
    first = client.post(SESSIONS, json={"type": "selfie"}, headers=headers)
    again = client.post(SESSIONS, json={"type": "selfie"}, headers=headers)
    assert error_of(first, 400) == error_of(again, 400)
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", [" ", "k" * 256])
def test_bad_idempotency_key(client: FlaskClient, platform: ApiPlatform, key: str) -> None:
    headers = {**platform.headers, "Idempotency-Key": key}
    response = client.post(SESSIONS, json={"type": "document"}, headers=headers)
    assert error_of(response, 400)["param"] == "Idempotency-Key"


def test_idempotency_keys_are_per_platform(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    other = make_platform(app, "Other platform")
    mine = client.post(
        SESSIONS, json={"type": "document"}, headers={**platform.headers, "Idempotency-Key": "k"}
    )
    theirs = client.post(
        SESSIONS, json={"type": "document"}, headers={**other.headers, "Idempotency-Key": "k"}
    )
    assert theirs.status_code == 200 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != mine.get_json()["id"]


def test_a_failure_of_ours_frees_the_key_for_a_retry(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """A 500 is not an answer to replay: the retry must run again, not wait for ever."""
    session_id = create(client, platform).get_json()["id"]
    headers = {**platform.headers, "Idempotency-Key": "redact-1"}
    with database(app).engine.begin() as connection:  # a real fault in the middle of the request
        connection.exec_driver_sql("ALTER TABLE verification_reports RENAME TO reports_away")
    with pytest.raises(OperationalError):
        client.post(f"{SESSIONS}/{session_id}/redact", headers=headers)
    with database(app).engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE reports_away RENAME TO verification_reports")
    retried = client.post(f"{SESSIONS}/{session_id}/redact", headers=headers)
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.get_json()["redaction"] == {"status": "processing"}


def test_idempotency_keys_do_not_cross_modes(client: FlaskClient, app: Flask) -> None:
    live, test = make_platform(app), None
    with database(app).sessions() as db:
        platform = db.get(Platform, live.id)
        assert platform is not None
        test = issue_key(db, platform, livemode=False)
        db.commit()
    body = {"type": "document"}
    first = client.post(SESSIONS, json=body, headers={**live.headers, "Idempotency-Key": "same"})
    other = client.post(
        SESSIONS,
        json=body,
        headers={"Authorization": f"Bearer {test}", "Idempotency-Key": "same"},
    )
    assert other.status_code == 200 and "Idempotent-Replayed" not in other.headers
    assert other.get_json()["livemode"] is False
    assert other.get_json()["id"] != first.get_json()["id"]


# --- isolation --------------------------------------------------------------------------------


def test_platforms_cannot_see_each_other(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    other = make_platform(app, "Other platform")
    session_id = processing_session(app, client, platform)
    assert run_pending(app) == 2  # the verdict prepared before Submit, then the job
    report_id = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()[
        "last_verification_report"
    ]
    assert (
        client.get(f"/v1/verification_reports/{report_id}", headers=platform.headers).status_code
        == 200
    )
    theirs = create(client, other).get_json()["id"]

    for url in (f"{SESSIONS}/{session_id}", f"/v1/verification_reports/{report_id}"):
        assert error_of(client.get(url, headers=other.headers), 404)["code"] == "resource_missing"
    for action in ("cancel", "redact"):
        response = client.post(f"{SESSIONS}/{session_id}/{action}", headers=other.headers)
        assert error_of(response, 404)["param"] == "id"
    cursor = client.get(f"{SESSIONS}?starting_after={session_id}", headers=other.headers)
    assert error_of(cursor, 404)
    assert _ids(client.get(SESSIONS, headers=other.headers)) == [theirs]
    assert _ids(client.get(SESSIONS, headers=platform.headers)) == [session_id]
    mine = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()
    assert mine["status"] == "verified", mine["last_error"]


# --- lifecycle --------------------------------------------------------------------------------


def test_cancel(client: FlaskClient, platform: ApiPlatform) -> None:
    session = create(client, platform).get_json()
    assert session["status"] == "requires_input" and session["url"] is not None
    canceled = client.post(f"{SESSIONS}/{session['id']}/cancel", headers=platform.headers)
    assert canceled.status_code == 200
    body = canceled.get_json()
    assert body["status"] == "canceled"
    assert body["url"] is None and body["client_secret"] is None
    again = client.post(f"{SESSIONS}/{session['id']}/cancel", headers=platform.headers)
    assert error_of(again, 400)["code"] == "session_invalid_state"


def test_redact(app: Flask, client: FlaskClient, platform: ApiPlatform) -> None:
    """Stripe's way: the data is gone from the answer at once, `processing` until the job has
    deleted the rest, then `redacted` and the event."""
    session = create(
        client,
        platform,
        provided_details={"first_name": "Anna", "email": "anna@example.org", "dob": "1987-03-14"},
        metadata={"order": "42"},
        client_reference_id="user-1",
    ).get_json()
    assert session["provided_details"]["dob"] == {"day": 14, "month": 3, "year": 1987}
    url = f"{SESSIONS}/{session['id']}/redact"
    redacted = client.post(url, headers=platform.headers)
    assert redacted.status_code == 200
    body = redacted.get_json()
    assert body["redaction"] == {"status": "processing"}
    assert body["provided_details"] == {} and body["metadata"] == {}
    assert body["client_reference_id"] is None
    assert body["status"] == "canceled" and body["url"] is None
    assert client.post(url, headers=platform.headers).get_json() == body
    run_pending(app)
    fetched = client.get(f"{SESSIONS}/{session['id']}", headers=platform.headers).get_json()
    assert fetched == body | {"redaction": {"status": "redacted"}}
    assert client.post(url, headers=platform.headers).get_json() == fetched
    (event,) = client.get(
        "/v1/events?type=identity.verification_session.redacted", headers=platform.headers
    ).get_json()["data"]
    assert event["data"]["object"]["redaction"] == {"status": "redacted"}
    assert event["data"]["previous_attributes"] == {"redaction": {"status": "processing"}}
    assert event["request"] == {"id": None, "idempotency_key": None}  # the job's


def test_processing_session_can_be_neither_canceled_nor_redacted(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id = processing_session(app, client, platform)
    for action in ("cancel", "redact"):
        response = client.post(f"{SESSIONS}/{session_id}/{action}", headers=platform.headers)
        assert error_of(response, 400)["code"] == "session_invalid_state"
    state = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()
    assert state["status"] == "processing" and state["redaction"] is None
    assert run_pending(app) == 2  # the verdict prepared before Submit, then the job
    done = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()
    assert done["status"] == "verified"
    late = client.post(f"{SESSIONS}/{session_id}/cancel", headers=platform.headers)
    assert error_of(late, 400)["code"] == "session_invalid_state"


# --- unknown routes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nothing_here", 404, "resource_missing"),
        ("POST", "/v1/verification_sessions/vs_x/approve", 404, "resource_missing"),
        ("DELETE", SESSIONS, 405, "method_not_allowed"),
        ("PUT", f"{SESSIONS}/vs_x", 405, "method_not_allowed"),
        ("GET", f"{SESSIONS}/vs_x/cancel", 405, "method_not_allowed"),
        ("POST", "/v1/verification_reports/vr_x", 405, "method_not_allowed"),
    ],
)
def test_unknown_routes_answer_in_json(
    client: FlaskClient, platform: ApiPlatform, method: str, path: str, status: int, code: str
) -> None:
    response = client.open(path, method=method, headers=platform.headers)
    assert response.mimetype == "application/json"
    assert error_of(response, status)["code"] == code


# --- command line -----------------------------------------------------------------------------


def test_cli_platform_create_key_authenticates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "cli-data"
    monkeypatch.setenv("IDFLOW_DATA_DIR", str(data_dir))
    for name in ("IDFLOW_DATABASE_URL", "IDFLOW_SECRET_KEY", "IDFLOW_JOB_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["platform", "create", "Acme Rentals", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    created = json.loads(out)
    assert set(created) == {"id", "secret_key", "test_secret_key"}
    assert created["id"].startswith("plat_") and created["secret_key"].startswith("sk_live_")
    assert created["test_secret_key"].startswith("sk_test_")

    app = create_app({"TESTING": True, "JOB_WORKERS": 0})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {created['secret_key']}"}
    response = client.post(SESSIONS, json={"type": "document"}, headers=headers)
    assert response.status_code == 200
    assert _ids(client.get(SESSIONS, headers=headers)) == [response.get_json()["id"]]
    assert main(["platform", "create", "   ", "--json"]) != 0


def test_errors_carry_stripe_codes_doc_urls_and_a_request_id(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    """What Stripe's SDKs read: the code, its page, and the request's id on every answer."""
    unknown = error_of(
        client.post(
            SESSIONS, json={"type": "document", "colour": "blue"}, headers=platform.headers
        ),
        400,
    )
    assert (unknown["code"], unknown["param"]) == ("parameter_unknown", "colour")
    assert unknown["doc_url"] == "https://stripe.com/docs/error-codes/parameter-unknown"
    missing = error_of(client.post(SESSIONS, json={}, headers=platform.headers), 400)
    assert (missing["code"], missing["param"]) == ("parameter_missing", "type")
    nowhere = error_of(client.get("/v1/identity/nothing", headers=platform.headers), 404)
    assert nowhere["doc_url"] == "https://stripe.com/docs/error-codes/resource-missing"
    invalid = error_of(
        client.post(SESSIONS, json={"type": "selfie"}, headers=platform.headers), 400
    )
    assert invalid["code"] == "parameter_invalid" and "doc_url" not in invalid  # idflow's own
    first = client.get(SESSIONS, headers=platform.headers)
    second = client.get(SESSIONS, headers=platform.headers)
    assert first.headers["Request-Id"].startswith("req_")
    assert first.headers["Request-Id"] != second.headers["Request-Id"]
    assert "Request-Id" not in client.get("/health").headers
