"""What the person does through the hosted link, and the job that reaches the verdict.

The flow's steps are the table in `webapp.steps`; every status change goes through
`webapp.lifecycle.transition`. Uploads are checked at once (`processing.capture`); each rejected
photo (not a file that is no photo at all) and each failed verdict the person could have helped
(not details the platform sent wrong) counts against the session's attempts, after which the
link stops working.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO, TypeVar

from flask import Flask
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from processing import verify as checks
from processing.capture import check_capture
from processing.id_numbers import ID_NUMBER_TYPES
from processing.result import to_plain
from processing.verify import DocumentStage, ProvidedDetails, Verdict, VerifyOptions
from webapp import prepared, risk, steps, test_mode
from webapp.config import settings
from webapp.db import database
from webapp.errors import InvalidRequest, InvalidState
from webapp.jobs import RetryPolicy, current_job_id, handler, queue, stepped
from webapp.lifecycle import LastError, transition
from webapp.links import is_link_usable
from webapp.liveness_verdict import live_selfie_proven, refuse_unproven_selfie
from webapp.metrics import count_capture_rejection
from webapp.models import (
    Job,
    SessionStatus,
    UploadedFile,
    VerificationReport,
    VerificationSession,
    new_id,
    utcnow,
)
from webapp.sessions import DOCUMENT_TYPES, hold
from webapp.steps import (
    CAPTURE_STEPS,
    CaptureStep,
    StepName,
    allowed_types,
    capture_steps,
    needs_back,
)
from webapp.storage import Storage, storage

log = logging.getLogger(__name__)

TOO_MANY_ATTEMPTS = "too_many_attempts"


def latest_uploads(db: Session, session: VerificationSession) -> dict[str, UploadedFile]:
    """The newest accepted capture of each step, from after the last restart."""
    uploads = db.scalars(
        select(UploadedFile)
        .where(UploadedFile.session_id == session.id, UploadedFile.accepted.is_(True))
        .order_by(UploadedFile.created_at)
    )
    return {upload.step: upload for upload in uploads if upload.storage_key is not None}


def current_step(db: Session, session: VerificationSession) -> StepName:
    return steps.current(steps.Progress(session, lambda: latest_uploads(db, session)))


def _usable(session: VerificationSession) -> None:
    if not is_link_usable(session) or session.status != "requires_input":
        raise InvalidState("This verification link can no longer be used.")


def give_consent(session: VerificationSession) -> None:
    _usable(session)
    session.consented_at = utcnow()
    if session.last_error_code == "consent_declined":
        session.last_error_code = session.last_error_reason = None
    allowed = allowed_types(session)
    if session.document_type is None and len(allowed) == 1:
        session.document_type = allowed[0]


def decline_consent(db: Session, session: VerificationSession) -> None:
    _usable(session)
    code = "consent_declined"
    reason = "The person declined to be verified."
    transition(db, session, "requires_input", LastError(code, reason, steps.retry_step(code)))


def choose_document_type(db: Session, session: VerificationSession, document_type: str) -> None:
    _usable(session)
    if document_type not in DOCUMENT_TYPES or document_type not in allowed_types(session):
        raise InvalidRequest("This document type is not accepted here.", param="document_type")
    if document_type != session.document_type:
        discard_uploads(db, session, CAPTURE_STEPS)
    session.document_type = document_type


def discard_uploads(db: Session, session: VerificationSession, steps: tuple[str, ...]) -> None:
    """Earlier captures stop counting; the files stay until redaction or retention removes them."""
    for upload in latest_uploads(db, session).values():
        if upload.step in steps:
            upload.accepted = False


@dataclass(frozen=True)
class UploadOutcome:
    accepted: bool
    code: str | None
    message: str | None
    attempts_left: int
    storage_key: str  # the caller deletes the file if its commit fails


def attempts_left(session: VerificationSession, max_attempts: int) -> int:
    return max(0, max_attempts - session.rejections)


def count_rejection(
    db: Session, session: VerificationSession, max_attempts: int, capture: str | None = None
) -> None:
    """A refused photo or burst passes `capture`, the reason the person was shown, which the
    operators' metrics count (`webapp.metrics`); a failed verdict is counted from its event.

    Counted in SQL: parallel uploads of the same session each add their own rejection, and
    only the one that stops the session cancels it (and says so once): the count's update holds
    the row until the commit, so the status read after it stays true."""
    db.execute(
        update(VerificationSession)
        .where(VerificationSession.id == session.id)
        .values(rejections=VerificationSession.rejections + 1)
        .execution_options(synchronize_session=False)
    )
    db.refresh(session, ["rejections", "status"])
    if capture is not None:
        count_capture_rejection(capture)
    if session.rejections >= max_attempts and session.status in ("requires_input", "processing"):
        reason = "The person made too many unsuccessful attempts."
        transition(db, session, "canceled", LastError(TOO_MANY_ATTEMPTS, reason))


# EXIF capture times are the camera's local time, UTC-12 to UTC+14: older than this is older
# than today wherever the phone is.
_LIVE_CAPTURE_SLACK = timedelta(hours=26)


def requires_live_capture(session: VerificationSession) -> bool:
    return bool(session.options["document"].get("require_live_capture"))


def live_capture_since() -> datetime:
    """The earliest camera time a live capture may carry (naive, like EXIF's)."""
    return utcnow().replace(tzinfo=None) - _LIVE_CAPTURE_SLACK


def hold_usable(db: Session, session: VerificationSession) -> None:
    """Judging a capture takes a while: the state check that counts is this one, on the held
    row, and whatever is written before the commit that releases it cannot interleave with a
    redaction, a cancel or a submit (they wait, or it finds them done)."""
    hold(db, session)
    _usable(session)


def check_capture_step(session: VerificationSession, step: CaptureStep) -> None:
    """Refuse a capture the session cannot take now, or that is not one of its steps."""
    _usable(session)
    if step not in capture_steps(session) or session.document_type is None:
        raise InvalidRequest("This photo is not part of this verification.", param="step")


def save_upload(
    db: Session,
    files: Storage,
    session: VerificationSession,
    step: CaptureStep,
    stream: BinaryIO,
    content_type: str,
    max_attempts: int,
) -> UploadOutcome:
    """Keep the capture and judge it at once; a rejected one is kept too, for the operators.

    The photo is judged from memory (the request already bounds its size), then stored; if
    anything after the store fails, the file goes (no row would ever point to it)."""
    check_capture_step(session, step)
    if step == "selfie" and session.livemode:
        raise InvalidRequest(
            "A live verification's selfie is taken with the camera on the selfie page.",
            param="photo",
        )
    data = stream.read()
    check = check_capture(
        data,
        step,
        session.document_type,  # type: ignore[arg-type]
        taken_after=live_capture_since() if requires_live_capture(session) else None,
    )
    hold_usable(db, session)
    upload_id = new_id("file")
    key = f"sessions/{session.id}/{upload_id}"
    size = files.save(key, io.BytesIO(data))
    try:
        upload = UploadedFile(
            id=upload_id,
            session_id=session.id,
            step=step,
            storage_key=key,
            content_type=content_type[:50],
            size=size,
            accepted=check.accepted,
            check=check.to_dict(),
        )
        if check.accepted:
            discard_uploads(db, session, (step,))
        elif check.costs_a_try:
            count_rejection(db, session, max_attempts, check.code or "unknown")
        else:  # not a photo at all: the operators still see it, the person keeps the try
            count_capture_rejection(check.code or "unknown")
        db.add(upload)
        db.flush()
        if check.accepted:
            prepare_when_complete(db, session)
    except BaseException:
        files.delete(key)
        raise
    return UploadOutcome(
        check.accepted, check.code, check.message, attempts_left(session, max_attempts), key
    )


PREPARE = "prepare_verdict"
PREPARE_DOCUMENT = "prepare_document"
# How long a verification waits for a preparation of the same inputs that is running already,
# rather than working the same verdict out beside it (the wait ends with the preparation, or
# when its runner stops renewing its lease).
_AWAIT_SECONDS = 60.0
_AWAIT_POLL_SECONDS = 0.1


def _inputs(db: Session, session: VerificationSession) -> str:
    return prepared.fingerprint(session, latest_uploads(db, session), settings().min_age)


def _document_inputs(db: Session, session: VerificationSession) -> str:
    return prepared.document_fingerprint(session, latest_uploads(db, session))


def _document_complete(db: Session, session: VerificationSession) -> bool:
    """Every photo of the document is in: its front, and its back if it has one."""
    sides = latest_uploads(db, session)
    return (
        session.document_type is not None
        and "front" in sides
        and ("back" in sides or not needs_back(session.document_type))
    )


def prepare_when_complete(db: Session, session: VerificationSession) -> None:
    """After an accepted photo: when nothing more is asked of the person (the next step is the
    review), start working the verdict out now; when only the document is in and the selfie or
    the id number is still asked, start on the document's part of it (`webapp.prepared`). In
    `db`'s transaction."""
    if session.status != "requires_input":
        return
    if current_step(db, session) == "review":
        inputs = _inputs(db, session)
        job = queue().enqueue(db, PREPARE, {"session_id": session.id, "fingerprint": inputs})
        db.flush()
        prepared.started(session, inputs, job.id)
        return
    if not _document_complete(db, session):
        return
    document = _document_inputs(db, session)
    kept = session.prepared
    if kept is not None and (kept.get("document") or {}).get("fingerprint") == document:
        return  # under way or done already for these photos (the id number typed after them)
    job = queue().enqueue(db, PREPARE_DOCUMENT, {"session_id": session.id, "fingerprint": document})
    db.flush()
    prepared.document_started(session, document, job.id)


def submit(
    db: Session,
    session: VerificationSession,
    outcome: str | None = None,
    *,
    address: str | None = None,
) -> None:
    """`outcome` (test sessions only) is the verdict QA picked; it rides in the job's payload.
    `address` is the person's client address, counted by the address signal (`webapp.risk`)."""
    _usable(session)
    if current_step(db, session) != "review":
        raise InvalidState("Some photos are still missing.")
    payload = {"session_id": session.id}
    if outcome is not None:
        if session.livemode:
            raise InvalidRequest("Only a test session can choose its outcome.", param="outcome")
        if outcome not in offered_outcomes(session):
            message = f"Not a test outcome for this session: {outcome!r}."
            raise InvalidRequest(message, param="outcome")
        if test_mode.is_simulated(outcome):
            payload["outcome"] = outcome
    transition(db, session, "processing")  # of two submits at once, the second is refused
    db.refresh(session, ["_prepared"])  # a preparation may have finished since it was read
    risk.note_address(db, session, address)
    if "outcome" in payload:  # QA chose the verdict: the one worked out from the photos goes
        prepared.forget(session)
    elif (found := prepared.ready(session, _inputs(db, session))) is not None:
        _publish(db, session, Judged(*found, judged=True), settings().max_attempts)
        return  # worked out while the person looked at the review page: nothing to wait for
    queue().enqueue(db, "verify_session", payload)


def _provided(session: VerificationSession) -> ProvidedDetails:
    """What the document is compared with: the platform's details, and the id number it gave or
    else the one the person typed."""
    details = session.provided_details
    dob = details.get("dob")
    given = session.id_number_given
    return ProvidedDetails(
        first_name=details.get("first_name"),
        last_name=details.get("last_name"),
        dob=date.fromisoformat(dob) if dob else None,
        id_number=details.get("id_number") or (given["number"] if given else None),
        id_number_type=id_number_type(session),
    )


def id_number_type(session: VerificationSession) -> str | None:
    """Stripe's `id_number_type` of the number compared: the kind the person chose when they
    typed it (None for another country's, or a number the platform gave)."""
    given = session.id_number_given
    if given is None or "id_number" in session.provided_details:
        return None
    return given["type"] if given["type"] in ID_NUMBER_TYPES else None


def give_id_number(db: Session, session: VerificationSession, kind: str, number: str) -> None:
    """Keep the number the person typed (valid for its kind: the form checked it)."""
    hold_usable(db, session)
    session.id_number_given = {"type": kind, "number": number}
    prepare_when_complete(db, session)  # the id number may be the last thing asked


def _options(session: VerificationSession) -> VerifyOptions:
    """The checks a session asks for, plus the server's minimum age (`IDFLOW_MIN_AGE`)."""
    document = session.options["document"]
    min_age = settings().min_age
    return VerifyOptions(
        allowed_types=tuple(document["allowed_types"]),
        require_id_number=bool(document["require_id_number"]) or session.type == "id_number",
        require_matching_selfie=bool(document["require_matching_selfie"]),
        min_age=min_age if min_age > 0 else None,
        accept_generated=not session.livemode,  # test mode runs the real checks on samples
    )


def offered_outcomes(session: VerificationSession) -> dict[str, LazyString]:
    """The outcomes QA may pick on this test session's review page."""
    return test_mode.outcomes_for(_options(session), _provided(session))


def report_payload(
    session: VerificationSession,
    verdict: Verdict,
    report_id: str,
    files: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The report as stored; `files` names the photos judged by step (`file_...` upload ids),
    which Stripe's report lists: the document's sides, and the selfie with the document's front
    it was compared with."""
    report: dict[str, Any] = to_plain(verdict.report)
    if isinstance(report.get("id_number"), dict):
        read = verdict.verified_outputs  # the document's, once verified (Stripe's fields)
        report["id_number"] |= {
            "id_number": _provided(session).id_number,
            "id_number_type": id_number_type(session),
            "first_name": read.first_name if read else None,
            "last_name": read.last_name if read else None,
            "dob": read.dob if read else None,
        }
    named = files or {}
    if isinstance(report.get("document"), dict):
        report["document"]["files"] = [named[side] for side in ("front", "back") if side in named]
    if isinstance(report.get("selfie"), dict):
        report["selfie"] |= {"document": named.get("front"), "selfie": named.get("selfie")}
    return {
        "id": report_id,
        "verification_session": session.id,
        "type": session.type,
        "options": session.options,
        "status": verdict.status,
        **report,
        "idflow": risk.to_api(session),
    }


@dataclass(frozen=True)
class Judged:
    """A verdict worked out, not yet published."""

    verdict: Verdict
    descriptor: list[float] | None  # the face the risk signals compare (real photos only)
    judged: bool  # worked out from the photos (not a test session's chosen outcome)
    document: Staged | None = None  # the document's stage it was finished from


@dataclass(frozen=True)
class Staged:
    """A document stage and the fingerprint of the photos it was worked out from."""

    stage: DocumentStage
    inputs: str
    read_here: bool  # read by this job (not kept, nor waited for)


def _running(job: Job | None) -> bool:
    """Whether a runner works on `job` now (and renews its lease)."""
    return (
        job is not None
        and job.status == "running"
        and (job.lease_until is None or job.lease_until > utcnow())
    )


_Kept = TypeVar("_Kept")


def _await_kept(
    app: Flask,
    session_id: str,
    look: Callable[[Session, VerificationSession], tuple[_Kept | None, int | None] | None],
) -> _Kept | None:
    """What `look` finds kept on the session, waiting while the job it names (the one working it
    out) is running and renewing its lease, at most `_AWAIT_SECONDS`; None when `look` gives up
    (None), nothing runs, or the wait is over: the caller works it out itself."""
    deadline = time.monotonic() + _AWAIT_SECONDS
    while True:
        with database(app).sessions() as db:
            session = db.scalar(
                select(VerificationSession).where(VerificationSession.id == session_id)
            )
            seen = look(db, session) if session is not None else None
            if seen is None:
                return None
            found, job_id = seen
            if found is not None:
                return found
            running = _running(db.get(Job, job_id) if job_id is not None else None)
        if not running or time.monotonic() > deadline:
            return None
        time.sleep(_AWAIT_POLL_SECONDS)


def _document_stage(app: Flask, session_id: str, inputs: str, images: dict[str, bytes]) -> Staged:
    """The document's stage for these photos: the one kept, or the one its job is working out
    now (waited for, as the verdict waits for its preparation), or else read here."""

    def look(db: Session, session: VerificationSession) -> tuple[DocumentStage | None, int | None]:
        kept = prepared.document_ready(session, inputs, date.today())
        return kept, prepared.document_pending_job(session, inputs)

    kept = _await_kept(app, session_id, look)
    if kept is not None:
        return Staged(kept, inputs, read_here=False)
    return Staged(_read_document(images), inputs, read_here=True)


def _read_document(images: dict[str, bytes]) -> DocumentStage:
    """The document's stage worked out from its photos (`processing.verify.read_and_judge`)."""
    return checks.read_and_judge(images["front"], images.get("back"))


def _work_out(
    app: Flask,
    session_id: str,
    outcome: str | None,
    statuses: tuple[SessionStatus, ...],
    expected: str | None = None,
) -> tuple[Judged, str] | None:
    """The verdict on the session's current photos (or its chosen test outcome) and the
    fingerprint of what it was worked out from; None when the session's status is none of
    `statuses`, or its inputs no longer have the fingerprint `expected`."""
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        if session is None or session.status not in statuses:
            return None  # done already by an earlier attempt whose lease ran out
        inputs = _inputs(db, session)
        if expected is not None and inputs != expected:
            return None
        document_inputs = _document_inputs(db, session)
        options, provided = _options(session), _provided(session)
        images: dict[str, bytes] = {}
        if session.livemode or not test_mode.is_simulated(outcome):
            uploads = latest_uploads(db, session)
            files = storage(app)
            images = {
                step: files.read(upload.storage_key or "") for step, upload in uploads.items()
            }
            outcome = None
        live_selfie_required = session.livemode and options.require_matching_selfie
        selfie_proven = live_selfie_proven(latest_uploads(db, session).get("selfie"))
        document_type = session.document_type
    descriptor: list[float] | None = None
    judged = outcome is None and "front" in images  # a verdict on real photos
    stage: Staged | None = None
    if outcome is not None:
        verdict = test_mode.simulated_verdict(outcome, session_id, document_type, options, provided)
    elif not judged:
        verdict = _missing_front()
    else:
        # The selfie's face needs nothing of the document: described before the document's stage,
        # it is done while the stage's job may still be running (`risk.descriptor_of`).
        selfie = images.get("selfie")
        descriptor = risk.descriptor_of(selfie, None) if selfie is not None else None
        stage = _document_stage(app, session_id, document_inputs, images)
        verdict = _verify(stage.stage, images, options, provided)
        if live_selfie_required and not selfie_proven:
            verdict = refuse_unproven_selfie(verdict)
        if selfie is None:
            descriptor = risk.descriptor_of(None, stage.stage.portrait)
    return Judged(verdict, descriptor, judged, stage), inputs


def _publish(db: Session, session: VerificationSession, judged: Judged, max_attempts: int) -> None:
    """The verdict becomes the session's (report, status, event), in `db`'s transaction; the
    caller holds the row and has seen it `processing`."""
    verdict = judged.verdict
    if judged.judged:
        verdict = risk.judge(db, session, verdict, judged.descriptor)
    else:
        session.risk = None  # a simulated outcome compares nothing
    prepared.forget(session)
    report_id = new_id("vr")
    judged_files = {step: upload.id for step, upload in latest_uploads(db, session).items()}
    db.add(
        VerificationReport(
            id=report_id,
            session_id=session.id,
            platform_id=session.platform_id,
            livemode=session.livemode,
            payload=report_payload(session, verdict, report_id, judged_files),
        )
    )
    session.last_report_id = report_id
    log.info(
        "session %s: %s in %.2f s",
        session.id,
        verdict.status,
        verdict.timings.get("verify.total", 0.0),
    )
    failed = verdict.last_error
    if failed is None:
        outputs = to_plain(verdict.verified_outputs)
        session.verified_outputs = outputs | {"id_number_type": id_number_type(session)}
        if not risk.review_required(session):  # else it waits for a reviewer's decision
            transition(db, session, "verified")
    else:
        if not steps.fixed_by_platform(failed.code):  # the person could not have helped it
            count_rejection(db, session, max_attempts)  # the last one cancels
        if session.status == "processing":
            step = _reopen(db, session, _retry(session, failed.code))
            transition(db, session, "requires_input", LastError(failed.code, failed.reason, step))


def _await_prepared(app: Flask, session_id: str, outcome: str | None) -> Judged | None:
    """The verdict prepared from the session's current inputs, waiting for the preparation if
    it is running now; None when there is none to wait for (the caller works it out)."""

    def look(db: Session, session: VerificationSession) -> tuple[Judged | None, int | None] | None:
        if session.status != "processing":
            return None
        if not session.livemode and test_mode.is_simulated(outcome):
            return None
        inputs = _inputs(db, session)
        found = prepared.ready(session, inputs)
        judged = Judged(*found, judged=True) if found is not None else None
        return judged, prepared.pending_job(session, inputs)

    return _await_kept(app, session_id, look)


@handler("verify_session", give_up=lambda app, payload: fail_processing(app, payload))
def verify_session(app: Flask, payload: dict[str, Any]) -> None:
    session_id, outcome = payload["session_id"], payload.get("outcome")
    judged = _await_prepared(app, session_id, outcome)
    if judged is None:
        worked = _work_out(app, session_id, outcome, ("processing",))
        if worked is None:
            return
        judged = worked[0]
    with database(app).sessions() as db:
        # Only one holder of this job writes its verdict: it holds the row, and a second holder
        # (whose lease ran out while it worked) waits, then finds it decided already.
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        if session is None:
            return
        hold(db, session)
        if session.status != "processing":
            return
        _publish(db, session, judged, settings(app).max_attempts)
        db.commit()


# One run: a preparation that fails leaves the verdict to the verification after Submit.
@handler(PREPARE, retry=RetryPolicy(attempts=1, backoff=stepped(0.0)))
def prepare_verdict(app: Flask, payload: dict[str, Any]) -> None:
    """Work the verdict out before Submit (`webapp.prepared`). Kept unpublished while the session
    requires input; published at once if the person submitted meanwhile."""
    session_id, expected = payload["session_id"], payload["fingerprint"]
    job_id = current_job_id()
    worked = _work_out(app, session_id, None, ("requires_input", "processing"), expected)
    if worked is None:
        return  # submitted with a chosen outcome, finished, or the photos changed since
    judged, inputs = worked
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        if session is None:
            return
        hold(db, session)
        current = prepared.is_current(session, inputs, job_id) and _inputs(db, session) == inputs
        if not current:
            return  # replaced by a newer preparation, or by a chosen test outcome
        if session.status == "requires_input":
            prepared.keep(session, inputs, judged.verdict, judged.descriptor)
            staged = judged.document
            if staged is not None and staged.read_here:  # a selfie retake will need it again
                prepared.keep_document(session, staged.inputs, staged.stage, None)
        elif session.status == "processing":
            _publish(db, session, judged, settings(app).max_attempts)
        db.commit()


# A document stage is kept while the verdict may still need it: before Submit, and after it
# while the verification waits for it (publishing the verdict forgets it).
_PREPARING: tuple[SessionStatus, ...] = ("requires_input", "processing")


# One run, like the verdict's: if it fails, the verdict reads the document itself.
@handler(PREPARE_DOCUMENT, retry=RetryPolicy(attempts=1, backoff=stepped(0.0)))
def prepare_document(app: Flask, payload: dict[str, Any]) -> None:
    """Work the document's part of the verdict out while the person takes the selfie
    (`webapp.prepared`); it is kept sealed, unpublished, for the verdict's last stage."""
    session_id, expected = payload["session_id"], payload["fingerprint"]
    job_id = current_job_id()
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        if session is None or session.status not in _PREPARING:
            return
        if not prepared.document_is_current(session, expected, job_id):
            return  # replaced by a retake, done by the verdict, or published already
        if _document_inputs(db, session) != expected:
            return
        verdict_job = prepared.pending_job(session, _inputs(db, session))
        if _running(db.get(Job, verdict_job) if verdict_job is not None else None):
            return  # the verdict's preparation found this job waiting and reads it itself
        uploads = latest_uploads(db, session)
        files = storage(app)
        images = {
            step: files.read(upload.storage_key or "")
            for step, upload in uploads.items()
            if step in prepared.DOCUMENT_SIDES
        }
    stage = _read_document(images)
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        if session is None:
            return
        hold(db, session)
        if session.status not in _PREPARING or _document_inputs(db, session) != expected:
            return  # decided meanwhile, or the document was taken again
        if prepared.document_is_current(session, expected, job_id):
            prepared.keep_document(session, expected, stage, job_id)
            db.commit()


def _verify(
    stage: DocumentStage,
    images: dict[str, bytes],
    options: VerifyOptions,
    provided: ProvidedDetails,
) -> Verdict:
    """The verdict's last stage (`processing.verify.finish`) on the document's stage: what
    `processing.verify.verify` gives on the same photos."""
    start = time.perf_counter()
    verdict = checks.finish(stage, images.get("selfie"), options, provided)
    document = stage.timings.get("document.total", 0.0)
    verdict.timings["verify.total"] = document + time.perf_counter() - start
    return verdict


def _missing_front() -> Verdict:
    """The front was discarded after the submit (a new document type chosen meanwhile)."""
    error = checks.CheckError(
        "document_unverified_other",
        "The photo of the front of the document is missing; please take it again.",
    )
    nothing = checks.document_check(checks.DocumentData.empty(), error)
    report = checks.ReportChecks(nothing, selfie=None, id_number=None)
    return Verdict("requires_input", error, report, verified_outputs=None, timings={})


def _retry(session: VerificationSession, code: str) -> StepName:
    """The step a failure sends to; a number the person typed that is not the document's may be
    a typo, so they are asked for it again (the platform's goes back to the document)."""
    if code == "id_number_mismatch" and steps.needs_id_number(session):
        return "id_number"
    return steps.retry_step(code)


def _reopen(db: Session, session: VerificationSession, name: StepName) -> StepName:
    """Send the person back to the step that failed: its photos are taken again (or the number
    typed again), what came before it still counts. Returns the step they land on, which tells
    them why."""
    discard_uploads(db, session, steps.STEP[name].retakes)
    if name == "id_number":
        session.id_number_given = None
    landing = steps.landing(session, name)
    if landing == "document_type":  # another document, chosen again
        session.document_type = None
    return landing


def fail_processing(app: Flask, payload: dict[str, Any]) -> None:
    """After the last failed attempt the session must not stay `processing` for ever."""
    with database(app).sessions() as db:
        session = db.scalar(
            select(VerificationSession).where(VerificationSession.id == payload["session_id"])
        )
        if session is None or session.status != "processing":
            return
        code = "processing_failed"
        reason = "The verification could not be completed; please try again."
        error = LastError(code, reason, steps.landing(session, steps.retry_step(code)))
        transition(db, session, "requires_input", error)
        db.commit()
