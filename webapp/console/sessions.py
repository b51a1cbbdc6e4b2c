"""The sessions list, a session's detail, its personal data and the review queue."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import operators, reviews
from webapp.console import bp
from webapp.console.access import (
    OUTLINE,
    outline,
    refuse_stale_form,
    require_reviewer,
    scoped,
    signed_in,
)
from webapp.console.forms import ReviewForm
from webapp.db import db_session
from webapp.errors import InvalidRequest
from webapp.models import Event, SessionStatus, VerificationReport, VerificationSession

_STATUSES: tuple[SessionStatus, ...] = ("requires_input", "processing", "verified", "canceled")
_PAGE = 50


@bp.route("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("console.sessions"))


@bp.route("/sessions")
def sessions() -> ResponseReturnValue:
    status = request.args.get("status", "")
    mode = request.args.get("mode", "")
    search = request.args.get("q", "").strip()
    before = request.args.get("before", type=int)
    query = scoped(select(*OUTLINE)).order_by(VerificationSession.pk.desc()).limit(_PAGE + 1)
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


@bp.route("/sessions/<session_id>")
def session_detail(session_id: str) -> ResponseReturnValue:
    row = outline(session_id)
    history = (
        db_session()
        .execute(
            select(Event.type, Event.created_at)
            .where(Event.object_id == session_id)
            .order_by(Event.pk)
        )
        .all()
    )
    may_decide = signed_in().role in ("reviewer", "admin")
    return render_template(
        "console/session.html",
        row=row,
        history=history,
        may_see_personal=may_decide,
        review_form=ReviewForm() if may_decide and reviews.waiting(row) else None,
    )


@bp.route("/reviews")
def review_queue() -> ResponseReturnValue:
    rows = reviews.queue(db_session(), signed_in().platform_id)
    return render_template("console/reviews.html", rows=rows)


@bp.route("/sessions/<session_id>/review", methods=["GET", "POST"])
def decide(session_id: str) -> ResponseReturnValue:
    """A reviewer's approve or decline; viewers are refused (403) and the attempt audited. A GET
    (the error page's way back) leads to the session."""
    if request.method == "GET":
        return redirect(url_for("console.session_detail", session_id=session_id))
    operator = require_reviewer(
        "review_refused", _("Your role (viewer) does not decide reviews."), session_id
    )
    db = db_session()
    form = ReviewForm()
    if not form.validate_on_submit():
        refuse_stale_form(form)
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
    row = outline(session_id)
    operator = require_reviewer(
        "personal_data_refused", _("Your role (viewer) does not show personal data."), row.id
    )
    db = db_session()
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
