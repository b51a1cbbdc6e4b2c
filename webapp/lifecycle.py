"""A verification session's life cycle: the moves its status may make, and the one function that
makes them.

      (new) ──> requires_input ──submit──> processing ──verdict──> verified
                 │  ^    │  ^                  │
       declined  └──┘    │  └───failed verdict─┤ (last_error says why, and where to start again)
                         │                     │
    cancel, redaction,   └──> canceled <───────┘ a failed verdict used the last attempt
    too many attempts           ^
                                └── verified, declined by a reviewer (flagged for review)

`transition` checks the move against `MOVES`, sets the status (and the last error) only if the
row still has the status the caller saw, and records the event platforms are told of, all in the
caller's transaction: its commit keeps both, a rollback neither. Of two requests that make a move
from the same status at once (two submits), the second is refused. Redaction leaves the status
as it is and is recorded here too (`mark_redacted`); the flow's steps are `webapp.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import inspect, update
from sqlalchemy.orm import Session

from webapp import representations, webhooks
from webapp.errors import MoveRefused
from webapp.models import Event, SessionStatus, VerificationSession, utcnow
from webapp.steps import StepName

_EVENT = "identity.verification_session."


@dataclass(frozen=True)
class LastError:
    """Why the session needs input again (or stopped), and the step that asks for it again."""

    code: str
    reason: str
    step: StepName | None = None


@dataclass(frozen=True)
class Move:
    event: str  # the event platforms are told of
    error: Literal["required", "forbidden", "optional"]  # whether the move says why

    def takes(self, error: LastError | None) -> bool:
        return self.error == "optional" or (error is not None) == (self.error == "required")


MOVES: dict[tuple[SessionStatus | None, SessionStatus], Move] = {
    (None, "requires_input"): Move(f"{_EVENT}created", "forbidden"),
    ("requires_input", "requires_input"): Move(f"{_EVENT}requires_input", "required"),  # declined
    ("requires_input", "processing"): Move(f"{_EVENT}processing", "forbidden"),
    ("requires_input", "canceled"): Move(f"{_EVENT}canceled", "optional"),
    ("processing", "verified"): Move(f"{_EVENT}verified", "forbidden"),
    ("processing", "requires_input"): Move(f"{_EVENT}requires_input", "required"),
    # The last attempt failed, or a reviewer declined a held verdict (`webapp.reviews`).
    ("processing", "canceled"): Move(f"{_EVENT}canceled", "required"),
}
_LAST_ERROR = ("last_error_code", "last_error_reason", "last_error_step")
# What a refused move tells the platform or the person, by the status it was to reach.
_REFUSED: dict[SessionStatus, str] = {
    "processing": "This verification was submitted already.",
    "canceled": "Only a session that requires input can be canceled; this one is {status}.",
}
_REFUSED_OTHERWISE = "This verification is {status}; it cannot become {to} now."


def _refused(start: SessionStatus | None, to: SessionStatus) -> MoveRefused:
    text = _REFUSED.get(to, _REFUSED_OTHERWISE).format(status=start or "new", to=to)
    return MoveRefused(text, start=start, to=to)


def _values(to: SessionStatus, error: LastError | None) -> dict[str, Any]:
    values: dict[str, Any] = {"status": to}
    if error is not None:
        values.update(zip(_LAST_ERROR, (error.code, error.reason, error.step), strict=True))
    elif to == "processing":  # a new attempt: the last one's error is over
        values.update(dict.fromkeys(_LAST_ERROR))
    return values


def transition(
    db: Session,
    session: VerificationSession,
    to: SessionStatus,
    error: LastError | None = None,
) -> Event:
    """Move `session` to status `to` and record the event, or raise `MoveRefused`.

    A new session (not yet in the database) starts here too. The row is changed only if its
    status is still the one `session` shows, so a move decided on a stale read is refused rather
    than made twice; the session's status and last error are reloaded after."""
    start: SessionStatus | None = session.status if inspect(session).persistent else None
    move = MOVES.get((start, to))
    if move is None or not move.takes(error):
        raise _refused(start, to)
    values = _values(to, error)
    before = _shown(session)
    if start is None:
        session.status = to
    else:
        moved = db.execute(
            update(VerificationSession)
            .where(VerificationSession.id == session.id, VerificationSession.status == start)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            db.refresh(session, ["status"])
            raise _refused(session.status, to)
        db.refresh(session, list(values))
    after = _shown(session)
    previous = {key: value for key, value in before.items() if after[key] != value}
    return webhooks.emit(db, session, move.event, previous if start is not None else None)


def _shown(session: VerificationSession) -> dict[str, Any]:
    """What a move may change, as the API shows it: an event's `previous_attributes` holds the
    ones it changed, with their values before (as Stripe's `*.updated` events do)."""
    error = session.last_error_code
    return {
        "status": session.status,
        "last_error": None
        if error is None
        else representations.error_object(error, session.last_error_reason),
    }


def mark_redacted(db: Session, session: VerificationSession) -> None:
    """A redaction leaves the status as it is. Its rows are wiped now, so earlier events' copies
    of the session are too; it is `processing` until its job has deleted the stored files."""
    session.redacted_at = utcnow()
    session.redaction_status = "processing"
    db.flush()
    webhooks.redact_events(db, session)


def finish_redaction(db: Session, session: VerificationSession) -> Event:
    """The redaction's job is done: `redacted`, and the event platforms are told of."""
    session.redaction_status = "redacted"
    return webhooks.emit(db, session, f"{_EVENT}redacted", {"redaction": {"status": "processing"}})
