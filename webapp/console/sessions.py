"""The sessions list and its filters, a session's page, its personal data and the review queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import inspect, select

from webapp import crypto, operators, reviews
from webapp.console import actions, bp, detail, filters
from webapp.console.access import (
    OUTLINE,
    outline,
    refuse_stale_form,
    require_reviewer,
    ring,
    scoped,
    signed_in,
)
from webapp.console.forms import CancelForm, RedactForm, RedeliverForm, ReviewForm
from webapp.db import db_session
from webapp.errors import InvalidRequest
from webapp.models import Event, SessionStatus, VerificationReport, VerificationSession
from webapp.representations import STRIPE_ERROR_CODES, codes_shown_as

_STATUSES: tuple[SessionStatus, ...] = ("requires_input", "processing", "verified", "canceled")
_ERROR_CODES = tuple(sorted(STRIPE_ERROR_CODES))
_PAGE = 50
_BATCH = 200
# Rows a page reads at most while a filter SQL cannot apply drops some (the client reference is
# stored encrypted, the review flag sits in JSON): a rare value costs more pages, each bounded.
_SCAN = 2000
_REFERENCE: Any = inspect(VerificationSession).columns["_client_reference_id"]


@dataclass(frozen=True)
class SessionFilter:
    """The list's filters as given; a value that makes no sense is no filter."""

    status: str
    error: str
    mode: str
    since: date | None
    until: date | None
    reference: str
    search: str
    flagged: bool

    @staticmethod
    def read() -> SessionFilter:
        return SessionFilter(
            status=filters.choice("status", _STATUSES),
            error=filters.choice("error", STRIPE_ERROR_CODES),
            mode=filters.choice("mode", ("live", "test")),
            since=filters.day("from"),
            until=filters.day("to"),
            reference=filters.text("reference", 500),
            search=filters.text("q", 100),
            flagged=request.args.get("flagged") == "1",
        )

    def args(self) -> dict[str, Any]:
        return filters.shown(
            status=self.status,
            error=self.error,
            mode=self.mode,
            q=self.search,
            reference=self.reference,
            flagged=self.flagged,
            **{"from": self.since, "to": self.until},
        )

    def query(self) -> Any:
        columns = (*OUTLINE, _REFERENCE.label("sealed_reference")) if self.reference else OUTLINE
        query = scoped(select(*columns)).order_by(VerificationSession.pk.desc())
        if self.status:
            query = query.where(VerificationSession.status == self.status)
        if self.error:
            query = query.where(VerificationSession.last_error_code.in_(codes_shown_as(self.error)))
        if self.mode:
            query = query.where(VerificationSession.livemode == (self.mode == "live"))
        if self.search:
            query = query.where(VerificationSession.id == self.search)
        if self.flagged:
            query = query.where(
                VerificationSession.status == "processing", VerificationSession.risk.is_not(None)
            )
        return query.where(
            *filters.within_days(VerificationSession.created_at, since=self.since, until=self.until)
        )

    def keep(self) -> Callable[[Any], bool] | None:
        """What is checked on each row, or None when SQL did all."""
        if not self.reference and not self.flagged:
            return None

        def keep(row: Any) -> bool:
            if self.flagged and not reviews.waiting(row):
                return False
            return not self.reference or self.reference == _reference(row)

        return keep


def _reference(row: Any) -> str | None:
    """The row's client reference, opened alone: the other sealed columns stay closed."""
    if row.sealed_reference is None:
        return None
    purpose = crypto.row_purpose(_REFERENCE.type.purpose, [row.id])
    opened: str | None = crypto.open_json(ring(), row.sealed_reference, purpose)
    return opened


def _read(query: Any, keep: Callable[[Any], bool] | None) -> tuple[list[Any], int | None]:
    """A page of rows, newest first, and the cursor of the next page (None: no more)."""
    db = db_session()
    if keep is None:
        rows = list(db.execute(query.limit(_PAGE + 1)).all())
        return rows[:_PAGE], rows[_PAGE - 1].pk if len(rows) > _PAGE else None
    kept: list[Any] = []
    last: int | None = None
    for _scanned in range(0, _SCAN, _BATCH):
        batch = db.execute(
            (query if last is None else query.where(VerificationSession.pk < last)).limit(_BATCH)
        ).all()
        for row in batch:
            last = row.pk
            if keep(row):
                kept.append(row)
                if len(kept) > _PAGE:
                    return kept[:_PAGE], kept[_PAGE - 1].pk
        if len(batch) < _BATCH:
            return kept, None
    return kept, last  # scanned enough for one page: the next one goes on from here


@bp.route("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("console.sessions"))


@bp.route("/sessions")
def sessions() -> ResponseReturnValue:
    """Newest first; every filter is kept by the link to the next page."""
    wanted = SessionFilter.read()
    query = wanted.query()
    before = filters.cursor()
    if before is not None:
        query = query.where(VerificationSession.pk < before)
    rows, older = _read(query, wanted.keep())
    return render_template(
        "console/sessions.html",
        rows=rows,
        statuses=_STATUSES,
        error_codes=_ERROR_CODES,
        wanted=wanted,
        older_url=(
            url_for("console.sessions", **wanted.args(), before=older)
            if older is not None
            else None
        ),
        shown_code=detail.shown_code,
    )


@bp.route("/sessions/<session_id>")
def session_detail(session_id: str) -> ResponseReturnValue:
    """What happened to a session, for every role; what the report read, photos, reasons and the
    actions only for reviewers and admins. Showing what was read is audited here, each photo
    where it loads (`photos`)."""
    row = outline(session_id)
    db = db_session()
    history = db.execute(
        select(Event.type, Event.created_at).where(Event.object_id == session_id).order_by(Event.pk)
    ).all()
    operator = signed_in()
    may_decide = operator.role in ("reviewer", "admin")
    deliveries = detail.deliveries(db, row.id)
    report = detail.report(db, row.last_report_id, full=may_decide)
    if report is not None and report.read:
        operators.audit(db, operator, "personal_data_viewed", session_id=row.id, part="report")
        db.commit()
    return render_template(
        "console/session.html",
        row=row,
        history=history,
        may_see_personal=may_decide,
        review_form=ReviewForm() if may_decide and reviews.waiting(row) else None,
        attempts=detail.attempts(db, row.id),
        report=report,
        deliveries=deliveries,
        cancel_form=CancelForm() if may_decide and actions.cancelable(row) else None,
        redact_form=RedactForm() if operator.role == "admin" and actions.redactable(row) else None,
        redeliver_forms=(
            {item.id: RedeliverForm(delivery=item.id) for item in deliveries} if may_decide else {}
        ),
        shown_code=detail.shown_code,
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
