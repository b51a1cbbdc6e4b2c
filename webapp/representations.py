"""The JSON shapes of API objects, each built in one function from its row.

Views, events and the CLI all show an object through here, so the API, a webhook's payload and
what `idflow` prints cannot drift apart. Nothing here queries the database or changes a row:
whatever a shape needs beyond its row (the public base URL, a count) is passed in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from processing.mrz.countries import alpha2
from webapp import risk
from webapp.links import hosted_url, is_link_usable
from webapp.models import Event, VerificationReport, VerificationSession, WebhookEndpoint

# The version of Stripe's API whose shapes idflow serves (stripe-python 16.1's pinned one): every
# event says so, as Stripe's do, whatever version an endpoint or a request asks for.
API_VERSION = "2026-10-28.endive"
_REPORT_DATES = ("dob", "issued_date", "expiration_date")
# Stripe's `sex` of the letter a document prints: ICAO's X (and the MRZ's <) is unspecified.
_SEX = {"M": "male", "F": "female", "X": "unknown"}

# Stripe's `last_error.code`s (stripe-python 16's `VerificationSession.LastError`). idflow keeps
# its own, more precise codes on the row (the flow's steps and the metrics tell them apart) and
# shows each as the nearest of Stripe's, the precise one under `idflow.code`.
STRIPE_ERROR_CODES = frozenset(
    {
        "abandoned",
        "consent_declined",
        "country_not_supported",
        "device_not_supported",
        "document_expired",
        "document_type_not_supported",
        "document_unverified_other",
        "email_unverified_other",
        "email_verification_declined",
        "id_number_insufficient_document_data",
        "id_number_mismatch",
        "id_number_unverified_other",
        "phone_unverified_other",
        "phone_verification_declined",
        "selfie_document_missing_photo",
        "selfie_face_mismatch",
        "selfie_manipulated",
        "selfie_unverified_other",
        "under_supported_age",
    }
)
_NEAREST_STRIPE_CODE = {
    "document_name_mismatch": "document_unverified_other",  # Stripe has no claimed-name check
    "document_dob_mismatch": "document_unverified_other",
    "selfie_face_not_found": "selfie_unverified_other",
    "too_many_attempts": "document_unverified_other",  # canceled after failed photos or verdicts
    "processing_failed": "document_unverified_other",  # the document could not be judged
}
# The codes Stripe's report gives each check; a session code outside them is the check's
# `<check>_unverified_other` (country_not_supported, under_supported_age on the document).
_REPORT_ERROR_CODES = {
    "document": ("document_expired", "document_type_not_supported", "document_unverified_other"),
    "selfie": (
        "selfie_document_missing_photo",
        "selfie_face_mismatch",
        "selfie_manipulated",
        "selfie_unverified_other",
    ),
    "id_number": (
        "id_number_insufficient_document_data",
        "id_number_mismatch",
        "id_number_unverified_other",
    ),
}


def stripe_error_code(code: str) -> str:
    """The nearest of Stripe's session codes; a code neither Stripe's nor in the table (none is
    made today: its test lists them) falls to its check's `_unverified_other`."""
    if code in STRIPE_ERROR_CODES:
        return code
    nearest = _NEAREST_STRIPE_CODE.get(code)
    if nearest is not None:
        return nearest
    check = next((c for c in ("selfie", "id_number") if code.startswith(f"{c}_")), "document")
    return f"{check}_unverified_other"


def codes_shown_as(stripe_code: str) -> frozenset[str]:
    """The codes idflow stores that the API shows as `stripe_code` (itself and its precise ones),
    so a filter by Stripe's code finds every session the API would show with it."""
    precise = {code for code, nearest in _NEAREST_STRIPE_CODE.items() if nearest == stripe_code}
    return frozenset({stripe_code, *precise})


def error_object(code: str, reason: str | None, check: str | None = None) -> dict[str, Any]:
    """An error as Stripe shows it, in a session (`check` None) or a report's check."""
    shown = stripe_error_code(code)
    if check is not None and shown not in _REPORT_ERROR_CODES[check]:
        shown = f"{check}_unverified_other"
    return {"code": shown, "reason": reason, "idflow": {"code": code}}


def verification_session(session: VerificationSession, base_url: str) -> dict[str, Any]:
    """The session as its platform sees it; the link and client secret only while usable."""
    usable = session.status == "requires_input" and is_link_usable(session)
    last_error = (
        error_object(session.last_error_code, session.last_error_reason)
        if session.last_error_code
        else None
    )
    provided = dict(session.provided_details)
    if "dob" in provided:
        provided["dob"] = dob_object(provided["dob"])
    # Only a verified session has them: a verdict held for a review is not published yet.
    outputs = session.verified_outputs if session.status == "verified" else None
    if outputs is not None:
        outputs = _verified_outputs(outputs)
    return {
        "id": session.id,
        "object": "identity.verification_session",
        "client_reference_id": session.client_reference_id,
        "client_secret": f"{session.id}_secret_{session.link_token}" if usable else None,
        "created": int(session.created_at.timestamp()),
        "expires_at": int(session.expires_at.timestamp()),
        "last_error": last_error,
        "last_verification_report": session.last_report_id,
        "livemode": session.livemode,
        "metadata": session.metadata_,
        "options": session.options,
        "provided_details": provided,
        "redaction": {"status": session.redaction_status} if session.redaction_status else None,
        "return_url": session.return_url,
        "status": session.status,
        "type": session.type,
        "url": hosted_url(base_url, session) if usable else None,
        "verified_outputs": outputs,
        "idflow": risk.to_api(session),
    }


def _verified_outputs(stored: dict[str, Any]) -> dict[str, Any]:
    """Stripe's verified outputs from the verdict's: the address an object in the document's
    country (`issuing_country`, kept since the address needs it, is not shown itself)."""
    outputs = {key: value for key, value in stored.items() if key != "issuing_country"}
    outputs["dob"] = dob_object(stored["dob"]) if stored.get("dob") else None
    outputs["address"] = address_object(stored.get("address"), stored.get("issuing_country"))
    # Stripe's fields idflow does not fill: present, so that Stripe's SDKs can read them.
    outputs |= {"email": None, "phone": None, "id_number_type": stored.get("id_number_type")}
    return outputs | _sex_fields(stored.get("sex"))


def _sex_fields(printed: str | None) -> dict[str, str | None]:
    """Stripe's sex fields from the letter read; no document zone idflow reads has a place of
    birth, so `unparsed_place_of_birth` is always null."""
    return {
        "sex": None if printed is None else _SEX.get(printed, "unknown"),
        "unparsed_sex": printed,
        "unparsed_place_of_birth": None,
    }


def address_object(text: str | None, issuing_country: str | None) -> dict[str, Any] | None:
    """Stripe's address from the one line idflow reads (joined from its parts on a licence's
    barcode, as printed elsewhere): all of it in `line1`, and the issuing state's country, where
    a document's printed address lies (ID cards and licences are issued to residents)."""
    if text is None:
        return None
    return {
        "line1": text,
        "line2": None,
        "city": None,
        "state": None,
        "postal_code": None,
        "country": alpha2(issuing_country),
    }


def event_object(session: VerificationSession) -> dict[str, Any]:
    """The session as an event carries it: minus the person's link, since events get logged and
    kept."""
    shown = verification_session(session, "")
    shown["client_secret"] = None
    shown["url"] = None
    return shown


def verification_report(report: VerificationReport) -> dict[str, Any]:
    payload = dict(report.payload)
    for check in _REPORT_ERROR_CODES:
        shown = payload.get(check)
        if isinstance(shown, dict) and isinstance(shown.get("error"), dict):
            error = shown["error"]
            payload[check] = {**shown, "error": error_object(error["code"], error["reason"], check)}
    document = payload.get("document")
    if isinstance(document, dict):
        payload["document"] = _document(document)
    id_number = payload.get("id_number")
    if isinstance(id_number, dict) and isinstance(id_number.get("dob"), str):
        payload["id_number"] = {**id_number, "dob": dob_object(id_number["dob"])}
    return {
        "object": "identity.verification_report",
        "created": int(report.created_at.timestamp()),
        "livemode": report.livemode,
        "idflow": risk.assessment([], risk.DEFAULT_MODE),  # reports made before the signals
        **payload,
        "id": report.id,
        "verification_session": report.session_id,
    }


def _document(document: dict[str, Any]) -> dict[str, Any]:
    """A report's document check as Stripe's: dates as objects, the country as ISO alpha-2 (the
    ICAO code the document prints under `idflow`). A redacted check has none of these."""
    shown = {
        key: dob_object(value) if key in _REPORT_DATES and isinstance(value, str) else value
        for key, value in document.items()
    }
    if "issuing_country" in document:
        icao = document["issuing_country"]
        shown["issuing_country"] = alpha2(icao)
        shown["address"] = address_object(document.get("address"), icao)
        shown["idflow"] = {"issuing_country": icao}
        shown |= _sex_fields(document.get("sex"))
    return shown


def event(row: Event, pending_webhooks: int) -> dict[str, Any]:
    """An event with its count of deliveries still to make (the caller counts, once per page)."""
    return {
        "id": row.id,
        "object": "event",
        "api_version": API_VERSION,
        "created": int(row.created_at.timestamp()),
        "data": row.data,
        "livemode": row.livemode,
        "pending_webhooks": pending_webhooks,
        "request": row.request or {"id": None, "idempotency_key": None},
        "type": row.type,
    }


def webhook_endpoint(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """The secret is shown once, when the endpoint is created."""
    shown: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "api_version": endpoint.api_version,
        "created": int(endpoint.created_at.timestamp()),
        "description": endpoint.description,
        "disabled_at": _unix(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
        "enabled_events": endpoint.enabled_events,
        "failing_since": _unix(endpoint.failing_since),
        "livemode": endpoint.livemode,
        "metadata": endpoint.metadata_,
        "status": endpoint.status,
        "url": endpoint.url,
    }
    if with_secret:
        shown["secret"] = endpoint.secret
    return shown


def dob_object(iso: str) -> dict[str, int]:
    born = date.fromisoformat(iso)
    return {"day": born.day, "month": born.month, "year": born.year}


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())
