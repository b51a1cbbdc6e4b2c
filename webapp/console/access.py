"""Who may see a console page: the sign-in guard, the signed-in operator, the platform scope every
query goes through. The pages' modules share these instead of each deciding access."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp import crypto, operators
from webapp.config import settings
from webapp.console import bp
from webapp.console.forms import LogoutForm
from webapp.crypto import KeyRing
from webapp.db import db_session
from webapp.models import Operator, VerificationSession

OPERATOR = "console_operator"
SEEN = "console_seen"
EPOCH = "console_epoch"
_OPEN = frozenset({"console.login", "console.login_code", "console.static"})
# Pages a one-time password still lets one reach: the change itself and signing out.
_BEFORE_NEW_PASSWORD = frozenset({"console.password", "console.logout"})
# The columns lists and the detail page show: reading these opens no encrypted column.
OUTLINE = (
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


def ring() -> KeyRing:
    keys: KeyRing = current_app.extensions[crypto.RING_EXTENSION]
    return keys


def signed_in() -> Operator:
    operator: Operator = g.operator
    return operator


@bp.before_request
def _guard() -> ResponseReturnValue | None:
    """Every page but the login wants an enabled operator seen within the idle limit; one whose
    password was made by the command must change it before anything else."""
    if request.endpoint in _OPEN:
        return None
    operator_id = session.get(OPERATOR)
    seen = session.get(SEEN, 0)
    idle = settings().console_idle_minutes * 60
    operator = db_session().get(Operator, operator_id) if operator_id else None
    if (
        operator is None
        or operator.disabled_at is not None
        or session.get(EPOCH) != operator.sign_in_epoch
        or time.time() - seen > idle
    ):
        forget_sign_in()
        return _to_login()
    session[SEEN] = int(time.time())
    g.operator = operator
    if operator.must_change_password and request.endpoint not in _BEFORE_NEW_PASSWORD:
        return redirect(url_for("console.password"))
    return None


@bp.context_processor
def _layout() -> dict[str, Any]:
    return {"operator": g.get("operator"), "logout_form": LogoutForm()}


def _to_login() -> Response:
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


def forget_sign_in() -> None:
    for key in (OPERATOR, SEEN, EPOCH):
        session.pop(key, None)


def refuse_stale_form(form: Any) -> None:
    """A POST whose CSRF token expired gets a page that says what to do, not a bare 400."""
    if request.method == "POST" and "csrf_token" in form.errors:
        abort(400, description=_("This page was open for too long. Reload it and try again."))


def require_reviewer(refused_action: str, refusal: str, session_id: str | None = None) -> Operator:
    """Reviewers and admins pass; a viewer is refused (403) with `refusal`, and the attempt is
    written to the audit log as `refused_action`."""
    return _require(("reviewer", "admin"), refused_action, refusal, session_id)


def require_admin(refused_action: str, refusal: str, session_id: str | None = None) -> Operator:
    """As `require_reviewer`, for what only admins may do."""
    return _require(("admin",), refused_action, refusal, session_id)


def _require(
    roles: tuple[str, ...], refused_action: str, refusal: str, session_id: str | None
) -> Operator:
    operator = signed_in()
    if operator.role not in roles:
        db = db_session()
        operators.audit(db, operator, refused_action, session_id=session_id)
        db.commit()
        abort(403, description=refusal)
    return operator


def scoped(query: Any) -> Any:
    """Only the operator's platform, unless the operator is instance-wide."""
    platform_id = signed_in().platform_id
    return (
        query
        if platform_id is None
        else query.where(VerificationSession.platform_id == platform_id)
    )


def outline(session_id: str) -> Any:
    """The session's unencrypted columns, or 404 when it is not in the operator's scope."""
    row = (
        db_session()
        .execute(scoped(select(*OUTLINE)).where(VerificationSession.id == session_id))
        .first()
    )
    if row is None:
        abort(404)
    return row
