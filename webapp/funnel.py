"""The console's funnel: how far the sessions of a platform and period got through the hosted
flow, and why those who stopped did.

Each step is read where the flow already records it; only the link's first open is recorded for
the funnel alone (`note_opened`), as a time, no personal data:

    opened      verification_sessions.opened_at
    consented   verification_sessions.consented_at
    front, back, selfie   an accepted photo of that step (uploaded_files)
    submitted   a `processing` event
    verified    a `verified` event (a reviewer's later decline does not undo getting there)

A later step implies the earlier ones: a failed verdict sets aside the photos it asks for again,
and sessions from before `opened_at` existed were opened all the same. A step the session does
not need (a passport's back, a selfie not asked for) is passed with the step before it.

Why a session stopped is read at the first step it did not reach: at a photo step, the capture
check's code for its last refused photo of that step (sealed with the upload and opened here: a
code such as `blurry`, never the photo or what was read), else the session's last error code (a
declined consent, a failed verdict, too many attempts). A session with neither left, or is still
on its way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from webapp.models import Event, UploadedFile, VerificationSession, utcnow
from webapp.steps import CAPTURE_STEPS, needs_back

STEPS = ("opened", "consented", "front", "back", "selfie", "submitted", "verified")
_EVENTS = {
    "identity.verification_session.processing": "submitted",
    "identity.verification_session.verified": "verified",
}
TOP_REASONS = 3


@dataclass(frozen=True)
class StepCount:
    name: str
    reached: int
    stopped: int  # sessions for which this is the first step not reached
    reasons: list[tuple[str, int]]  # the most frequent codes among those, most frequent first

    def share(self, total: int) -> float:
        """Reached, as a fraction of the sessions created in the period."""
        return self.reached / total if total else 0.0


@dataclass(frozen=True)
class Funnel:
    total: int  # sessions created in the period
    steps: list[StepCount]


def note_opened(session: VerificationSession) -> None:
    """The link's first open; later opens change nothing."""
    if session.opened_at is None:
        session.opened_at = utcnow()


def _sessions(
    platform_id: str | None, livemode: bool | None, start: datetime, end: datetime
) -> Select[str]:
    query = select(VerificationSession.id).where(
        VerificationSession.created_at >= start, VerificationSession.created_at < end
    )
    if platform_id is not None:
        query = query.where(VerificationSession.platform_id == platform_id)
    if livemode is not None:
        query = query.where(VerificationSession.livemode.is_(livemode))
    return query


def _not_needed(document_type: str | None, selfie: bool | None) -> set[str]:
    skipped = set() if needs_back(document_type) else {"back"}
    return skipped if selfie else skipped | {"selfie"}


def count(
    db: Session, platform_id: str | None, livemode: bool | None, start: datetime, end: datetime
) -> Funnel:
    """The funnel of the sessions created in [start, end), of one platform (None: all) and mode
    (None: both). Four queries, then one pass over the sessions."""
    ids = _sessions(platform_id, livemode, start, end)
    reached: dict[str, set[str]] = {}
    facts: dict[str, tuple[set[str], str | None]] = {}
    rows = db.execute(
        select(
            VerificationSession.id,
            VerificationSession.document_type,
            # read in SQL: parsing every session's options took most of the time
            VerificationSession.options["document"]["require_matching_selfie"].as_boolean(),
            VerificationSession.opened_at,
            VerificationSession.consented_at,
            VerificationSession.last_error_code,
        ).where(VerificationSession.id.in_(ids.scalar_subquery()))
    )
    for session_id, document_type, selfie, opened_at, consented_at, error in rows:
        marks = {"opened"} if opened_at is not None else set()
        if consented_at is not None:
            marks.add("consented")
        reached[session_id] = marks
        facts[session_id] = (_not_needed(document_type, selfie), error)
    subquery = ids.scalar_subquery()
    for session_id, step in db.execute(
        select(UploadedFile.session_id, UploadedFile.step)
        .where(UploadedFile.session_id.in_(subquery), UploadedFile.accepted.is_(True))
        .distinct()
    ):
        reached[session_id].add(step)
    for session_id, kind in db.execute(
        select(Event.object_id, Event.type)
        .where(Event.object_id.in_(subquery), Event.type.in_(_EVENTS))
        .distinct()
    ):
        reached[session_id].add(_EVENTS[kind])
    refused: dict[tuple[str, str], str] = {}
    for upload in db.scalars(
        select(UploadedFile)
        .where(
            UploadedFile.session_id.in_(subquery),
            UploadedFile.accepted.is_(False),
            UploadedFile.step.in_(CAPTURE_STEPS),
        )
        .order_by(UploadedFile.created_at)
    ):
        code = upload.check.get("code")  # None: an accepted photo set aside later
        if code:
            refused[(upload.session_id, upload.step)] = code
    counts = {name: 0 for name in STEPS}
    stopped: dict[str, Counter[str]] = {name: Counter() for name in STEPS}
    stopped_count = {name: 0 for name in STEPS}
    for session_id, marks in reached.items():
        skipped, error = facts[session_id]
        passed = max((STEPS.index(mark) for mark in marks if mark in STEPS), default=-1) + 1
        while passed < len(STEPS) and STEPS[passed] in skipped:
            passed += 1  # a step not needed is passed with the one before it
        for name in STEPS[:passed]:
            counts[name] += 1
        if passed < len(STEPS):
            name = STEPS[passed]
            stopped_count[name] += 1
            reason = refused.get((session_id, name)) or error
            if reason:
                stopped[name][reason] += 1
    return Funnel(
        total=len(reached),
        steps=[
            StepCount(
                name, counts[name], stopped_count[name], stopped[name].most_common(TOP_REASONS)
            )
            for name in STEPS
        ],
    )
