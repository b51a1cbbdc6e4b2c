"""Stripe's shapes where idflow knows more or reads otherwise: `last_error` codes among Stripe's
19 with idflow's precise code beside them, ISO alpha-2 countries with ICAO's beside them, and
addresses as Stripe's object, and Stripe's sex fields."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from processing.mrz.countries import ICAO_CODES, alpha2
from processing.result import to_plain
from processing.verify import ProvidedDetails, VerifyOptions
from tests.support.api import SESSIONS, create
from tests.support.openapi import Checker
from tests.support.platform import ApiPlatform
from tests.webapp.test_steps import known_failure_codes
from webapp import representations, reviews, risk, steps, test_mode, verification
from webapp.db import database
from webapp.lifecycle import transition
from webapp.models import VerificationReport, VerificationSession, new_id

_REPORT_CHECKS = ("document", "selfie", "id_number")


def every_error_code() -> set[str]:
    """Every code the code can leave on a session: the verdicts', the flow's, the cancels'."""
    return (
        known_failure_codes()
        | set(steps.RETRY)
        | set(risk._CODES.values())
        | {verification.TOO_MANY_ATTEMPTS, reviews.DECLINED_CODE}
    )


def test_stripe_has_nineteen_codes() -> None:
    assert len(representations.STRIPE_ERROR_CODES) == 19


@pytest.mark.parametrize("code", sorted(every_error_code()))
def test_every_code_shows_as_one_of_stripes(code: str) -> None:
    shown = representations.error_object(code, "why")
    assert shown["code"] in representations.STRIPE_ERROR_CODES
    assert shown["idflow"] == {"code": code} and shown["reason"] == "why"
    if code in representations.STRIPE_ERROR_CODES:
        assert shown["code"] == code  # Stripe's own codes pass unchanged
    for check in _REPORT_CHECKS:  # in a report, one of the check's own codes
        assert representations.error_object(code, "why", check)["code"].startswith(
            "id_number_" if check == "id_number" else f"{check}_"
        )


def test_idflow_only_codes_map_to_the_nearest() -> None:
    nearest = {
        code: representations.stripe_error_code(code)
        for code in every_error_code() - representations.STRIPE_ERROR_CODES
    }
    assert nearest == {
        "document_name_mismatch": "document_unverified_other",
        "document_dob_mismatch": "document_unverified_other",
        "selfie_face_not_found": "selfie_unverified_other",
        "too_many_attempts": "document_unverified_other",
        "processing_failed": "document_unverified_other",
    }
    assert representations.error_object("country_not_supported", "", "document")["code"] == (
        "document_unverified_other"  # a session code Stripe's document report does not have
    )


def test_session_shows_stripes_code_and_keeps_idflows(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id = create(client, platform).get_json()["id"]
    with database(app).sessions() as db:
        db.execute(
            update(VerificationSession)
            .where(VerificationSession.id == session_id)
            .values(last_error_code="selfie_face_not_found", last_error_reason="No face.")
        )
        db.commit()
    shown = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()
    assert shown["last_error"] == {
        "code": "selfie_unverified_other",
        "reason": "No face.",
        "idflow": {"code": "selfie_face_not_found"},
    }


def test_countries_are_iso_alpha2() -> None:
    assert [alpha2(code) for code in ("D", "D<<", "DEU", "USA", "FRA", "GBD", "RKS")] == [
        *("DE", "DE", "DE", "US", "FR", "GB", "XK")
    ]
    assert [alpha2(code) for code in ("UTO", "XXA", "UNO", "EUE", None)] == [None] * 5
    iso = [code for code in ICAO_CODES if len(code) == 3 and code.isalpha() and alpha2(code)]
    shown = {alpha2(code) for code in iso if code not in ("GBD", "GBN", "GBO", "GBP", "GBS")}
    assert len(shown) == 249 + 1  # ISO's 249, one each, and Kosovo's XK
    assert all(len(code) == 2 and code.isupper() for code in shown if code)


@pytest.fixture
def checker() -> Checker:
    text = (resources.files("webapp.api") / "openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return Checker(document)


def verified_licence(app: Flask, client: FlaskClient, platform: ApiPlatform) -> str:
    """A session with the verdict test mode makes for a US licence (its barcode's address)."""
    session_id: str = create(client, platform).get_json()["id"]
    options = VerifyOptions(allowed_types=("driving_license",))
    verdict = test_mode.simulated_verdict(
        "verified", session_id, "driving_license", options, ProvidedDetails()
    )
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None
        report_id = new_id("vr")
        db.add(
            VerificationReport(
                id=report_id,
                session_id=session_id,
                platform_id=session.platform_id,
                livemode=session.livemode,
                payload=verification.report_payload(session, verdict, report_id),
            )
        )
        session.last_report_id = report_id
        session.verified_outputs = to_plain(verdict.verified_outputs)
        transition(db, session, "processing")
        transition(db, session, "verified")  # only a verified session shows its outputs
        db.commit()
    return session_id


def test_address_is_stripes_object(
    app: Flask, client: FlaskClient, platform: ApiPlatform, checker: Checker
) -> None:
    session_id = verified_licence(app, client, platform)
    path = "/v1/identity/verification_sessions/{id}"
    session = checker.check(
        path, "get", client.get(f"{SESSIONS}/{session_id}", headers=platform.headers)
    )
    address = session["verified_outputs"]["address"]
    assert set(address) == {"line1", "line2", "city", "state", "postal_code", "country"}
    assert address["country"] == "US" and address["line1"].count(",") == 2  # street, city, ST zip
    outputs = session["verified_outputs"]
    assert "issuing_country" not in outputs
    assert outputs["sex"] in ("male", "female") and outputs["unparsed_sex"] in ("M", "F")
    assert outputs["unparsed_place_of_birth"] is outputs["id_number_type"] is None
    url = f"/v1/identity/verification_reports/{session['last_verification_report']}"
    report = checker.check(
        "/v1/identity/verification_reports/{id}", "get", client.get(url, headers=platform.headers)
    )
    assert report["document"]["address"] == address
    assert report["document"]["issuing_country"] == "US"
    assert report["document"]["idflow"] == {"issuing_country": "USA"}
    sexes = ("sex", "unparsed_sex", "unparsed_place_of_birth")
    assert [report["document"][key] for key in sexes] == [outputs[key] for key in sexes]


def test_sex_as_stripe_shows_it() -> None:
    assert representations._sex_fields("X") == {
        "sex": "unknown",
        "unparsed_sex": "X",
        "unparsed_place_of_birth": None,
    }
    assert representations._sex_fields("F")["sex"] == "female"
    assert representations._sex_fields(None)["sex"] is None
