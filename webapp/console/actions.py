"""What staff may do to a session from its page: cancel it, redact it, send a webhook again.

Each calls the very function the API's request calls (`sessions.cancel`, `sessions.redact`,
`webhooks.redeliver`), so the session changes, its events and webhooks are exactly the API's;
each is a POST form with its CSRF token, written to the audit log, and answered with a redirect
to the session's page.

Who may do what, as a trust-and-safety lead expects: viewers only look. Reviewers may cancel a
session still waiting for the person (a fraud they spotted mid-way) and send a webhook again (a
platform missed it), both of which undo nothing. Redaction deletes the photos and personal data
for good, including the evidence of a fraud, and platforms usually owe it to a person's erasure
request: only admins may redact, and they must tick a box first. Every refusal is audited.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import operators, sessions, webhooks
from webapp.console import bp
from webapp.console.access import outline, refuse_stale_form, require_admin, require_reviewer
from webapp.console.forms import CancelForm, RedactForm, RedeliverForm
from webapp.db import db_session
from webapp.errors import InvalidRequest
from webapp.models import Event, VerificationSession, WebhookDelivery
from webapp.platforms import Caller


def cancelable(row: Any) -> bool:
    """The API cancels only a session that waits for the person (`lifecycle.MOVES`)."""
    return bool(row.status == "requires_input" and row.redacted_at is None)


def redactable(row: Any) -> bool:
    """The API redacts anything but a session being verified, once."""
    return bool(row.status != "processing" and row.redacted_at is None)


def _session(session_id: str) -> VerificationSession:
    row = outline(session_id)  # 404 outside the operator's scope
    found = db_session().scalar(select(VerificationSession).where(VerificationSession.id == row.id))
    assert found is not None
    return found


def _back(session_id: str) -> ResponseReturnValue:
    return redirect(url_for("console.session_detail", session_id=session_id), 303)


def _posted() -> bool:
    return request.method == "POST"


def _valid(form: Any) -> None:
    if not form.validate_on_submit():
        refuse_stale_form(form)
        abort(400)


@bp.route("/sessions/<session_id>/cancel", methods=["GET", "POST"])
def cancel(session_id: str) -> ResponseReturnValue:
    """A GET (the error page's way back) leads to the session."""
    row = outline(session_id)
    if not _posted():
        return _back(row.id)
    operator = require_reviewer(
        "cancel_refused", _("Your role (viewer) does not cancel sessions."), row.id
    )
    _valid(CancelForm())
    db = db_session()
    try:
        sessions.cancel(db, _session(row.id))
    except InvalidRequest:
        db.rollback()
        abort(409, description=_("Only a session that waits for the person can be canceled."))
    operators.audit(db, operator, "session_canceled", session_id=row.id)
    db.commit()
    return _back(row.id)


@bp.route("/sessions/<session_id>/redact", methods=["GET", "POST"])
def redact(session_id: str) -> ResponseReturnValue:
    row = outline(session_id)
    if not _posted():
        return _back(row.id)
    operator = require_admin("redact_refused", _("Only admins redact sessions."), row.id)
    form = RedactForm()
    if not form.validate_on_submit():
        refuse_stale_form(form)
        abort(400, description=_("Tick the box to confirm, then redact."))
    db = db_session()
    try:
        sessions.redact(db, _session(row.id))
    except InvalidRequest:
        db.rollback()
        abort(409, description=_("A session cannot be redacted while it is being verified."))
    operators.audit(db, operator, "session_redacted", session_id=row.id)
    db.commit()
    return _back(row.id)


@bp.route("/sessions/<session_id>/redeliver", methods=["GET", "POST"])
def redeliver(session_id: str) -> ResponseReturnValue:
    """Sends one delivery's event again to its endpoint, as the API's redelivery does."""
    row = outline(session_id)
    if not _posted():
        return _back(row.id)
    operator = require_reviewer(
        "redeliver_refused", _("Your role (viewer) does not send webhooks again."), row.id
    )
    form = RedeliverForm()
    _valid(form)
    db = db_session()
    found = db.execute(
        select(WebhookDelivery.endpoint_id, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == form.delivery.data, Event.object_id == row.id)
    ).first()
    if found is None:
        abort(404)
    endpoint_id, event = found
    try:
        webhooks.redeliver(db, Caller(row.platform_id, row.livemode), event, endpoint_id)
    except InvalidRequest:
        db.rollback()
        abort(409, description=_("This webhook endpoint is disabled; enable it first."))
    operators.audit(
        db, operator, "webhook_redelivered", session_id=row.id, event=event.id, endpoint=endpoint_id
    )
    db.commit()
    return _back(row.id)
