"""The audit log: who looked at whose data, who decided what, who signed in."""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import operators
from webapp.console import bp
from webapp.console.access import signed_in
from webapp.db import db_session
from webapp.models import AuditEntry, Operator


@bp.route("/audit")
def audit() -> ResponseReturnValue:
    """Admins only; an instance-wide admin sees every entry, a platform's admin its operators'."""
    operator = signed_in()
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
