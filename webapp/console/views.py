"""The console's pages: sign-in, sessions and their detail, personal data, the audit log."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp import crypto, operators, reviews
from webapp.config import settings
from webapp.console import bp
from webapp.console.forms import LoginForm, LogoutForm, PasswordForm, ReviewForm
from webapp.crypto import KeyRing
from webapp.db import db_session
from webapp.errors import InvalidRequest
from webapp.models import (
    AuditEntry,
    Event,
    Operator,
    SessionStatus,
    VerificationReport,
    VerificationSession,
)

_OPERATOR = "console_operator"
_SEEN = "console_seen"
_EPOCH = "console_epoch"
_OPEN = frozenset({"console.login", "console.static"})
# Pages a one-time password still lets one reach: the change itself and signing out.
_BEFORE_NEW_PASSWORD = frozenset({"console.password", "console.logout"})
_STATUSES: tuple[SessionStatus, ...] = ("requires_input", "processing", "verified", "canceled")
_PAGE = 50
# The columns lists and the detail page show: reading these opens no encrypted column.
_OUTLINE = (
    VerificationSession.pk,
    VerificationSession.id,
    VerificationSession.platform_id,
    VerificationSession.livemode,
    VerificationSession.type,
    VerificationSession.status,
    VerificationSession.last_error_code,
    VerificationSession.last_error_reason,
    VerificationSession.last_report_id,
    VerificationSession.risk,
    VerificationSession.redacted_at,
    VerificationSession.created_at,
)


def _ring() -> KeyRing:
    ring: KeyRing = current_app.extensions[crypto.RING_EXTENSION]
    return ring


def _operator() -> Operator:
    signed_in: Operator = g.operator
    return signed_in


def _to_login() -> Response:
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


@bp.before_request
def _guard() -> ResponseReturnValue | None:
    """Every page but the login wants an enabled operator seen within the idle limit; one whose
    password was made by the command must change it before anything else."""
    if request.endpoint in _OPEN:
        return None
    operator_id = session.get(_OPERATOR)
    seen = session.get(_SEEN, 0)
    idle = settings().console_idle_minutes * 60
    operator = db_session().get(Operator, operator_id) if operator_id else None
    if (
        operator is None
        or operator.disabled_at is not None
        or session.get(_EPOCH) != operator.sign_in_epoch
        or time.time() - seen > idle
    ):
        _forget_sign_in()
        return _to_login()
    session[_SEEN] = int(time.time())
    g.operator = operator
    if operator.must_change_password and request.endpoint not in _BEFORE_NEW_PASSWORD:
        return redirect(url_for("console.password"))
    return None


@bp.context_processor
def _layout() -> dict[str, Any]:
    return {"operator": g.get("operator"), "logout_form": LogoutForm()}


def _refused_csrf(form: Any) -> None:
    if request.method == "POST" and "csrf_token" in form.errors:
        abort(400, description=_("This page was open for too long. Reload it and try again."))


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: a login link must not send anyone elsewhere."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return url_for("console.sessions")
    return target or url_for("console.sessions")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        db = db_session()
        operator = operators.authenticate(db, _ring(), form.email.data, form.password.data)
        db.commit()
        if operator is not None:
            session.clear()  # nothing from before the sign-in carries over
            session[_OPERATOR] = operator.id
            session[_SEEN] = int(time.time())
            session[_EPOCH] = operator.sign_in_epoch
            return redirect(_safe_next(request.args.get("next")), 303)
        failed = True
    _refused_csrf(form)
    return render_template("console/login.html", form=form, failed=failed), 401 if failed else 200


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """Only a POST with its CSRF token signs out (no page elsewhere can); a GET (the error
    page's way back) leads to the console."""
    if request.method == "GET":
        return redirect(url_for("console.sessions"))
    form = LogoutForm()
    if not form.validate_on_submit():
        _refused_csrf(form)
    _operator().sign_in_epoch += 1  # copies of this sign-in's cookie end too
    db_session().commit()
    _forget_sign_in()
    return redirect(url_for("console.login"), 303)


def _forget_sign_in() -> None:
    for key in (_OPERATOR, _SEEN, _EPOCH):
        session.pop(key, None)


@bp.route("/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            operators.change_password(db, _operator(), form.current.data, form.new.data)
        except InvalidRequest as exc:
            error = exc.message
        else:
            db.commit()
            session[_EPOCH] = _operator().sign_in_epoch  # this sign-in stays, the others end
            return redirect(url_for("console.sessions"), 303)
    _refused_csrf(form)
    forced = _operator().must_change_password
    return render_template("console/password.html", form=form, error=error, forced=forced)


@bp.route("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("console.sessions"))


def _scoped(query: Any) -> Any:
    """Only the operator's platform, unless the operator is instance-wide."""
    platform_id = _operator().platform_id
    return (
        query
        if platform_id is None
        else query.where(VerificationSession.platform_id == platform_id)
    )


@bp.route("/sessions")
def sessions() -> ResponseReturnValue:
    status = request.args.get("status", "")
    mode = request.args.get("mode", "")
    search = request.args.get("q", "").strip()
    before = request.args.get("before", type=int)
    query = _scoped(select(*_OUTLINE)).order_by(VerificationSession.pk.desc()).limit(_PAGE + 1)
    if status in _STATUSES:
        query = query.where(VerificationSession.status == status)
    if mode in ("live", "test"):
        query = query.where(VerificationSession.livemode == (mode == "live"))
    if search:
        query = query.where(VerificationSession.id == search)
    if before is not None and 0 < before < 2**63:  # a page cursor; anything else is no cursor
        query = query.where(VerificationSession.pk < before)
    rows = db_session().execute(query).all()
    older = rows[_PAGE - 1].pk if len(rows) > _PAGE else None
    return render_template(
        "console/sessions.html",
        rows=rows[:_PAGE],
        statuses=_STATUSES,
        status=status,
        mode=mode,
        search=search,
        older=older,
    )


def _outline(session_id: str) -> Any:
    row = (
        db_session()
        .execute(_scoped(select(*_OUTLINE)).where(VerificationSession.id == session_id))
        .first()
    )
    if row is None:
        abort(404)
    return row


@bp.route("/sessions/<session_id>")
def session_detail(session_id: str) -> ResponseReturnValue:
    row = _outline(session_id)
    history = (
        db_session()
        .execute(
            select(Event.type, Event.created_at)
            .where(Event.object_id == session_id)
            .order_by(Event.pk)
        )
        .all()
    )
    may_decide = _operator().role in ("reviewer", "admin")
    return render_template(
        "console/session.html",
        row=row,
        history=history,
        may_see_personal=may_decide,
        review_form=ReviewForm() if may_decide and reviews.waiting(row) else None,
    )


@bp.route("/reviews")
def review_queue() -> ResponseReturnValue:
    rows = reviews.queue(db_session(), _operator().platform_id)
    return render_template("console/reviews.html", rows=rows)


@bp.route("/sessions/<session_id>/review", methods=["GET", "POST"])
def decide(session_id: str) -> ResponseReturnValue:
    """A reviewer's approve or decline; viewers are refused (403) and the attempt audited. A GET
    (the error page's way back) leads to the session."""
    if request.method == "GET":
        return redirect(url_for("console.session_detail", session_id=session_id))
    operator = _operator()
    db = db_session()
    if operator.role not in ("reviewer", "admin"):
        operators.audit(db, operator, "review_refused", session_id=session_id)
        db.commit()
        abort(403, description=_("Your role (viewer) does not decide reviews."))
    form = ReviewForm()
    if not form.validate_on_submit():
        _refused_csrf(form)
        abort(400, description=_("Write a note that says why, then approve or decline."))
    decision: reviews.Decision = "decline" if form.decline.data else "approve"
    try:
        reviews.decide(db, operator, session_id, decision, form.note.data)
    except InvalidRequest as exc:
        db.rollback()
        abort(409, description=exc.message)
    db.commit()
    return redirect(url_for("console.review_queue"), 303)


@bp.route("/sessions/<session_id>/personal")
def personal_data(session_id: str) -> ResponseReturnValue:
    """The one page that opens personal data: refused for viewers, and audited either way."""
    row = _outline(session_id)
    db = db_session()
    operator = _operator()
    if operator.role not in ("reviewer", "admin"):
        operators.audit(db, operator, "personal_data_refused", session_id=row.id)
        db.commit()
        abort(403, description=_("Your role (viewer) does not show personal data."))
    operators.audit(db, operator, "personal_data_viewed", session_id=row.id)
    db.commit()
    verification = db.scalar(select(VerificationSession).where(VerificationSession.id == row.id))
    report = (
        db.get(VerificationReport, row.last_report_id) if row.last_report_id is not None else None
    )
    assert verification is not None
    return render_template(
        "console/personal.html",
        row=row,
        session=verification,
        report=report.payload if report is not None else None,
    )


@bp.route("/audit")
def audit() -> ResponseReturnValue:
    """Admins only; an instance-wide admin sees every entry, a platform's admin its operators'."""
    operator = _operator()
    if operator.role != "admin":
        abort(403, description=_("Only admins see the audit log."))
    query = select(AuditEntry).order_by(AuditEntry.pk.desc()).limit(200)
    if operator.platform_id is not None:
        query = query.join(Operator, AuditEntry.operator_id == Operator.id).where(
            Operator.platform_id == operator.platform_id
        )
    db = db_session()
    page = render_template("console/audit.html", entries=db.scalars(query).all())
    operators.audit(db, operator, "audit_log_viewed")  # the notes in it may name people
    db.commit()
    return page
