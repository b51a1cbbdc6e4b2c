"""Signals across sessions: one document number under two identities, one face on two documents,
many sessions from one address in a short time (docs/risk-signals.md).

A verified session leaves a mark that later sessions of the same platform and mode are compared
with; a submit from the hosted flow leaves a mark of its client's address. Nothing is kept in
clear: the document's number, the name, the date of birth and the address are keyed hashes
(HMAC-SHA256 under a key per platform and mode, derived from the key ring's lookup key, which
does not rotate with the encryption keys), the face descriptor is encrypted and bound to its
row. Platforms never see each other's marks. Redaction deletes a session's marks; retention
deletes verified marks with the images and address marks once their window has passed.

Each fired signal is on the session (`idflow.risk_signals`), in the report and in the events.
The session option `options[idflow][risk_signals]` says what a fired signal does: `flag` (the
default) keeps the verdict and asks an operator to review it, `fail` turns a `verified` verdict
into `requires_input` with a Stripe error code. The person is told only that the verification
cannot be completed: the specific reason is for the platform, not for whoever tries an attack.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from processing.errors import ImageError
from processing.face import detect_faces, face_embedding
from processing.load import load_image
from processing.verify import CheckError, Verdict, normalise_number
from webapp import crypto
from webapp.errors import InvalidRequest, UnknownParameter
from webapp.models import RiskMark, VerificationSession, new_id, utcnow

Mode = Literal["flag", "fail"]
MODES: tuple[Mode, ...] = ("flag", "fail")
DEFAULT_MODE: Mode = "flag"
SignalName = Literal["document_reuse", "face_reuse", "address_velocity"]

# Largest descriptor distance between two sessions' faces still called one face. Stricter than
# the 1:1 selfie match (0.55) because each new face is compared with every verified one: on the
# shared sample faces (scripts/bench_signals.py) the same person measured 0.34-0.54 and two
# people 0.69 or more, so 0.50 keeps 0.19 clear of every impostor pair.
FACE_REUSE_DISTANCE = 0.50
# More than ADDRESS_LIMIT sessions submitted from one address within ADDRESS_WINDOW fire the
# address signal: a person retrying, or a household, stays well below (docs/risk-signals.md).
ADDRESS_WINDOW = timedelta(hours=1)
ADDRESS_LIMIT = 5
# IPv6 hosts get a /64 each (RFC 6177 suggests a /56 or /48 per site): counting single addresses
# would let one machine walk through 2^64 of them.
_IPV6_PREFIX = 64
_FACE_SIDE = 2000  # the face is described on a copy at most this big (a 12 MP photo is slow)
_KEY_CONTEXT = b"idflow risk marks v1"
_PERSON_REASON = "This verification cannot be completed with this document. Please contact us."

_CODES: dict[SignalName, str] = {
    "document_reuse": "document_unverified_other",
    "face_reuse": "selfie_unverified_other",
    "address_velocity": "document_unverified_other",
}


@dataclass(frozen=True)
class RiskSignal:
    """One fired signal: what the platform's operator reads, and the sessions it points to."""

    name: SignalName
    reason: str
    verification_sessions: tuple[str, ...]  # earlier sessions of this platform involved

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reason": self.reason,
            "verification_sessions": list(self.verification_sessions),
        }


@dataclass(frozen=True)
class Identity:
    """What a verdict says about whom, as keyed hashes and a descriptor; None: not known."""

    document: str | None
    name: str | None
    dob: str | None
    descriptor: list[float] | None


def parse_options(raw: Any) -> dict[str, str]:
    """`options[idflow]` of a create request, with its default filled in."""
    param = "options[idflow]"
    if raw is None or raw == "":
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{param} must be an object.", param=param)
    for key in raw:
        if key != "risk_signals":
            name = f"{param}[{key}]"
            raise UnknownParameter(name)
    mode = raw.get("risk_signals") or DEFAULT_MODE
    if mode not in MODES:
        raise InvalidRequest(
            f"risk_signals must be one of {', '.join(MODES)}.", param=f"{param}[risk_signals]"
        )
    return {"risk_signals": mode}


def mode_of(session: VerificationSession) -> Mode:
    """Sessions made before the option existed flag."""
    mode = session.options.get("idflow", {}).get("risk_signals", DEFAULT_MODE)
    return "fail" if mode == "fail" else "flag"


def review_required(session: Any) -> bool:
    """Its last verdict's signals ask a reviewer to decide (mode `flag`), who has not yet."""
    review = (session.risk or {}).get("review") or {}
    return bool(review.get("required"))


def to_api(session: VerificationSession) -> dict[str, Any]:
    """The session's `idflow` block: its last verdict's signals and whether to review it."""
    return session.risk or assessment([], DEFAULT_MODE)


def assessment(signals: list[RiskSignal], mode: Mode) -> dict[str, Any]:
    """Flagged signals ask for a review; failed ones have refused the session already."""
    required = bool(signals) and mode == "flag"
    reason = (
        "Signals across sessions fired: " + ", ".join(signal.name for signal in signals) + "."
        if required
        else None
    )
    return {
        "risk_signals": [signal.to_api() for signal in signals],
        "review": {"required": required, "reason": reason},
    }


# ---- keyed hashes ------------------------------------------------------------------------------


def _platform_key(db: Session, platform_id: str, livemode: bool) -> bytes:
    ring = crypto.ring_for(db.get_bind().dialect)
    if not ring.lookup_key:
        raise crypto.KeyConfigError("No lookup key: create the app (webapp.create_app) first.")
    label = f"{platform_id}|{'live' if livemode else 'test'}".encode()
    return hmac.digest(ring.lookup_key, _KEY_CONTEXT + b"\0" + label, "sha256")


def _keyed(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()


def _letters(text: str) -> str:
    """A name as the document spells it, whatever the accents, case or spacing of the reading."""
    bare = unicodedata.normalize("NFKD", text.upper())
    return "".join(char for char in bare if char.isalpha())


def _address_value(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{_IPV6_PREFIX}", strict=False))
    return str(parsed)


# ---- the face -----------------------------------------------------------------------------------


def face_descriptor(
    image: NDArray[np.uint8], *, detector_model: Path | None = None
) -> list[float] | None:
    """dlib's descriptor of the largest face (the holder's on a document), or None."""
    faces = detect_faces(image, detector_model=detector_model)
    if not faces:
        return None
    return [float(value) for value in face_embedding(image, faces[0])]


def descriptor_of(selfie: bytes | None, portrait: NDArray[np.uint8] | None) -> list[float] | None:
    """The face this session shows: the selfie's when there is one (a live face, matched to the
    portrait already), else the document portrait's as the reader cut it out."""
    if selfie is not None:
        try:
            return face_descriptor(load_image(selfie, max_side=_FACE_SIDE).image)
        except ImageError:
            return None
    return face_descriptor(portrait) if portrait is not None else None


def _distance(a: list[float], b: list[float]) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


# ---- the signals --------------------------------------------------------------------------------


def identity_of(
    db: Session, session: VerificationSession, verdict: Verdict, descriptor: list[float] | None
) -> Identity:
    document = verdict.report.document
    key = _platform_key(db, session.platform_id, session.livemode)
    number = normalise_number(document.number) if document.number else ""
    names = [_letters(part) for part in (document.first_name, document.last_name) if part]
    return Identity(
        document=_keyed(key, "document", f"{document.issuing_country or ''}|{number}")
        if number
        else None,
        name=_keyed(key, "name", "|".join(names)) if any(names) else None,
        dob=_keyed(key, "dob", document.dob) if document.dob else None,
        descriptor=descriptor,
    )


def _owned(session: VerificationSession, kind: str) -> Any:
    return (
        RiskMark.platform_id == session.platform_id,
        RiskMark.livemode == session.livemode,
        RiskMark.kind == kind,
        RiskMark.session_id != session.id,
    )


def _document_reuse(
    db: Session, session: VerificationSession, identity: Identity
) -> RiskSignal | None:
    if identity.document is None:
        return None
    marks = db.scalars(
        select(RiskMark)
        .where(*_owned(session, "verified"), RiskMark.value_hash == identity.document)
        .order_by(RiskMark.created_at)
    ).all()
    other_name = [
        m
        for m in marks
        if None not in (m.name_hash, identity.name) and m.name_hash != identity.name
    ]
    other_dob = [
        m for m in marks if None not in (m.dob_hash, identity.dob) and m.dob_hash != identity.dob
    ]
    if not other_name and not other_dob:
        return None
    differs = " and ".join(
        what for what, found in (("name", other_name), ("date of birth", other_dob)) if found
    )
    return RiskSignal(
        "document_reuse",
        f"This document number was verified before with a different {differs}.",
        tuple(dict.fromkeys(m.session_id for m in marks if m in other_name or m in other_dob)),
    )


def _face_reuse(db: Session, session: VerificationSession, identity: Identity) -> RiskSignal | None:
    """Every verified face of the platform is opened and compared: a descriptor cannot be
    looked up by an index without being stored in a form that gives the face away."""
    if identity.descriptor is None:
        return None
    found = [
        mark.session_id
        for mark in db.scalars(
            select(RiskMark).where(*_owned(session, "verified")).order_by(RiskMark.created_at)
        )
        if mark.value_hash != identity.document
        and mark.descriptor is not None
        and _distance(mark.descriptor, identity.descriptor) <= FACE_REUSE_DISTANCE
    ]
    if not found:
        return None
    return RiskSignal(
        "face_reuse",
        "This face was verified before on another document.",
        tuple(dict.fromkeys(found)),
    )


def _address_velocity(
    db: Session, session: VerificationSession, now: datetime
) -> RiskSignal | None:
    own = db.scalar(
        select(RiskMark.value_hash)
        .where(RiskMark.session_id == session.id, RiskMark.kind == "address")
        .order_by(RiskMark.created_at.desc())
        .limit(1)
    )
    if own is None:
        return None
    others = db.scalars(
        select(RiskMark.session_id)
        .where(
            *_owned(session, "address"),
            RiskMark.value_hash == own,
            RiskMark.created_at >= now - ADDRESS_WINDOW,
        )
        .group_by(RiskMark.session_id)
        .order_by(func.min(RiskMark.created_at))
    ).all()
    if len(others) + 1 <= ADDRESS_LIMIT:
        return None
    minutes = int(ADDRESS_WINDOW.total_seconds() // 60)
    return RiskSignal(
        "address_velocity",
        f"{len(others) + 1} sessions were submitted from this address within {minutes} minutes "
        f"(more than {ADDRESS_LIMIT}).",
        tuple(others),
    )


def signals_for(
    db: Session, session: VerificationSession, identity: Identity, now: datetime
) -> list[RiskSignal]:
    found = (
        _document_reuse(db, session, identity),
        _face_reuse(db, session, identity),
        _address_velocity(db, session, now),
    )
    return [signal for signal in found if signal is not None]


def refuse(verdict: Verdict, signal: RiskSignal) -> Verdict:
    """A `verified` verdict turned down by a fired signal, with the error where Stripe puts it."""
    error = CheckError(_CODES[signal.name], _PERSON_REASON)
    report = verdict.report
    if error.code.startswith("selfie_") and report.selfie is not None:
        report = replace(report, selfie=replace(report.selfie, status="unverified", error=error))
    else:
        error = CheckError("document_unverified_other", _PERSON_REASON)
        report = replace(
            report, document=replace(report.document, status="unverified", error=error)
        )
    return replace(
        verdict, status="requires_input", last_error=error, report=report, verified_outputs=None
    )


def judge(
    db: Session,
    session: VerificationSession,
    verdict: Verdict,
    descriptor: list[float] | None,
    now: datetime | None = None,
) -> Verdict:
    """Compare the verdict with the platform's earlier sessions, keep the assessment on the
    session, apply the session's mode, and leave this session's mark when it ends verified."""
    identity = identity_of(db, session, verdict, descriptor)
    signals = signals_for(db, session, identity, now or utcnow())
    mode = mode_of(session)
    session.risk = assessment(signals, mode)
    if signals and mode == "fail" and verdict.status == "verified":
        verdict = refuse(verdict, signals[0])
    if verdict.status == "verified":
        _mark_verified(db, session, identity)
    return verdict


def _mark_verified(db: Session, session: VerificationSession, identity: Identity) -> None:
    mark = RiskMark(
        id=new_id("rm"),
        session_id=session.id,
        platform_id=session.platform_id,
        livemode=session.livemode,
        kind="verified",
        value_hash=identity.document,
        name_hash=identity.name,
        dob_hash=identity.dob,
    )
    mark.descriptor = identity.descriptor  # sealed with the row's id, set above
    db.add(mark)


def note_address(db: Session, session: VerificationSession, address: str | None) -> None:
    """The client address a session was submitted from, once per session and address."""
    if not address:
        return
    key = _platform_key(db, session.platform_id, session.livemode)
    value = _keyed(key, "address", _address_value(address))
    known = db.scalar(
        select(RiskMark.id).where(
            RiskMark.session_id == session.id,
            RiskMark.kind == "address",
            RiskMark.value_hash == value,
        )
    )
    if known is None:
        db.add(
            RiskMark(
                id=new_id("rm"),
                session_id=session.id,
                platform_id=session.platform_id,
                livemode=session.livemode,
                kind="address",
                value_hash=value,
            )
        )


def forget_session(db: Session, session: VerificationSession) -> None:
    """Redaction: the session's marks go, so no later session is compared with it."""
    db.execute(delete(RiskMark).where(RiskMark.session_id == session.id))


def forget_old(db: Session, now: datetime, retention_days: int) -> int:
    """Retention: address marks once their window has passed, verified marks with the images
    (`IDFLOW_RETENTION_DAYS`; 0 keeps them as it keeps images). Returns how many went."""
    gone = db.execute(
        delete(RiskMark).where(
            RiskMark.kind == "address", RiskMark.created_at < now - ADDRESS_WINDOW
        )
    )
    count = int(getattr(gone, "rowcount", 0) or 0)
    if retention_days > 0:
        gone = db.execute(
            delete(RiskMark).where(
                RiskMark.kind == "verified",
                RiskMark.created_at < now - timedelta(days=retention_days),
            )
        )
        count += int(getattr(gone, "rowcount", 0) or 0)
    return count
