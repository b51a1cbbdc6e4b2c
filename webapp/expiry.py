"""Sessions left unfinished: once a session's link has expired while it still waits for the
person, it gets Stripe's `last_error.code` `abandoned` and the platform its `requires_input`
event, as Stripe tells of a verification the person walked away from.

A periodic job looks every few minutes, so the code comes at most that long after the link's
`expires_at`. The status stays `requires_input` (Stripe's), and a session is marked once: one
whose last error says `abandoned` already is left alone. A session that stopped earlier for
another reason (consent declined, a photo to retake) and was then left is abandoned too: the
person did not come back before the link's end, which is what the platform needs to act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import or_, select

from webapp.db import database
from webapp.errors import MoveRefused
from webapp.jobs import periodic
from webapp.lifecycle import LastError, transition
from webapp.models import VerificationSession, utcnow
from webapp.sessions import hold

ABANDONED = "abandoned"
EVERY_SECONDS = 300.0
_BATCH = 100
_REASON = "The person did not finish the verification before its link expired."


def _left(now: datetime) -> Any:
    return (
        select(VerificationSession)
        .where(
            VerificationSession.status == "requires_input",
            VerificationSession.expires_at <= now,
            VerificationSession.redacted_at.is_(None),
            or_(
                VerificationSession.last_error_code.is_(None),
                VerificationSession.last_error_code != ABANDONED,
            ),
        )
        .order_by(VerificationSession.pk)
        .limit(_BATCH)
    )


def abandon_expired(app: Flask, now: datetime | None = None) -> int:
    """Mark every session left unfinished past its link's lifetime; returns how many."""
    now = now or utcnow()
    marked = 0
    with database(app).sessions() as db:
        while True:
            found = list(db.scalars(_left(now)))
            if not found:
                return marked
            for session in found:
                hold(db, session)  # an upload or a cancel at this moment goes first
                if session.status != "requires_input" or session.last_error_code == ABANDONED:
                    continue
                try:
                    transition(db, session, "requires_input", LastError(ABANDONED, _REASON))
                except MoveRefused:  # moved on meanwhile: no longer left
                    continue
                marked += 1
            db.commit()


@periodic("abandon_sessions", EVERY_SECONDS)
def _abandon_job(app: Flask, _payload: dict[str, Any]) -> None:
    abandon_expired(app)
