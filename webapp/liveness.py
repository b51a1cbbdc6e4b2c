"""The live selfie: a single-use head-turn challenge, and the burst of frames that answers it.

The challenge travels as a token signed with the app's secret (session id, direction, a random
nonce, issue time), so nothing is stored until the burst arrives; it is good for
CHALLENGE_SECONDS and for one burst: every stored frame records its nonce, and a nonce seen
before is refused. The frames are judged by `processing.liveness` against this session's earlier
frames too (a burst sent again is refused), then all are stored encrypted like any upload (the
straightest one as the selfie, the others as `burst` files), so redaction and retention delete
them with the rest. A live session's verdict refuses a selfie without a passed challenge
(`webapp.liveness_verdict`).
"""

from __future__ import annotations

import io
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from itsdangerous import BadData, URLSafeTimedSerializer
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.capture import check_capture
from processing.errors import ImageError
from processing.liveness import ERROR_CODE, Challenge, Frame, judge_burst, new_challenge
from processing.liveness.burst import MAX_FRAMES
from processing.load import load_image
from webapp import verification
from webapp.config import settings
from webapp.errors import InvalidRequest
from webapp.models import UploadedFile, VerificationSession, new_id
from webapp.storage import Storage

CHALLENGE_SECONDS = 120  # time to read the instruction, open the camera and film ~3 s
BURST_STEP = "burst"  # the frames other than the selfie
_SALT = "idflow.liveness-challenge"
_EARLIER_FRAMES = 40  # the newest frames of this session a new burst is compared with
_STALE = "The camera instruction has expired or was already used. Start the selfie again."


@dataclass(frozen=True)
class BurstOutcome:
    accepted: bool
    code: str | None
    message: str | None
    reason: str | None  # which check refused it: a liveness reason or capture code (`webapp.i18n`)
    attempts_left: int
    storage_keys: tuple[str, ...]  # the caller deletes them if its commit fails


@dataclass(frozen=True)
class IssuedChallenge:
    token: str
    direction: str
    instruction: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt=_SALT)


def issue_challenge(session: VerificationSession) -> IssuedChallenge:
    """A fresh challenge for this session, as a signed token the page sends back with the burst."""
    challenge = new_challenge()
    token = _serializer().dumps(
        {"session": session.id, "direction": challenge.direction, "nonce": secrets.token_hex(16)}
    )
    return IssuedChallenge(token, challenge.direction, challenge.instruction)


def _read_token(session: VerificationSession, token: str) -> tuple[Challenge, str] | None:
    try:
        claims = _serializer().loads(token, max_age=CHALLENGE_SECONDS)
    except BadData:
        return None
    if not isinstance(claims, dict) or claims.get("session") != session.id:
        return None
    direction, nonce = claims.get("direction"), claims.get("nonce")
    if direction not in ("left", "right") or not isinstance(nonce, str):
        return None
    return Challenge(direction), nonce


def _session_frames(db: Session, session: VerificationSession) -> list[UploadedFile]:
    """Every selfie and burst frame this session stored, newest first."""
    return list(
        db.scalars(
            select(UploadedFile)
            .where(
                UploadedFile.session_id == session.id,
                UploadedFile.step.in_(("selfie", BURST_STEP)),
            )
            .order_by(UploadedFile.created_at.desc())
        )
    )


def _earlier_images(files: Storage, uploads: list[UploadedFile]) -> list[NDArray[np.uint8]]:
    images = []
    for upload in uploads[:_EARLIER_FRAMES]:
        if upload.storage_key is None:
            continue
        try:
            images.append(load_image(files.read(upload.storage_key), min_side=1).image)
        except (ImageError, FileNotFoundError):
            continue  # retention took it: nothing to compare with
    return images


def _store(
    db: Session,
    files: Storage,
    session: VerificationSession,
    step: str,
    data: bytes,
    accepted: bool,
    check: dict[str, Any],
) -> str:
    upload_id = new_id("file")
    key = f"sessions/{session.id}/{upload_id}"
    size = files.save(key, io.BytesIO(data))
    db.add(
        UploadedFile(
            id=upload_id,
            session_id=session.id,
            step=step,
            storage_key=key,
            content_type="image/jpeg",
            size=size,
            accepted=accepted,
            check=check,
        )
    )
    return key


def _nonces(uploads: list[UploadedFile]) -> set[Any]:
    return {upload.check.get("challenge") for upload in uploads}


def _refuse_stale(db: Session, session: VerificationSession, max_attempts: int) -> BurstOutcome:
    """A challenge that is unreadable, expired, foreign or used already: counted, not stored."""
    verification.hold_usable(db, session)
    verification.count_rejection(db, session, max_attempts, ERROR_CODE)
    left = verification.attempts_left(session, max_attempts)
    return BurstOutcome(False, ERROR_CODE, _STALE, "liveness_stale", left, ())


def save_burst(
    db: Session,
    files: Storage,
    session: VerificationSession,
    token: str,
    frames: list[tuple[bytes, float]],
    max_attempts: int,
) -> BurstOutcome:
    """Judge a burst (JPEG bytes, capture time in ms) against the challenge in `token`, store it.

    A refused burst counts against the session's attempts like a refused photo, and is kept too,
    for the operators and for comparing later bursts with.
    """
    verification.check_capture_step(session, "selfie")
    if not 0 < len(frames) <= MAX_FRAMES:
        raise InvalidRequest(f"Send 1 to {MAX_FRAMES} frames.", param="frames")
    read = _read_token(session, token)
    earlier_uploads = _session_frames(db, session)
    if read is None or read[1] in _nonces(earlier_uploads):
        return _refuse_stale(db, session, max_attempts)
    challenge, nonce = read
    try:
        images = [load_image(data, min_side=1).image for data, _ in frames]
    except ImageError as exc:
        raise InvalidRequest(exc.reason, param="frames") from exc
    burst = [Frame(image, at) for image, (_, at) in zip(images, frames, strict=True)]
    earlier = _earlier_images(files, earlier_uploads)
    result = judge_burst(burst, challenge, earlier=earlier)
    code, message = result.error_code, result.reason
    reason: str | None = result.reason_code
    best = result.best_frame if result.best_frame is not None else 0
    if result.passed:  # the selfie must still pass the selfie photo check (sharp, near enough)
        capture = check_capture(frames[best][0], "selfie", session.document_type)  # type: ignore[arg-type]
        if not capture.accepted:
            code, message, reason = capture.code, capture.message, capture.code
    verification.hold_usable(db, session)  # nothing is counted or stored before this check
    if nonce in _nonces(_session_frames(db, session)):  # the same burst sent twice at once
        return _refuse_stale(db, session, max_attempts)
    accepted = code is None
    liveness = {key: value for key, value in asdict(result).items() if key not in ("yaws",)} | {
        "direction": challenge.direction,
        "reason": result.reason,
    }
    check = {
        "accepted": accepted,
        "code": code,
        "message": message,
        "liveness": liveness,
        "challenge": nonce,
    }
    if accepted:
        verification.discard_uploads(db, session, ("selfie",))
    else:
        verification.count_rejection(db, session, max_attempts, code or ERROR_CODE)
    keys: list[str] = []
    try:
        for index, (data, at) in enumerate(frames):
            step = "selfie" if index == best else BURST_STEP
            frame_check = check if index == best else {"challenge": nonce, "captured_ms": at}
            keys.append(
                _store(db, files, session, step, data, accepted and index == best, frame_check)
            )
        db.flush()
        if accepted:
            verification.prepare_when_complete(db, session)
    except BaseException:
        for key in keys:
            files.delete(key)
        raise
    left = verification.attempts_left(session, max_attempts)
    return BurstOutcome(accepted, code, message, reason, left, tuple(keys))
