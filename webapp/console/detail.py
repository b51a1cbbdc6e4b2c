"""The parts of a session's page beyond its own columns: its attempts with their photos, its
last report (what was read, its checks and signals), and the webhook deliveries of its events.

A viewer gets outcomes and codes only. Reviewers and admins, who decide on them, also get the
reasons and scores and what the report read from the document (names, numbers, dates), which is
personal data: the page that shows it is audited (`Report.read` tells it). Photos load one by
one through `photos`, which audits each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import (
    Event,
    UploadedFile,
    VerificationReport,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from webapp.representations import stripe_error_code

_SUBMITTED = "identity.verification_session.processing"
_CHECKS = ("document", "selfie", "id_number")
# What a report's document check read, in the order a document prints it.
_READ = (
    "type",
    "issuing_country",
    "number",
    "last_name",
    "first_name",
    "dob",
    "sex",
    "issued_date",
    "expiration_date",
    "address",
)


def shown_code(code: str | None) -> str:
    """Stripe's code, with idflow's precise one beside it when they differ."""
    if not code:
        return ""
    stripe = stripe_error_code(code)
    return code if stripe == code else f"{stripe} ({code})"


@dataclass(frozen=True)
class Photo:
    id: str
    step: str  # front, back, selfie, or burst (the live selfie's other frames)
    passed: bool  # the quick check at upload
    code: str | None  # why the quick check refused it
    in_use: bool  # the newest passed photo of its step, the one verified
    stored: bool  # False once redaction or retention deleted the file
    created_at: datetime


@dataclass
class Attempt:
    """The photos taken before one submit, and the status of the verdict on that submit (None:
    not submitted yet, or no verdict yet)."""

    number: int
    submitted_at: datetime | None
    photos: list[Photo] = field(default_factory=list)
    verdict: str | None = None


def attempts(db: Session, session_id: str) -> list[Attempt]:
    """Each submit closes an attempt; photos after the last submit make an open one. A retry
    after a failed verdict keeps the photos before the failed step, so an attempt lists only
    those taken for it."""
    submits = db.scalars(
        select(Event.created_at)
        .where(Event.object_id == session_id, Event.type == _SUBMITTED)
        .order_by(Event.pk)
    ).all()
    found = [Attempt(number, at) for number, at in enumerate(submits, start=1)]
    uploads = db.scalars(
        select(UploadedFile)
        .where(UploadedFile.session_id == session_id)
        .order_by(UploadedFile.created_at, UploadedFile.id)
    )
    for upload in uploads:
        index = sum(1 for at in submits if at < upload.created_at)
        if index == len(found):
            found.append(Attempt(index + 1, None))
        check = upload.check or {}  # a redacted upload's check is emptied
        found[index].photos.append(
            Photo(
                id=upload.id,
                step=upload.step,
                passed=bool(check.get("accepted", upload.accepted)),
                code=check.get("code"),
                in_use=upload.accepted,
                stored=upload.storage_key is not None,
                created_at=upload.created_at,
            )
        )
    reports = db.scalars(
        select(VerificationReport)
        .where(VerificationReport.session_id == session_id)
        .order_by(VerificationReport.created_at)
    )
    for report in reports:
        submitted = [a for a in found if a.submitted_at and a.submitted_at <= report.created_at]
        if submitted:
            submitted[-1].verdict = report.payload.get("status")
    return found


@dataclass(frozen=True)
class Signal:
    name: str
    fired: bool
    waived: bool
    score: float | None
    threshold: float | None
    reason: str | None


@dataclass(frozen=True)
class Check:
    name: str  # document, selfie, id_number
    status: str
    code: str | None
    reason: str | None


@dataclass(frozen=True)
class Report:
    id: str
    status: str | None
    checks: list[Check]
    authenticity: list[Signal]
    similarity: float | None  # the selfie's face match score
    read: list[tuple[str, str]]  # the document's values (personal data), `full` only


def report(db: Session, report_id: str | None, *, full: bool) -> Report | None:
    """The checks of a report and the document's authenticity signals; `full` adds what was read,
    the reasons and the scores (reviewers and admins)."""
    if report_id is None:
        return None
    found = db.get(VerificationReport, report_id)
    if found is None:
        return None
    payload = found.payload
    checks = []
    for name in _CHECKS:
        part = payload.get(name)
        if not isinstance(part, dict):
            continue
        error = part.get("error") or {}
        checks.append(
            Check(
                name,
                str(part.get("status")),
                error.get("code"),
                error.get("reason") if full else None,
            )
        )
    document = payload.get("document") or {}
    signals = [
        Signal(
            name=str(signal.get("name")),
            fired=bool(signal.get("fired")),
            waived=bool(signal.get("waived")),
            score=signal.get("score") if full else None,
            threshold=signal.get("threshold") if full else None,
            reason=signal.get("reason") if full else None,
        )
        for signal in document.get("authenticity") or []
    ]
    selfie = payload.get("selfie") or {}
    read = [(name, str(document[name])) for name in _READ if document.get(name) not in (None, "")]
    return Report(
        found.id,
        payload.get("status"),
        checks,
        signals,
        selfie.get("similarity") if full else None,
        read if full else [],
    )


@dataclass(frozen=True)
class Delivery:
    id: int
    event_type: str
    endpoint_url: str
    endpoint_enabled: bool
    status: str  # pending succeeded failed
    attempts: int
    last_code: int | None  # the receiver's last HTTP status (None: no answer, or no attempt)
    last_error: str | None
    last_at: datetime  # the last attempt, else when the delivery started


def endpoint_shown(url: str) -> str:
    """Where an endpoint is, without what may be a secret: a query string or a password in the
    URL (platforms put tokens there), which only its admins need to see."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def deliveries(db: Session, session_id: str) -> list[Delivery]:
    """Every delivery of the session's events, oldest first, with its last attempt."""
    rows = db.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookDelivery.created_at,
            Event.type,
            WebhookEndpoint.url,
            WebhookEndpoint.status.label("endpoint_status"),
        )
        .join(Event, Event.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(Event.object_id == session_id)
        .order_by(WebhookDelivery.id)
    ).all()
    last: dict[int, Any] = {}
    for attempt in db.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_([row.id for row in rows]))
        .order_by(WebhookAttempt.id)
    ):
        last[attempt.delivery_id] = attempt
    return [
        Delivery(
            id=row.id,
            event_type=row.type,
            endpoint_url=endpoint_shown(row.url),
            endpoint_enabled=row.endpoint_status == "enabled",
            status=row.status,
            attempts=row.attempts,
            last_code=last[row.id].status_code if row.id in last else None,
            last_error=last[row.id].error if row.id in last else None,
            last_at=last[row.id].created_at if row.id in last else row.created_at,
        )
        for row in rows
    ]
