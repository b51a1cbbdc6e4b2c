"""Verification sessions: creating them from a platform's request, canceling and redacting
them (their API shape is `webapp.representations`').

Their statuses and the moves between them are `webapp.lifecycle`'s; every change of status goes
through its `transition`. Redaction is separate from the status: it wipes the personal data of
a session that is not processing at once, and its job then deletes the images. The API and the
hosted flow both call these functions, so they cannot disagree.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, get_args

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp import lifecycle, metadata, risk
from webapp.db import database, empty_log
from webapp.errors import InvalidRequest, InvalidState, MissingParameter, UnknownParameter
from webapp.jobs import handler, queue
from webapp.links import link_hash
from webapp.models import (
    IdempotencyRecord,
    SessionStatus,
    UploadedFile,
    VerificationReport,
    VerificationSession,
    new_id,
    utcnow,
)
from webapp.paging import Created, ListPage, paginate
from webapp.platforms import Caller
from webapp.storage import storage
from webapp.urls import parse_http_url

DOCUMENT_TYPES = ("passport", "id_card", "driving_license")
SESSION_TYPES = ("document", "id_number")
STATUSES: tuple[SessionStatus, ...] = get_args(SessionStatus)
REDACT = "redact_session"  # the job that finishes a redaction
_NAME_LENGTH = 100
_ID_NUMBER_LENGTH = 40


@dataclass(frozen=True)
class SessionRequest:
    """A validated creation request; `parse_create` builds it or raises `InvalidRequest`."""

    type: str
    options: dict[str, Any]
    provided_details: dict[str, Any]
    return_url: str | None
    client_reference_id: str | None
    metadata: dict[str, str]


def _flag(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidRequest(f"{param} must be true or false.", param=param)


def _mapping(value: Any, param: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{param} must be an object.", param=param)
    return value


def _text(value: Any, param: str, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidRequest(f"{param} must be a string.", param=param)
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidRequest(f"{param} must be at most {limit} characters.", param=param)
    return text or None


def _unknown(given: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in given:
        if key not in known:
            name = f"{prefix}[{key}]" if prefix else key
            raise UnknownParameter(name)


def _document_options(raw: Any) -> dict[str, Any]:
    param = "options[document]"
    given = _mapping(raw, param)
    known = (
        "allowed_types",
        "require_id_number",
        "require_matching_selfie",
        "require_live_capture",
    )
    _unknown(given, known, param)
    allowed = given.get("allowed_types") or list(DOCUMENT_TYPES)
    if isinstance(allowed, str):
        allowed = [allowed]
    if not isinstance(allowed, list) or not allowed:
        raise InvalidRequest(
            "allowed_types must be a list of document types.", param=f"{param}[allowed_types]"
        )
    for kind in allowed:
        if kind not in DOCUMENT_TYPES:
            raise InvalidRequest(
                f"Unknown document type {kind!r}; use {', '.join(DOCUMENT_TYPES)}.",
                param=f"{param}[allowed_types]",
            )
    return {
        "allowed_types": [kind for kind in DOCUMENT_TYPES if kind in allowed],
        "require_id_number": _flag(
            given.get("require_id_number", False), f"{param}[require_id_number]"
        ),
        "require_matching_selfie": _flag(
            given.get("require_matching_selfie", False), f"{param}[require_matching_selfie]"
        ),
        "require_live_capture": _flag(
            given.get("require_live_capture", False), f"{param}[require_live_capture]"
        ),
    }


def _whole(value: Any) -> int:
    """A JSON integer or a form field's digits; 1.5 or true is not a day."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise TypeError(value)


def parse_dob(value: Any, param: str = "provided_details[dob]") -> date | None:
    """Stripe's `{day, month, year}` object, or an ISO date string."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, dict):
            _unknown(value, ("day", "month", "year"), param)
            born = date(*(_whole(value[part]) for part in ("year", "month", "day")))
        elif isinstance(value, str):
            born = date.fromisoformat(value.strip())
        else:
            raise TypeError(value)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # int(Infinity) overflows
        raise InvalidRequest(
            "dob must be a date: {day, month, year} or YYYY-MM-DD.", param=param
        ) from exc
    if born > date.today() or born.year < 1900:
        raise InvalidRequest("dob must be a real date of birth.", param=param)
    return born


def _provided_details(raw: Any) -> dict[str, Any]:
    param = "provided_details"
    given = _mapping(raw, param)
    _unknown(given, ("first_name", "last_name", "dob", "id_number", "email", "phone"), param)
    email = _text(given.get("email"), f"{param}[email]", 320)
    if email is not None and "@" not in email:
        raise InvalidRequest("email must be an email address.", param=f"{param}[email]")
    born = parse_dob(given.get("dob"))
    details = {
        "first_name": _text(given.get("first_name"), f"{param}[first_name]", _NAME_LENGTH),
        "last_name": _text(given.get("last_name"), f"{param}[last_name]", _NAME_LENGTH),
        "dob": born.isoformat() if born else None,
        "id_number": _text(given.get("id_number"), f"{param}[id_number]", _ID_NUMBER_LENGTH),
        "email": email,
        "phone": _text(given.get("phone"), f"{param}[phone]", 40),
    }
    return {key: value for key, value in details.items() if value is not None}


def _return_url(value: Any) -> str | None:
    url = _text(value, "return_url", 2000)
    if url is None:
        return None
    parse_http_url(url, "return_url")
    return url


def _type(kind: Any) -> str:
    if kind not in SESSION_TYPES:
        raise InvalidRequest(
            f"type must be one of {', '.join(SESSION_TYPES)}.",
            code="parameter_invalid_empty" if kind == "" else "parameter_invalid",
            param="type",
        )
    return str(kind)


def _id_number_options(raw: Any) -> dict[str, Any]:
    """Stripe's `options[id_number]` has no settings: the hosted flow asks the person for the
    number whenever the session needs one the platform did not give."""
    _unknown(_mapping(raw, "options[id_number]"), (), "options[id_number]")
    return {}


def _options(raw: Any) -> dict[str, Any]:
    """The option groups given (`document`, `id_number`, `idflow`), each parsed whole with its
    defaults."""
    given = _mapping(raw, "options")
    _unknown(given, ("document", "id_number", "idflow"), "options")
    parsers = {
        "document": _document_options,
        "id_number": _id_number_options,
        "idflow": risk.parse_options,
    }
    return {group: parse(given[group]) for group, parse in parsers.items() if group in given}


def parse_create(params: dict[str, Any]) -> SessionRequest:
    known = ("type", "options", "provided_details", "return_url", "client_reference_id", "metadata")
    _unknown(params, known, "")
    if params.get("type") is None:
        raise MissingParameter("Missing required param: type.", param="type")
    kind = _type(params["type"])
    options = _options(params.get("options"))
    provided = _provided_details(params.get("provided_details"))
    return SessionRequest(
        type=kind,
        options={
            "document": options.get("document") or _document_options(None),
            "idflow": options.get("idflow") or risk.parse_options(None),
        }
        | ({"id_number": {}} if "id_number" in options else {}),
        provided_details=provided,
        return_url=_return_url(params.get("return_url")),
        client_reference_id=_text(params.get("client_reference_id"), "client_reference_id", 500),
        metadata=metadata.created(params.get("metadata")),
    )


@dataclass(frozen=True)
class SessionUpdate:
    """What an update request changes; None leaves a field as it is. `metadata` is the parameter
    as given, applied by `webapp.metadata.updated` (parsed already, so it is valid)."""

    type: str | None
    options: dict[str, Any]
    provided_details: dict[str, Any] | None
    metadata: Any


def _checked_metadata(raw: Any) -> Any:
    """The update's `metadata` as given, once it is known to be valid."""
    metadata.parse(raw)
    return raw


def parse_update(params: dict[str, Any]) -> SessionUpdate:
    _unknown(params, ("type", "options", "provided_details", "metadata"), "")
    return SessionUpdate(
        type=_type(params["type"]) if "type" in params else None,
        options=_options(params.get("options")),
        provided_details=(
            _provided_details(params["provided_details"]) if "provided_details" in params else None
        ),
        metadata=_checked_metadata(params.get("metadata")),
    )


def change(db: Session, session: VerificationSession, changes: SessionUpdate) -> None:
    """Stripe's update: only while the session waits for the person (held meanwhile, so a
    submit cannot slip between the check and the change); its status stays as it is."""
    hold(db, session)
    if session.status != "requires_input" or session.redacted_at is not None:
        raise InvalidState(
            f"Only a session that requires input can be updated; this one is {session.status}."
        )
    kind = changes.type or session.type
    provided = (
        session.provided_details if changes.provided_details is None else changes.provided_details
    )
    updated_metadata = metadata.updated(session.metadata_, changes.metadata)
    session.type = kind
    session.options = {**session.options, **changes.options}
    session.provided_details = provided
    session.metadata_ = updated_metadata


def create(
    db: Session, caller: Caller, request: SessionRequest, ttl_hours: int
) -> VerificationSession:
    token = secrets.token_urlsafe(32)
    session = VerificationSession(
        id=new_id("vs"),
        platform_id=caller.platform_id,
        livemode=caller.livemode,
        type=request.type,
        options=request.options,
        provided_details=request.provided_details,
        return_url=request.return_url,
        client_reference_id=request.client_reference_id,
        metadata_=request.metadata,
        link_token_hash=link_hash(db, token),
        link_token=token,
        expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    db.add(session)
    lifecycle.transition(db, session, "requires_input")
    return session


def get(db: Session, caller: Caller, session_id: str) -> VerificationSession:
    """Another platform's session (or the other mode's) is simply not there."""
    return caller.get(db, VerificationSession, session_id, "verification session")


@dataclass(frozen=True)
class SessionFilter:
    """A session list's filters (None: any)."""

    status: str | None = None
    created: Created = field(default_factory=Created)
    client_reference_id: str | None = None


def page(
    db: Session, caller: Caller, list_page: ListPage, wanted: SessionFilter
) -> tuple[list[VerificationSession], bool]:
    if wanted.status is not None and wanted.status not in STATUSES:
        raise InvalidRequest(
            f"status must be one of {', '.join(STATUSES)}.",
            code="parameter_invalid_empty" if wanted.status == "" else None,
            param="status",
        )
    query = select(VerificationSession).where(
        caller.owns(VerificationSession), *wanted.created.where(VerificationSession.created_at)
    )
    if wanted.status is not None:
        query = query.where(VerificationSession.status == wanted.status)
    reference = wanted.client_reference_id
    return paginate(
        db,
        query,
        (VerificationSession.pk,),
        list_page,
        lambda found: get(db, caller, found),
        # Stored encrypted: compared row by row as the page is read.
        None if reference is None else lambda row: row.client_reference_id == reference,
    )


def get_report(db: Session, caller: Caller, report_id: str) -> VerificationReport:
    return caller.get(db, VerificationReport, report_id, "verification report")


@dataclass(frozen=True)
class ReportFilter:
    """A report list's filters (None: any)."""

    type: str | None = None
    verification_session: str | None = None
    created: Created = field(default_factory=Created)
    client_reference_id: str | None = None


def page_reports(
    db: Session, caller: Caller, list_page: ListPage, wanted: ReportFilter
) -> tuple[list[VerificationReport], bool]:
    if wanted.type is not None:
        _type(wanted.type)
    query = select(VerificationReport).where(
        caller.owns(VerificationReport), *wanted.created.where(VerificationReport.created_at)
    )
    if wanted.verification_session is not None:
        query = query.where(VerificationReport.session_id == wanted.verification_session)

    def keep(report: VerificationReport) -> bool:
        # The report's type and its session's reference are stored encrypted.
        if wanted.type is not None and report.payload.get("type") != wanted.type:
            return False
        return wanted.client_reference_id is None or (
            get(db, caller, report.session_id).client_reference_id == wanted.client_reference_id
        )

    filtered = wanted.type is not None or wanted.client_reference_id is not None
    return paginate(
        db,
        query,
        (VerificationReport.created_at, VerificationReport.id),
        list_page,
        lambda found: get_report(db, caller, found),
        keep if filtered else None,
    )


def hold(db: Session, session: VerificationSession) -> None:
    """Take the session's row until this transaction ends and reload it, so what is decided
    from its state stays true until the commit: PostgreSQL locks the row, SQLite takes its write
    lock. Whatever must not interleave with another request (an upload's write, a cancel, a
    redaction) holds the session first and checks its state after: one waits for the other."""
    held = db.execute(
        update(VerificationSession)
        .where(VerificationSession.id == session.id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(held, "rowcount", 0) != 1:
        raise InvalidState("This verification no longer exists.")
    db.refresh(session)


def cancel(db: Session, session: VerificationSession) -> None:
    hold(db, session)
    lifecycle.transition(db, session, "canceled")


def redact(db: Session, session: VerificationSession) -> None:
    """Wipes the session's personal data from its rows at once and leaves a stub that says only
    that it happened; the stored images go in the `redact_session` job (`redaction.status` is
    `processing` until it has run, Stripe's way). Held first: an upload still writing finishes
    before (and its file goes with the rest), one that comes after finds the session redacted and
    stores nothing."""
    hold(db, session)
    if session.status == "processing":
        raise InvalidState("A session cannot be redacted while it is processing.")
    if session.redacted_at is not None:
        return
    if session.status == "requires_input":
        lifecycle.transition(db, session, "canceled")
    for upload in db.scalars(select(UploadedFile).where(UploadedFile.session_id == session.id)):
        upload.storage_key = None  # every file is under the session's prefix, which the job empties
        upload.check = {}
    session.prepared = None  # a verdict worked out before a Submit that never came
    for report in db.scalars(
        select(VerificationReport).where(VerificationReport.session_id == session.id)
    ):
        report.payload = redacted_report(report.payload)
    session.provided_details = {}
    session.id_number_given = None
    session.verified_outputs = None
    session.metadata_ = {}
    session.client_reference_id = None
    session.return_url = None  # platforms often put their user's id in it
    session.last_error_reason = None if session.last_error_reason is None else "[redacted]"
    risk.forget_session(db, session)
    _forget_replies(db, session)
    lifecycle.mark_redacted(db, session)
    queue().enqueue(db, REDACT, {"session_id": session.id})


@handler(REDACT)
def finish_redaction(app: Flask, payload: dict[str, Any]) -> None:
    """Deletes the redacted session's stored images, and the overwritten values from SQLite's
    log, then says it is redacted. Run after the redaction's commit, so a key rotation that was
    rewriting one of its files then has written it back already (and stopped using it); a failure
    is retried, and until then the session says `processing`."""
    with database(app).sessions() as db:
        session = db.scalar(
            select(VerificationSession).where(VerificationSession.id == payload["session_id"])
        )
        if session is None or session.redaction_status != "processing":
            return  # done already by an earlier run whose lease ran out
        storage(app).delete_prefix(f"sessions/{session.id}")
        hold(db, session)
        lifecycle.finish_redaction(db, session)
        db.commit()
        empty_log(db.get_bind().engine)


def _forget_replies(db: Session, session: VerificationSession) -> None:
    """Stored Idempotency-Key replies show the session as it was, details and all; the ones from
    its life are dropped (retention drops all after a day, which bounds the search)."""
    since = session.created_at - timedelta(hours=1)
    for record in db.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.platform_id == session.platform_id,
            IdempotencyRecord.created_at >= since,
        )
    ):
        # Any reply that mentions the session: itself, or an event about it (redelivery).
        if record.response is not None and session.id in json.dumps(record.response):
            db.delete(record)


def redacted_report(payload: dict[str, Any]) -> dict[str, Any]:
    """Keep statuses and error codes (useful, not personal); drop every extracted value."""
    checks = ("document", "selfie", "id_number")
    stub = {key: value for key, value in payload.items() if key not in checks}
    for check in checks:
        part = payload.get(check)
        if part is None:
            stub[check] = None
            continue
        error = part.get("error")
        stub[check] = {
            "status": part.get("status"),
            "error": {"code": error.get("code"), "reason": "[redacted]"} if error else None,
        }
    return stub
