"""The review queue: sessions whose passing verdict signals asked an operator to check
(`webapp.risk`, mode `flag`), and a reviewer's decision on them.

Such a verdict is held: the session stays `processing` (its report and the signals are in the
API, `idflow.review.required: true`) and nothing says `verified` until a reviewer approves. Then
`lifecycle.transition` makes it `verified`, with the same event and webhook as an automatic
verdict; declining cancels it the same way, with a `canceled` event, and drops the verified
outputs. Either clears the review flag, and both are written to the audit log with the
reviewer's note (sealed).
"""

from __future__ import annotations

from typing import Any, Literal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import lifecycle, risk
from webapp.errors import InvalidRequest
from webapp.models import Operator, VerificationSession
from webapp.operators import audit
from webapp.sessions import hold

Decision = Literal["approve", "decline"]
DECLINED_CODE = "document_unverified_other"
# What the person and the platform read on a declined session: the note stays with the staff.
DECLINED_REASON = "This verification cannot be completed with this document. Please contact us."
_QUEUE_LIMIT = 200


def waiting(session: Any) -> bool:
    """A session (a model or a row of its columns) whose verdict is held for a review."""
    return session.status == "processing" and risk.review_required(session)


def _scoped(query: Any, platform_id: str | None) -> Any:
    return (
        query
        if platform_id is None
        else query.where(VerificationSession.platform_id == platform_id)
    )


def queue(db: Session, platform_id: str | None) -> list[Any]:
    """Waiting sessions, oldest first (first come, first reviewed); no encrypted column is read.
    The flag sits in a JSON column, which SQLite and PostgreSQL query differently, so verified
    sessions with an assessment are read and the flag checked here."""
    query = _scoped(
        select(
            VerificationSession.id,
            VerificationSession.platform_id,
            VerificationSession.livemode,
            VerificationSession.status,
            VerificationSession.risk,
            VerificationSession.created_at,
        ).where(VerificationSession.status == "processing", VerificationSession.risk.is_not(None)),
        platform_id,
    ).order_by(VerificationSession.pk)
    return [row for row in db.execute(query) if waiting(row)][:_QUEUE_LIMIT]


def decide(
    db: Session, reviewer: Operator, session_id: str, decision: Decision, note: str
) -> VerificationSession:
    """Apply a reviewer's decision in the caller's transaction; refused unless the session waits
    for one and the reviewer may decide it."""
    if reviewer.role not in ("reviewer", "admin"):
        raise InvalidRequest(_("Only reviewers and admins decide reviews."))
    session: VerificationSession | None = db.scalar(
        _scoped(select(VerificationSession), reviewer.platform_id).where(
            VerificationSession.id == session_id
        )
    )
    if session is not None:
        hold(db, session)  # two reviewers deciding at once: the second finds it decided
    if session is None or not waiting(session):
        raise InvalidRequest(_("This session does not wait for a review (decided already?)."))
    if not note.strip():
        raise InvalidRequest(_("Write a note that says why."))
    risk = dict(session.risk or {})
    risk["review"] = {**risk.get("review", {}), "required": False}
    session.risk = risk
    if decision == "decline":
        session.verified_outputs = None
        lifecycle.transition(
            db, session, "canceled", lifecycle.LastError(DECLINED_CODE, DECLINED_REASON)
        )
    else:
        lifecycle.transition(db, session, "verified")
    audit(db, reviewer, f"review_{decision}d", session_id=session.id, note=note.strip())
    return session
