"""The session's life cycle: every allowed move records exactly one event in the caller's
transaction, every other move is refused, and of two moves from the same status at once only
one is made (on PostgreSQL's row locks too)."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from pathlib import Path
from typing import get_args

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.servers import postgres_binaries
from tests.support.platform import ApiPlatform, make_platform
from webapp import lifecycle, sessions, webhooks
from webapp.db import database
from webapp.errors import MoveRefused
from webapp.lifecycle import MOVES, LastError, transition
from webapp.models import Event, SessionStatus, VerificationSession
from webapp.platforms import Caller

STATUSES: tuple[SessionStatus, ...] = get_args(SessionStatus)
WHY = LastError("document_expired", "The document has expired.", "document_type")


def error_for(start: SessionStatus | None, to: SessionStatus) -> LastError | None:
    return WHY if MOVES[(start, to)].error == "required" else None


def path_to(status: SessionStatus) -> list[SessionStatus]:
    """The statuses a new session passes through to reach `status`, found in MOVES."""
    paths: deque[list[SessionStatus]] = deque([["requires_input"]])
    while paths:
        path = paths.popleft()
        if path[-1] == status:
            return path
        paths.extend(
            [*path, to]
            for start, to in MOVES
            if start == path[-1] and to not in path and start is not None
        )
    raise AssertionError(f"no way from a new session to {status}")


def new_session(db: Session, platform_id: str) -> VerificationSession:
    request = sessions.parse_create({"type": "document"})
    return sessions.create(db, Caller(platform_id, livemode=True), request, 1)


def session_at(app: Flask, platform_id: str, status: SessionStatus) -> str:
    """The id of a stored session brought to `status` by allowed moves only."""
    with database(app).sessions() as db:
        session = new_session(db, platform_id)
        path = path_to(status)
        for start, to in itertools.pairwise(path):
            transition(db, session, to, error_for(start, to))
        db.commit()
        return session.id


def load(db: Session, session_id: str) -> VerificationSession:
    found = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
    assert found is not None
    return found


def events_of(db: Session, session_id: str) -> list[str]:
    return list(
        db.scalars(select(Event.type).where(Event.object_id == session_id).order_by(Event.pk))
    )


def test_every_status_can_be_reached_and_every_move_leads_to_a_status() -> None:
    for status in STATUSES:
        assert path_to(status)[-1] == status
    for (start, to), move in MOVES.items():
        assert start is None or start in STATUSES
        assert to in STATUSES
        assert move.event in webhooks.EVENT_TYPES


@pytest.mark.parametrize(("start", "to"), [move for move in MOVES if move[0] is not None])
def test_an_allowed_move_records_exactly_one_event_in_the_same_transaction(
    app: Flask, platform: ApiPlatform, start: SessionStatus, to: SessionStatus
) -> None:
    session_id = session_at(app, platform.id, start)
    with database(app).sessions() as db:
        session = load(db, session_id)
        before = events_of(db, session_id)
        event = transition(db, session, to, error_for(start, to))
        assert session.status == to
        assert events_of(db, session_id) == [*before, MOVES[(start, to)].event]
        assert event.data["object"]["status"] == to
        db.rollback()  # nothing of the move was committed on its own
        assert load(db, session_id).status == start
        assert events_of(db, session_id) == before
        transition(db, load(db, session_id), to, error_for(start, to))
        db.commit()
    with database(app).sessions() as db:
        assert load(db, session_id).status == to
        assert events_of(db, session_id) == [*before, MOVES[(start, to)].event]


def test_a_new_session_starts_with_its_created_event(app: Flask, platform: ApiPlatform) -> None:
    with database(app).sessions() as db:
        session = new_session(db, platform.id)
        db.commit()
        assert session.status == "requires_input"
        assert events_of(db, session.id) == ["identity.verification_session.created"]


def test_a_failure_recording_the_event_leaves_the_status_as_it_was(
    app: Flask, platform: ApiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = session_at(app, platform.id, "requires_input")

    def broken(*_args: object) -> Event:
        raise RuntimeError("the event store is gone")

    monkeypatch.setattr(webhooks, "emit", broken)
    with database(app).sessions() as db:
        with pytest.raises(RuntimeError):
            transition(db, load(db, session_id), "processing")
        db.rollback()
    with database(app).sessions() as db:
        assert load(db, session_id).status == "requires_input"
        assert events_of(db, session_id) == ["identity.verification_session.created"]


def test_an_error_is_recorded_and_a_new_attempt_clears_it(
    app: Flask, platform: ApiPlatform
) -> None:
    session_id = session_at(app, platform.id, "processing")
    with database(app).sessions() as db:
        session = load(db, session_id)
        transition(db, session, "requires_input", WHY)
        assert (session.last_error_code, session.last_error_reason, session.last_error_step) == (
            WHY.code,
            WHY.reason,
            WHY.step,
        )
        transition(db, session, "processing")
        db.commit()
        assert (session.last_error_code, session.last_error_reason, session.last_error_step) == (
            None,
            None,
            None,
        )


FORBIDDEN = [(start, to) for start in STATUSES for to in STATUSES if (start, to) not in MOVES]


@pytest.mark.parametrize(("start", "to"), FORBIDDEN)
def test_a_move_the_life_cycle_does_not_have_is_refused(
    app: Flask, platform: ApiPlatform, start: SessionStatus, to: SessionStatus
) -> None:
    session_id = session_at(app, platform.id, start)
    with database(app).sessions() as db:
        session = load(db, session_id)
        before = events_of(db, session_id)
        for error in (None, WHY):
            with pytest.raises(MoveRefused) as refused:
                transition(db, session, to, error)
            assert (refused.value.start, refused.value.to) == (start, to)
            assert refused.value.code == "session_invalid_state"
        assert session.status == start
        assert events_of(db, session_id) == before


@pytest.mark.parametrize(
    ("start", "to"),
    [move for move in MOVES if move[0] is not None and MOVES[move].error != "optional"],
)
def test_a_move_that_does_not_say_why_as_its_rule_asks_is_refused(
    app: Flask, platform: ApiPlatform, start: SessionStatus, to: SessionStatus
) -> None:
    wrong = None if MOVES[(start, to)].error == "required" else WHY
    session_id = session_at(app, platform.id, start)
    with database(app).sessions() as db:
        before = events_of(db, session_id)
        session = load(db, session_id)
        with pytest.raises(MoveRefused):
            transition(db, session, to, wrong)
        assert session.status == start
        assert events_of(db, session_id) == before


@pytest.mark.parametrize("to", [to for to in STATUSES if (None, to) not in MOVES])
def test_a_new_session_can_only_start_requiring_input(
    app: Flask, platform: ApiPlatform, to: SessionStatus
) -> None:
    with database(app).sessions() as db:
        session = VerificationSession(id="vs_new", platform_id=platform.id, livemode=True)
        with pytest.raises(MoveRefused) as refused:
            transition(db, session, to)
        assert refused.value.start is None
        assert db.scalar(select(func.count()).select_from(Event)) == 0


def test_a_move_decided_on_a_stale_read_is_refused(app: Flask, platform: ApiPlatform) -> None:
    session_id = session_at(app, platform.id, "requires_input")
    with database(app).sessions() as first, database(app).sessions() as second:
        mine, theirs = load(first, session_id), load(second, session_id)
        transition(first, mine, "processing")
        first.commit()
        with pytest.raises(MoveRefused) as refused:
            transition(second, theirs, "processing")
        assert refused.value.start == "processing"
        assert "submitted already" in refused.value.message
        second.rollback()
        processing = "identity.verification_session.processing"
        assert events_of(second, session_id).count(processing) == 1


def test_the_api_answers_a_refused_move_with_its_error_shape(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id = session_at(app, platform.id, "verified")
    response = client.post(
        f"/v1/verification_sessions/{session_id}/cancel", headers=platform.headers
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "session_invalid_state",
            "message": "Only a session that requires input can be canceled; this one is verified.",
            "param": None,
        }
    }


def test_redaction_keeps_the_status_and_records_its_event(
    app: Flask, platform: ApiPlatform
) -> None:
    session_id = session_at(app, platform.id, "verified")
    with database(app).sessions() as db:
        session = load(db, session_id)
        lifecycle.mark_redacted(db, session)
        db.commit()
        assert session.status == "verified" and session.redacted_at is not None
        assert session.redaction_status == "processing"
        assert events_of(db, session_id)[-1] == "identity.verification_session.verified"
        lifecycle.finish_redaction(db, session)
        db.commit()
        assert session.status == "verified" and session.redaction_status == "redacted"
        assert events_of(db, session_id)[-1] == "identity.verification_session.redacted"


@pytest.mark.postgres
@pytest.mark.skipif(
    postgres_binaries() is None, reason="PostgreSQL is not installed (make test installs it)"
)
def test_two_submits_at_once_on_postgresql_make_one_move(pg_app: Flask) -> None:
    """The second submit read the session before the first committed: its update waits for the
    first's row lock, then finds the status moved on and is refused."""
    platform = make_platform(pg_app)
    session_id = session_at(pg_app, platform.id, "requires_input")
    outcome: list[BaseException | None] = []
    with database(pg_app).sessions() as first, database(pg_app).sessions() as second:
        mine, theirs = load(first, session_id), load(second, session_id)
        transition(first, mine, "processing")  # holds the row until its commit

        def submit_too() -> None:
            try:
                transition(second, theirs, "processing")
                outcome.append(None)
            except MoveRefused as refused:
                outcome.append(refused)
                second.rollback()

        racer = threading.Thread(target=submit_too)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive()  # waiting for the row
        first.commit()
        racer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], MoveRefused)
    assert outcome[0].start == "processing"
    with database(pg_app).sessions() as db:
        assert load(db, session_id).status == "processing"
        processing = select(func.count()).where(
            Event.object_id == session_id, Event.type == "identity.verification_session.processing"
        )
        assert db.scalar(processing) == 1


def test_only_the_life_cycle_sets_a_session_status() -> None:
    root = Path(__file__).resolve().parents[2] / "webapp"
    setters = re.compile(r"\bsession\.status\s*=[^=]")
    found = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if setters.search(path.read_text())
    ]
    assert found == ["lifecycle.py"]
