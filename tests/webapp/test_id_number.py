"""Stripe's `type=id_number` and `require_id_number`: the hosted flow asks the person for the
number (checked by its kind's rules), compares it with the document, and the report and verified
outputs say which kind it was."""

from __future__ import annotations

import io
import json
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.api import SESSIONS, passport_jpeg
from tests.support.flow import html
from tests.support.openapi import Checker
from tests.support.platform import ApiPlatform
from webapp.db import database
from webapp.jobs import run_pending
from webapp.platforms import create_platform


@pytest.fixture(scope="module")
def checker() -> Checker:
    text = (resources.files("webapp.api") / "openapi.json").read_text(encoding="utf-8")
    return Checker(json.loads(text))


@pytest.fixture
def tester(app: Flask) -> ApiPlatform:
    """A test key, so the verdict can be chosen on the review page."""
    app.config["WTF_CSRF_ENABLED"] = False
    with database(app).sessions() as db:
        created = create_platform(db, "Numbers")
    return ApiPlatform(created.platform.id, created.test_secret_key)


def _to_id_number(client: FlaskClient, platform: ApiPlatform, **body: Any) -> tuple[str, str]:
    params = {"options": {"document": {"allowed_types": ["passport"]}}, **body}
    created = client.post(SESSIONS, json=params, headers=platform.headers)
    assert created.status_code == 200, created.get_json()
    shown = created.get_json()
    link = urlsplit(shown["url"]).path
    assert client.post(f"{link}/consent", data={"accept": "Continue"}).status_code == 303
    photo = {"photo": (io.BytesIO(passport_jpeg(generated=True)), "p.jpg", "image/jpeg")}
    sent = client.post(f"{link}/front", data=photo, content_type="multipart/form-data")
    assert sent.status_code == 303
    assert client.get(link).headers["Location"].endswith(f"{link}/id_number")
    return shown["id"], link


def test_an_id_number_session_needs_no_details_and_asks_the_person(
    app: Flask, client: FlaskClient, tester: ApiPlatform, checker: Checker
) -> None:
    session_id, link = _to_id_number(client, tester, type="id_number")
    page = client.get(f"{link}/id_number")
    assert page.status_code == 200
    text = html(page)
    assert "123.456.789-09" in text and "S1234567D" in text  # each kind's format
    typo = client.post(f"{link}/id_number", data={"id_number_type": "br_cpf", "id_number": "1"})
    assert typo.status_code == 422 and "not a valid number" in html(typo)
    wrong_digit = {"id_number_type": "br_cpf", "id_number": "529.982.247-24"}
    assert client.post(f"{link}/id_number", data=wrong_digit).status_code == 422
    given = {"id_number_type": "br_cpf", "id_number": "529.982.247-25"}
    assert client.post(f"{link}/id_number", data=given).status_code == 303
    assert client.get(link).headers["Location"].endswith(f"{link}/review")
    done = client.post(f"{link}/review", data={"submit": "Submit", "outcome": "verified"})
    assert done.status_code == 303
    run_pending(app)
    session = checker.check(
        "/v1/identity/verification_sessions/{id}",
        "get",
        client.get(
            f"{SESSIONS}/{session_id}?expand[]=last_verification_report", headers=tester.headers
        ),
    )
    assert session["status"] == "verified"
    outputs = session["verified_outputs"]
    assert outputs["id_number"] == "52998224725" and outputs["id_number_type"] == "br_cpf"
    check = session["last_verification_report"]["id_number"]
    assert check["status"] == "verified" and check["id_number_type"] == "br_cpf"
    assert check["id_number"] == "52998224725"
    assert check["first_name"] == outputs["first_name"] and check["dob"] == outputs["dob"]
    assert session["provided_details"] == {}  # the person's number is not the platform's


def test_a_number_the_platform_gave_is_not_asked(client: FlaskClient, tester: ApiPlatform) -> None:
    created = client.post(
        SESSIONS,
        json={
            "type": "document",
            "options": {
                "document": {"allowed_types": ["passport"], "require_id_number": True},
                "id_number": {},
            },
            "provided_details": {"id_number": "X1234567"},
        },
        headers=tester.headers,
    ).get_json()
    assert created["options"]["id_number"] == {}
    link = urlsplit(created["url"]).path
    client.post(f"{link}/consent", data={"accept": "Continue"})
    photo = {"photo": (io.BytesIO(passport_jpeg(generated=True)), "p.jpg", "image/jpeg")}
    client.post(f"{link}/front", data=photo, content_type="multipart/form-data")
    assert client.get(link).headers["Location"].endswith(f"{link}/review")
    assert client.get(f"{link}/id_number").headers["Location"].endswith(f"{link}/review")


def test_a_typed_number_not_on_the_document_is_asked_again(
    app: Flask, client: FlaskClient, tester: ApiPlatform
) -> None:
    """`require_id_number` on a document session: a mismatch may be a typo, so the person is
    sent back to the number, not to another document."""
    options = {"document": {"allowed_types": ["passport"], "require_id_number": True}}
    session_id, link = _to_id_number(client, tester, type="document", options=options)
    typed = {"id_number_type": "other", "id_number": "AB 123 456"}
    assert client.post(f"{link}/id_number", data=typed).status_code == 303
    failed = {"submit": "Submit", "outcome": "id_number_mismatch"}
    assert client.post(f"{link}/review", data=failed).status_code == 303
    run_pending(app)
    shown = client.get(f"{SESSIONS}/{session_id}", headers=tester.headers).get_json()
    assert shown["last_error"]["code"] == "id_number_mismatch"
    assert client.get(link).headers["Location"].endswith(f"{link}/id_number")
    again = client.get(f"{link}/id_number")
    assert again.status_code == 200 and 'role="alert"' in html(again)
