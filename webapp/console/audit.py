"""The audit log: who looked at whose data, who decided what, who signed in.

Admins read it, filtered by operator, action, session and days, page by page, or export the same
selection as CSV; the export is itself written to the log (it carries reviewers' notes). Nothing
here changes an entry: the table is append-only (`models.AuditEntry`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, abort, render_template, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import operators
from webapp.console import bp, filters
from webapp.console.access import ring, signed_in
from webapp.db import db_session
from webapp.models import AuditEntry, Operator, utcnow

_PAGE = 100
_EXPORT_BATCH = 500
_CSV_COLUMNS = ("created_at", "operator_id", "operator_email", "action", "session_id", "detail")
# A cell a spreadsheet would run as a formula (a note can say anything): kept as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    email: str
    action: str
    session_id: str
    since: date | None
    until: date | None

    @staticmethod
    def read() -> AuditFilter:
        return AuditFilter(
            email=filters.text("operator", 320),
            action=filters.text("action", 40),
            session_id=filters.text("session", 40),
            since=filters.day("from"),
            until=filters.day("to"),
        )

    def args(self) -> dict[str, Any]:
        return filters.shown(
            operator=self.email,
            action=self.action,
            session=self.session_id,
            **{"from": self.since, "to": self.until},
        )

    def recorded(self) -> dict[str, Any]:
        """The filters as the audit entry of a look at the log keeps them."""
        return {f"filter_{name}": value for name, value in self.args().items()}

    def query(self, admin: Operator) -> Any:
        """Newest first; an instance-wide admin sees every entry, a platform's admin those of
        its platform's operators."""
        query = select(AuditEntry).order_by(AuditEntry.pk.desc())
        if admin.platform_id is not None:
            query = query.join(Operator, AuditEntry.operator_id == Operator.id).where(
                Operator.platform_id == admin.platform_id
            )
        if self.email:
            found = operators.find(db_session(), ring(), self.email)
            query = query.where(AuditEntry.operator_id == (found.id if found else None))
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.session_id:
            query = query.where(AuditEntry.session_id == self.session_id)
        return query.where(*filters.within_days(AuditEntry.created_at, self.since, self.until))


def _admin() -> Operator:
    operator = signed_in()
    if operator.role != "admin":
        abort(403, description=_("Only admins see the audit log."))
    return operator


def _emails(operator_ids: set[str]) -> dict[str, str]:
    found = db_session().scalars(select(Operator).where(Operator.id.in_(operator_ids)))
    return {operator.id: operator.email for operator in found}


@bp.route("/audit")
def audit() -> ResponseReturnValue:
    operator = _admin()
    wanted = AuditFilter.read()
    query = wanted.query(operator)
    before = filters.cursor()
    if before is not None:
        query = query.where(AuditEntry.pk < before)
    db = db_session()
    entries = db.scalars(query.limit(_PAGE + 1)).all()
    older = entries[_PAGE - 1].pk if len(entries) > _PAGE else None
    entries = entries[:_PAGE]
    page = render_template(
        "console/audit.html",
        entries=entries,
        emails=_emails({entry.operator_id for entry in entries if entry.operator_id}),
        actions=db.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all(),
        wanted=wanted,
        export_url=url_for("console.audit_csv", **wanted.args()),
        older_url=(
            url_for("console.audit", **wanted.args(), before=older) if older is not None else None
        ),
    )
    operators.audit(db, operator, "audit_log_viewed", **wanted.recorded())  # notes may name people
    db.commit()
    return page


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


@bp.route("/audit.csv")
def audit_csv() -> ResponseReturnValue:
    """Every entry the filters select, newest first, read in batches as the file is sent."""
    operator = _admin()
    wanted = AuditFilter.read()
    query = wanted.query(operator)
    db = db_session()
    operators.audit(db, operator, "audit_log_exported", **wanted.recorded())
    db.commit()

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow((*_CSV_COLUMNS, "note"))
        last: int | None = None
        while True:
            batch = db.scalars(
                (query if last is None else query.where(AuditEntry.pk < last)).limit(_EXPORT_BATCH)
            ).all()
            emails = _emails({entry.operator_id for entry in batch if entry.operator_id})
            for entry in batch:
                detail = " ".join(f"{key}={value}" for key, value in entry.detail.items())
                writer.writerow(
                    _cell(value)
                    for value in (
                        entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        entry.operator_id,
                        emails.get(entry.operator_id or ""),
                        entry.action,
                        entry.session_id,
                        detail,
                        entry.note,
                    )
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(batch) < _EXPORT_BATCH:
                return
            last = batch[-1].pk

    name = f"idflow-audit-{utcnow().strftime('%Y%m%d-%H%M%S')}.csv"
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
